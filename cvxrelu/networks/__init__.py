"""Two-layer ReLU networks (dense and convolutional) and the SGD/Adam baselines."""
