"""Non-convex baselines: gradient training of the primal (5), and the linear network.

:func:`train_sgd` trains the bias-free network ``Linear(d, m) → ReLU → Linear(m, c)`` with the
protocol of the paper's experiments (Section 5, App. A.1): full batch, heavy-ball momentum
0.95, learning rate halved on plateaus, Kaiming-uniform initialization, float64. It minimizes
exactly the library-wide objective of (5),

    ℓ(relu(X W1) W2, Y) + (β/2)(‖W1‖²_F + ‖W2‖²_F),     ℓ = ½‖F − Y‖²_F by default,

summed over samples (never averaged), with the weight decay written into the loss (not via the
optimizer's ``weight_decay``), so its values compare directly with the convex programs'.
Any value it reaches is an upper bound on p*.

:func:`linear_network` solves the two-layer *linear* network with the same weight decay,
min ½‖X W1 W2 − Y‖² + (β/2)(‖W1‖² + ‖W2‖²) = min_W ½‖X W − Y‖² + β‖W‖_*, the comparison of the
paper's Figure 5 (and the nuclear-norm relaxation of (15)).

PyTorch is optional; it is imported only when :func:`train_sgd` runs.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from .._validate import as_beta, as_data, as_seed_rng, as_targets, check_choice
from ..errors import InvalidInputError
from ..losses import CrossEntropyLoss, LogisticLoss, SquaredLoss, get_loss
from .network import ReLUNetwork

__all__ = ["train_sgd", "TrainResult", "default_lr", "linear_network", "LinearSolution"]

logger = logging.getLogger("cvxrelu")


# --------------------------------------------------------------------------- results
@dataclass
class TrainResult:
    """Result of :func:`train_sgd`.

    Attributes
    ----------
    network : ReLUNetwork
        The iterate with the lowest objective seen (an upper bound on p*).
    objective : float
        Its primal objective (5), recomputed in float64 numpy.
    history : ndarray, shape (epochs,)
        Objective at the start of each epoch (before that epoch's update).
    times : ndarray, shape (epochs,)
        Wall-clock seconds since the start of training at the end of each epoch.
    lrs : ndarray, shape (epochs,)
        Learning rate used in each epoch.
    time : float
        Total training time in seconds (initialization included, final evaluation excluded).
    lr : float
        Initial learning rate.
    """

    network: ReLUNetwork
    objective: float
    history: np.ndarray
    times: np.ndarray
    lrs: np.ndarray
    time: float
    lr: float
    optimizer: str
    loss: str
    beta: float
    epochs: int
    n_lr_halvings: int = 0
    n_restarts: int = 0
    settings: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"TrainResult(objective={self.objective:.6g}, epochs={self.epochs}, "
                f"optimizer={self.optimizer!r}, m={self.network.n_neurons}, "
                f"time={self.time:.3g}s)")


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral,)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _positive_float(value, name: str, allow_zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number; got {value!r}.") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "nonnegative" if allow_zero else "positive"
        raise InvalidInputError(f"{name} must be a {kind} finite number; got {value}.")
    return value


def default_lr(X, Y, optimizer: str = "sgd", W1=None, W2=None) -> float:
    """The default learning rate of :func:`train_sgd` for data X, Y (and initial weights).

    The objective is a *sum* over samples, so its curvature grows with the data. For a
    balanced network fitting Y (‖u‖ = ‖v‖ = t with ‖X‖ t² ≈ ‖Y‖) the Hessian blocks
    ∂²/∂u² ≈ ‖X‖² ‖v‖² and ∂²/∂v² ≈ ‖X u‖² are both about ‖X‖₂ ‖Y‖₂ (spectral norms); at the
    initial weights they are ‖X‖₂² ‖W2‖₂² and ‖relu(X W1)‖₂². With L the sum of these terms,
    the ``sgd`` default is lr = 1/L, inside the stability bound lr·L < 2(1 + μ) of heavy-ball
    momentum μ on a quadratic. For ``adam``, whose steps are about lr per weight whatever the
    gradient's scale, the default is 1% of the balanced weight scale:
    lr = 0.01·√(‖Y‖₂/‖X‖₂).
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(X.shape[0], -1)
    sx = float(np.linalg.norm(X, 2))
    sy = float(np.linalg.norm(Y, 2))
    if sx == 0:
        return 1e-2
    if optimizer == "adam":
        return 0.01 * math.sqrt(max(sy, 1e-12) / sx)
    L = sx * sy
    if W1 is not None and W2 is not None:
        L += float(np.linalg.norm(np.maximum(X @ W1, 0.0), 2)) ** 2
        L += sx ** 2 * float(np.linalg.norm(W2, 2)) ** 2
    else:
        L += sx ** 2
    return 1.0 / L


# --------------------------------------------------------------------------- losses
def _resolve_loss(loss, Y):
    """(name, Loss, prepared Y): the loss resolved once by :func:`cvxrelu.losses.get_loss`."""
    loss_obj = get_loss(loss)
    return loss_obj.name, loss_obj, loss_obj.prepare_targets(Y)


def _torch_loss(torch, name, loss_obj):
    """ℓ(F, Y) in torch: closed forms for squared, cross-entropy and logistic (autograd),
    otherwise the numpy value and gradient of ``loss_obj``. ``name`` is kept for callers."""
    if isinstance(loss_obj, SquaredLoss):
        return lambda F, Y: 0.5 * torch.sum((F - Y) ** 2)
    if isinstance(loss_obj, CrossEntropyLoss):
        return lambda F, Y: torch.sum(torch.logsumexp(F, dim=1) - torch.sum(Y * F, dim=1))
    if isinstance(loss_obj, LogisticLoss):
        return lambda F, Y: torch.nn.functional.binary_cross_entropy_with_logits(
            F, Y, reduction="sum")

    class _NumpyLoss(torch.autograd.Function):
        """ℓ and ∇ℓ evaluated in numpy by the cvxrelu.losses object."""

        @staticmethod
        def forward(ctx, F, Y):
            Fn = F.detach().cpu().numpy()
            Yn = Y.detach().cpu().numpy()
            ctx.save_for_backward(torch.as_tensor(loss_obj.grad(Fn, Yn), dtype=F.dtype,
                                                  device=F.device))
            return torch.as_tensor(loss_obj.value(Fn, Yn), dtype=F.dtype, device=F.device)

        @staticmethod
        def backward(ctx, g):
            (G,) = ctx.saved_tensors
            return g * G, None

    return _NumpyLoss.apply


def _numpy_loss(name, loss_obj, F, Y) -> float:
    return float(loss_obj.value(F, Y))


# --------------------------------------------------------------------------- training
def train_sgd(X, Y, beta, m: int = 100, epochs: int = 1000, lr=None, momentum: float = 0.95,
              optimizer: str = "sgd", seed=None, device="cpu", loss="squared",
              progress: bool = False, *, patience: int = 20, factor: float = 0.5,
              threshold: float = 1e-6, min_lr=None, init: ReLUNetwork | None = None,
              callback=None, num_threads="auto") -> TrainResult:
    """Train a two-layer ReLU network on the primal objective (5) with full-batch SGD or Adam.

    Parameters
    ----------
    X : array-like, shape (n, d)
    Y : array-like, shape (n, c) or (n,)
        Targets (for classification losses also integer labels, see ``cvxrelu.losses``).
    beta : float
        Weight decay β > 0; the objective is ℓ + (β/2)(‖W1‖² + ‖W2‖²), written into the loss.
    m : int, default 100
        Hidden neurons.
    epochs : int, default 1000
        Full-batch iterations.
    lr : float, optional
        Initial learning rate; default :func:`default_lr`: 1/L for SGD with the curvature
        estimate L = ‖X‖₂‖Y‖₂ + ‖relu(X W1₀)‖₂² + ‖X‖₂²‖W2₀‖₂² (W1₀, W2₀ the initial weights),
        0.01·√(‖Y‖₂/‖X‖₂) for Adam; both scale with the data, as the summed objective does.
    momentum : float, default 0.95
        Heavy-ball momentum (``optimizer="sgd"``; the paper's value). Ignored by Adam.
    optimizer : {"sgd", "adam"}
    seed : int, numpy Generator or None
        Seeds the initialization (numpy), so results do not depend on the torch RNG state.
    device : str or torch.device, default "cpu"
    loss : str or cvxrelu.losses.Loss, default "squared"
        ½‖F − Y‖²_F; any name of ``cvxrelu.losses.get_loss`` (cross_entropy, logistic and
        squared run natively in torch, others through the loss's numpy value and gradient).
    progress : bool
        Print the objective about ten times during training.
    patience, factor, threshold : plateau schedule
        If the best objective has not improved by a relative ``threshold`` for ``patience``
        epochs, multiply the learning rate by ``factor`` (0.5: "halved on plateaus").
    min_lr : float, optional
        The learning rate is never reduced below this; default ``1e-6 * lr`` (tiny rates only
        produce denormal numbers, which are very slow on CPUs).
    init : ReLUNetwork, optional
        Start from these weights instead of the Kaiming-uniform initialization.
    callback : callable, optional
        ``callback(epoch, objective)`` after every epoch; return True to stop early.
    num_threads : int, "auto" or None
        Torch intra-op threads during training (restored afterwards). ``"auto"`` uses one
        thread unless n·m·max(d, c) ≥ 10⁹: for the small dense products of full-batch training
        extra threads gain little, and on a busy (oversubscribed) CPU they slowed training
        5–20× in our measurements. None keeps torch's current setting.

    Returns
    -------
    TrainResult
        ``network`` is the best iterate seen; if an update makes the objective non-finite or
        blow up (above ten times the initial value), training restarts from the best iterate with
        half the learning rate (``n_restarts`` counts this).

    Notes
    -----
    Initialization is PyTorch's default for ``nn.Linear`` (Kaiming-uniform with a = √5):
    W1 ~ U(±1/√d), W2 ~ U(±1/√m), drawn with numpy from ``seed``.
    """
    from .._torch import require_torch

    X = as_data(X)
    n, d = X.shape
    beta = as_beta(beta)
    m = _positive_int(m, "m")
    epochs = _positive_int(epochs, "epochs")
    optimizer = check_choice(optimizer, ("sgd", "adam"), "optimizer")
    momentum = _positive_float(momentum, "momentum", allow_zero=True)
    if momentum >= 1:
        raise InvalidInputError(f"momentum must be in [0, 1); got {momentum}.")
    patience = _positive_int(patience, "patience")
    factor = _positive_float(factor, "factor")
    if factor >= 1:
        raise InvalidInputError(f"factor must be in (0, 1); got {factor}.")
    threshold = _positive_float(threshold, "threshold", allow_zero=True)
    name, loss_obj, Y = _resolve_loss(loss, Y)
    Y = as_targets(Y, n)
    c = Y.shape[1]
    lr0 = None if lr is None else _positive_float(lr, "lr")
    if min_lr is not None:
        min_lr = _positive_float(min_lr, "min_lr", allow_zero=True)
    rng = as_seed_rng(seed)

    torch = require_torch()
    try:
        dev = torch.device(device)
        torch.zeros(1, device=dev)
    except Exception as exc:  # noqa: BLE001 - torch raises AssertionError without CUDA
        raise InvalidInputError(
            f"device {device!r} is not usable ({exc}); pass 'cpu' or an available 'cuda:N'."
        ) from None

    if num_threads == "auto":
        num_threads = 1 if n * m * max(d, c) < 10 ** 9 else None
    elif num_threads is not None:
        num_threads = _positive_int(num_threads, "num_threads")
    old_threads = torch.get_num_threads()
    if num_threads is not None and dev.type == "cpu":
        torch.set_num_threads(num_threads)
    try:
        return _train(torch, dev, X, Y, beta, m, epochs, lr0, momentum, optimizer, rng, name,
                      loss_obj, progress, patience, factor, threshold, min_lr, init, callback,
                      seed)
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)


def _train(torch, dev, X, Y, beta, m, epochs, lr0, momentum, optimizer, rng, name, loss_obj,
           progress, patience, factor, threshold, min_lr, init, callback, seed):
    d = X.shape[1]
    c = Y.shape[1]
    t0 = time.perf_counter()
    if init is None:
        W1 = rng.uniform(-1.0, 1.0, size=(d, m)) / math.sqrt(d)
        W2 = rng.uniform(-1.0, 1.0, size=(m, c)) / math.sqrt(m)
        net0 = ReLUNetwork(W1, W2)
    else:
        if not isinstance(init, ReLUNetwork):
            raise InvalidInputError(f"init must be a cvxrelu.ReLUNetwork; got {type(init)}.")
        if init.n_features != d or init.n_outputs != c:
            raise InvalidInputError(
                f"init has d={init.n_features}, c={init.n_outputs} but the data have d={d}, "
                f"c={c}."
            )
        net0 = init
        m = init.n_neurons
    if lr0 is None:
        lr0 = default_lr(X, Y, optimizer, net0.W1, net0.W2)
    if min_lr is None:
        min_lr = 1e-6 * lr0
    model = net0.to_torch(device=dev, dtype=torch.float64)
    Xt = torch.as_tensor(X, dtype=torch.float64, device=dev)
    Yt = torch.as_tensor(Y, dtype=torch.float64, device=dev)
    loss_fn = _torch_loss(torch, name, loss_obj)
    params = list(model.parameters())

    def make_opt(rate):
        if optimizer == "adam":
            return torch.optim.Adam(params, lr=rate)
        return torch.optim.SGD(params, lr=rate, momentum=momentum)

    def objective():
        F = model(Xt)
        return loss_fn(F, Yt) + 0.5 * beta * sum(torch.sum(p ** 2) for p in params)

    cur_lr = lr0
    opt = make_opt(cur_lr)
    history = np.empty(epochs)
    times = np.empty(epochs)
    lrs = np.empty(epochs)
    best = math.inf
    best_state = [p.detach().clone() for p in params]
    plateau_best = math.inf
    stale = 0
    halvings = restarts = 0
    first = None
    stride = max(1, epochs // 10)
    done = epochs
    for k in range(epochs):
        opt.zero_grad(set_to_none=True)
        obj = objective()
        val = float(obj.detach())
        if first is None:
            first = val
        if not math.isfinite(val) or val > 10.0 * max(first, best) + 1e-12:
            # diverged: back to the best iterate with half the learning rate
            with torch.no_grad():
                for p, b in zip(params, best_state):
                    p.copy_(b)
            cur_lr = max(cur_lr * 0.5, min_lr)
            opt = make_opt(cur_lr)
            restarts += 1
            logger.debug("train_sgd: objective %.6g diverged at epoch %d; lr -> %.3g",
                         val, k, cur_lr)
            opt.zero_grad(set_to_none=True)
            obj = objective()
            val = float(obj.detach())
        history[k] = val
        lrs[k] = cur_lr
        if val < best:
            best = val
            for b, p in zip(best_state, params):
                b.copy_(p.detach())
        if val < plateau_best * (1.0 - threshold):
            plateau_best = val
            stale = 0
        else:
            stale += 1
            if stale > patience and cur_lr > min_lr:
                cur_lr = max(cur_lr * factor, min_lr)
                for g in opt.param_groups:
                    g["lr"] = cur_lr
                halvings += 1
                stale = 0
        obj.backward()
        opt.step()
        times[k] = time.perf_counter() - t0
        if progress and (k % stride == 0 or k == epochs - 1):
            print(f"epoch {k:6d}  objective {val:.8g}  lr {cur_lr:.3g}  "
                  f"time {times[k]:.2f}s")
        if callback is not None and callback(k, val):
            done = k + 1
            break
    # the iterate after the last update has not been evaluated yet
    with torch.no_grad():
        val = float(objective())
    if math.isfinite(val) and val < best:
        best = val
        best_state = [p.detach().clone() for p in params]
    elapsed = time.perf_counter() - t0
    W1 = best_state[0].detach().cpu().numpy().T.copy()
    W2 = best_state[1].detach().cpu().numpy().T.copy()
    network = ReLUNetwork(W1, W2)
    F = network.predict(X)
    final = _numpy_loss(name, loss_obj, F, Y) + beta * network.weight_decay()
    return TrainResult(
        network=network, objective=final, history=history[:done], times=times[:done],
        lrs=lrs[:done], time=elapsed, lr=lr0, optimizer=optimizer, loss=name, beta=beta,
        epochs=done, n_lr_halvings=halvings, n_restarts=restarts,
        settings={"m": m, "momentum": momentum, "patience": patience, "factor": factor,
                  "threshold": threshold, "min_lr": min_lr, "device": str(dev),
                  "seed": seed if not isinstance(seed, np.random.Generator) else "generator"},
    )


# --------------------------------------------------------------------------- linear network
@dataclass
class LinearSolution:
    """Result of :func:`linear_network`: the optimal two-layer linear network.

    Attributes
    ----------
    W : ndarray, shape (d, c)
        Product W1 W2, the minimizer of ½‖X W − Y‖² + β‖W‖_*.
    W1, W2 : ndarray
        A balanced factorization W = W1 W2 (W1 = U√S, W2 = √S Vᵀ), optimal for the network.
    value : float
        Optimal objective ½‖X W − Y‖² + β‖W‖_* (= (5) of the linear network).
    exact : bool
        True for the closed form (X Xᵀ = I or Xᵀ X = I); False: proximal gradient to ``tol``.
    iterations : int
    time : float
    """

    W: np.ndarray
    W1: np.ndarray
    W2: np.ndarray
    value: float
    exact: bool
    iterations: int
    time: float

    def predict(self, X) -> np.ndarray:
        return as_data(X) @ self.W


def _svt(M: np.ndarray, tau: float):
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    s = np.maximum(s - tau, 0.0)
    return (U * s) @ Vt, U, s, Vt


def linear_network(X, Y, beta, tol: float = 1e-10, max_iter: int = 100000) -> LinearSolution:
    """Globally optimal two-layer linear network with weight decay (nuclear-norm regression).

    min_{W1, W2} ½‖X W1 W2 − Y‖² + (β/2)(‖W1‖² + ‖W2‖²) = min_W ½‖X W − Y‖² + β‖W‖_*
    (with enough hidden units, m ≥ rank W). If X has orthonormal rows (X Xᵀ = I) or columns
    (Xᵀ X = I) the minimizer is the singular value soft-thresholding W = SVT_β(Xᵀ Y); otherwise
    accelerated proximal gradient (FISTA) runs until the relative change is below ``tol``.
    """
    t0 = time.perf_counter()
    X = as_data(X)
    n, d = X.shape
    Y = as_targets(Y, n)
    beta = as_beta(beta)
    tol = _positive_float(tol, "tol")
    max_iter = _positive_int(max_iter, "max_iter")
    XtY = X.T @ Y
    rows_orth = n <= d and np.allclose(X @ X.T, np.eye(n), rtol=0, atol=1e-9)
    cols_orth = d <= n and np.allclose(X.T @ X, np.eye(d), rtol=0, atol=1e-9)
    it = 0
    if rows_orth or cols_orth:
        W, U, s, Vt = _svt(XtY, beta)
        exact = True
    else:
        L = float(np.linalg.norm(X, 2)) ** 2
        W = np.zeros((d, Y.shape[1]))
        Z, t = W.copy(), 1.0
        for it in range(1, max_iter + 1):
            G = X.T @ (X @ Z) - XtY
            W_new, U, s, Vt = _svt(Z - G / L, beta / L)
            t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            Z = W_new + ((t - 1.0) / t_new) * (W_new - W)
            change = np.linalg.norm(W_new - W) / max(1.0, np.linalg.norm(W_new))
            W, t = W_new, t_new
            if change < tol:
                break
        _, U, s, Vt = _svt(W, 0.0)
        exact = False
    keep = s > 0
    root = np.sqrt(s[keep])
    W1 = U[:, keep] * root
    W2 = root[:, None] * Vt[keep]
    value = 0.5 * float(np.sum((X @ W - Y) ** 2)) + beta * float(np.sum(s))
    return LinearSolution(W=W, W1=W1, W2=W2, value=value, exact=exact, iterations=it,
                          time=time.perf_counter() - t0)
