"""Iterative drivers with certificates: Frank-Wolfe (Algorithm 1), cutting planes (App. A.5)
and :func:`certify` for any trained network. All return one :class:`SolveResult`."""

from .certify import as_network, certify
from .cutting_plane import cutting_plane
from .frank_wolfe import frank_wolfe
from .result import Certificate, IterationRecord, SolveResult

__all__ = ["Certificate", "IterationRecord", "SolveResult", "as_network", "certify",
           "cutting_plane", "frank_wolfe"]
