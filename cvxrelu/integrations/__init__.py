"""Integrations: scikit-learn estimators, regularization paths, torch, plots."""
