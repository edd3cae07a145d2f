"""sets: the cone-constrained gauge γ(V) of one cell (13) and its forms.

Reference written here from the definition γ(V) = min Σ_k ‖g_k‖ over V = Σ_k h_k g_kᵀ with
unit h_k in the cell: restricting h_k to a dense sample of unit directions of the cell gives a
second-order cone program whose value is ≥ γ(V) and converges to it as O(δ²) in the spacing δ.
Each form must sit on the side of γ its ``bound`` claims, "exact" ones within the sampling
error.
"""

import cvxpy as cp
import numpy as np
import pytest

from cvxrelu.geometry.cells import cell_rays
from cvxrelu.errors import InvalidInputError
from cvxrelu.programs.sets import cone_gauge, form_bound

SOLVER = "CLARABEL"


def _gauge_value(V0, form, A=None, rays=None):
    V = cp.Variable(V0.shape)
    g = cone_gauge(V, A=A, rays=rays, form=form)
    prob = cp.Problem(cp.Minimize(g.expr), g.constraints + [V == V0])
    prob.solve(solver=SOLVER)
    assert prob.status == cp.OPTIMAL
    return float(prob.value), g.bound


def _sampled_gauge(V0, H):
    """min Σ_k ‖g_k‖ s.t. H G = V0, H's columns unit directions of the cell (≥ γ(V0))."""
    G = cp.Variable((H.shape[1], V0.shape[1]))
    prob = cp.Problem(cp.Minimize(cp.sum(cp.norm(G, 2, axis=1))), [H @ G == V0])
    prob.solve(solver=SOLVER)
    assert prob.status == cp.OPTIMAL
    return float(prob.value)


def _rays_of(A):
    return cell_rays(A, np.ones((A.shape[0], 1), dtype=bool)).rays[0]


def _arc_directions(R, k=2000):
    """k unit directions evenly spaced on the arc between the two rays of a 2-D cone."""
    a, b = R[:, 0], R[:, 1]
    theta = np.arccos(np.clip(a @ b, -1, 1))
    e = b - (a @ b) * a
    e /= np.linalg.norm(e)
    t = np.linspace(0.0, theta, k)
    return np.outer(a, np.cos(t)) + np.outer(e, np.sin(t))


def _simplex_directions(R, rng, k=4000):
    lam = np.vstack([np.eye(R.shape[1]), rng.dirichlet(np.ones(R.shape[1]) * 0.7, size=k)])
    H = R @ lam.T
    return H / np.linalg.norm(H, axis=0)


@pytest.mark.parametrize("c", [1, 3])
def test_rank2_cell_forms_bracket_the_definition(rng, c):
    A = np.array([[1.0, 0.3], [-0.2, 1.0], [0.5, 0.5]])          # a pointed cone in R^2
    R = _rays_of(A)
    assert R.shape[1] == 2
    V0 = rng.standard_normal((2, c))
    ref = _sampled_gauge(V0, _arc_directions(R))                 # ≥ γ, within ~1e-7
    scale = abs(ref)
    values = {}
    for form in ("rays", "simplicial", "paper", "inner"):
        val, bound = _gauge_value(V0, form, A=A)
        values[form] = val
        assert bound == form_bound(form, 2, c)
        if bound == "exact":
            assert val == pytest.approx(ref, rel=1e-5)
        if bound in ("exact", "lower"):
            assert val <= ref + 1e-6 * scale                     # never above the definition
        if bound == "upper":
            assert val >= values["rays"] - 1e-6 * scale
    if c == 1:                                                   # "inner" is exact at c = 1
        assert values["inner"] == pytest.approx(ref, rel=1e-5)


def test_rank3_simplicial_cell(rng):
    A = np.eye(3) + 0.2 * rng.standard_normal((3, 3))           # a simplicial cone in R^3
    R = _rays_of(A)
    assert R.shape[1] == 3
    V0 = rng.standard_normal((3, 2))
    ref = _sampled_gauge(V0, _simplex_directions(R, rng))        # ≥ γ, sampling error only
    val, bound = _gauge_value(V0, "rays", A=A)
    assert bound == "exact"
    assert val <= ref * (1 + 1e-6)
    assert val == pytest.approx(ref, rel=5e-3)
    # the same cell given by its rays instead of its facets
    val_r, _ = _gauge_value(V0, "rays", rays=R)
    assert val_r == pytest.approx(val, rel=1e-6)
    paper, b = _gauge_value(V0, "paper", A=A)
    assert b == "lower" and paper <= val * (1 + 1e-6)


def test_gauge_of_a_ray_times_g_is_the_product_of_norms(rng):
    # V = h gᵀ with h in the cell: γ(V) = ‖h‖‖g‖ (closed form, one neuron)
    A = np.eye(2)
    h, g = np.array([0.6, 0.8]) * 2.0, rng.standard_normal(3)
    val, _ = _gauge_value(np.outer(h, g), "rays", A=A)
    assert val == pytest.approx(np.linalg.norm(h) * np.linalg.norm(g), rel=1e-6)


def test_invalid_cells_are_refused():
    V = cp.Variable((2, 2))
    with pytest.raises(InvalidInputError, match="full column rank"):
        cone_gauge(V, A=np.array([[1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(InvalidInputError, match="A .*rays|rays"):
        cone_gauge(V)
    with pytest.raises(InvalidInputError, match="paper"):
        cone_gauge(V, rays=np.eye(2), form="paper")
    with pytest.raises(InvalidInputError, match="form"):
        cone_gauge(V, A=np.eye(2), form="nope")
    with pytest.raises(InvalidInputError, match="zero column"):
        cone_gauge(V, rays=np.array([[1.0, 0.0], [0.0, 0.0]]))
