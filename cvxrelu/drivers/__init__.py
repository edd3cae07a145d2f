"""Iterative drivers with certificates: Frank-Wolfe (Algorithm 1), cutting planes (App. A.5)
and :func:`certify` for any trained network. All return one :class:`SolveResult` whose
``status`` is a :class:`Status`."""

from .certify import as_network, certify
from .conv_cutting_plane import conv_beta_max, conv_cutting_plane
from .cutting_plane import cutting_plane
from .frank_wolfe import frank_wolfe
from .loss_driver import loss_cutting_plane
from .result import Certificate, IterationRecord, SolveResult, Status

__all__ = ["Certificate", "IterationRecord", "SolveResult", "Status", "as_network", "certify",
           "conv_beta_max", "conv_cutting_plane", "cutting_plane", "frank_wolfe",
           "loss_cutting_plane"]
