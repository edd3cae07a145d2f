"""cvxrelu: train two-layer ReLU networks to their global optimum by convex optimization.

Builders emit CVXPY problems for the convex reformulations of Sahiner, Ergen, Pauly &
Pilanci (ICLR 2021), "Vector-output ReLU Neural Network Problems are Copositive Programs";
drivers solve them at scale and end with a certificate (upper bound, lower bound, gap).

>>> import cvxrelu as cr
>>> X, Y = cr.datasets.spiral()
>>> f = cr.bidual(X, Y, beta=1e-2)        # the convex program (12), exact on this data
>>> p_star = f.solve()                     # Clarabel by default
>>> net = f.network()                      # a real ReLU network attaining p*
"""

from .networks import baselines
from . import datasets, drivers, losses
from .integrations import plot
from .geometry.arrangements import Arrangement, sign_patterns
from .networks.baselines import LinearSolution, TrainResult, linear_network, train_sgd
from .programs.bidual import BiDual, bidual
from .programs.conv import ConvBiDual, conv_bidual
from .programs.copositive import Copositive, copositive
from .programs.spike_free import SpikeFree, SpikeFreeCopositive, is_spike_free, spike_free
from .programs.closed_form import ClosedFormSolution, Whitening, closed_form, is_whitened, whiten
from .networks.conv_network import ConvReLUNetwork
from .drivers import (
    Certificate,
    IterationRecord,
    SolveResult,
    Status,
    certify,
    conv_beta_max,
    conv_cutting_plane,
    cutting_plane,
    frank_wolfe,
    loss_cutting_plane,
)
from .errors import (
    CertificateError,
    CvxReluError,
    InvalidInputError,
    PatternLimitError,
    SolverError,
    SolverNotInstalledError,
    UnsupportedError,
)
from .programs.formulation import Formulation, ValueCertificate
from .networks.network import ReLUNetwork
from .networks.network_base import TwoLayerNetwork
from .geometry.oracle import DualOracle, OracleBound, cone_pca, dual_oracle
from .geometry.patches import patch_matrix, patches
from .integrations.path import PathResult, beta_max, regularization_path
from .programs.sets import GaugeTerm, cone_gauge

__version__ = "0.1.0"

__all__ = [
    "BiDual",
    "ConvBiDual",
    "Copositive",
    "ConvexReLUClassifierCV",
    "ConvexReLURegressorCV",
    "OracleBound",
    "SpikeFree",
    "SpikeFreeCopositive",
    "Status",
    "ValueCertificate",
    "beta_max",
    "conv_beta_max",
    "conv_cutting_plane",
    "loss_cutting_plane",
    "Certificate",
    "DualOracle",
    "IterationRecord",
    "SolveResult",
    "certify",
    "cone_pca",
    "cutting_plane",
    "drivers",
    "dual_oracle",
    "frank_wolfe",
    "ConvexReLUClassifier",
    "ConvexReLURegressor",
    "PathResult",
    "plot",
    "regularization_path",
    "ClosedFormSolution",
    "LinearSolution",
    "TrainResult",
    "Whitening",
    "baselines",
    "closed_form",
    "is_whitened",
    "linear_network",
    "train_sgd",
    "whiten",
    "Arrangement",
    "CertificateError",
    "ConvReLUNetwork",
    "CvxReluError",
    "Formulation",
    "GaugeTerm",
    "InvalidInputError",
    "PatternLimitError",
    "ReLUNetwork",
    "TwoLayerNetwork",
    "SolverError",
    "SolverNotInstalledError",
    "UnsupportedError",
    "bidual",
    "copositive",
    "is_spike_free",
    "spike_free",
    "cone_gauge",
    "conv_bidual",
    "datasets",
    "losses",
    "patch_matrix",
    "patches",
    "sign_patterns",
]


def __getattr__(name):
    # the scikit-learn estimators import scikit-learn, an optional extra: load them lazily
    if name in ("ConvexReLURegressor", "ConvexReLUClassifier", "ConvexReLURegressorCV",
                "ConvexReLUClassifierCV"):
        from .integrations import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'cvxrelu' has no attribute {name!r}")
