"""layerlaw.lpm: exact balanced optimum, Minority Collapse, errors."""

import numpy as np
import pytest

from layerlaw import lpm


def test_balanced_is_a_simplex_etf():
    k, ew, eh = 6, 1.0, 5.0
    sol = lpm.solve(counts=[1.0] * k, ew=ew, eh=eh)
    assert sol.status in ("Solved", "AlmostSolved")
    g = sol.gram[k:, k:]  # classifier Gram W W^T
    norms = np.sqrt(np.diag(g))
    cos = g / np.outer(norms, norms)
    off = cos[~np.eye(k, dtype=bool)]
    np.testing.assert_allclose(off, -1.0 / (k - 1), atol=1e-5)
    np.testing.assert_allclose(norms**2, ew, rtol=1e-5)
    assert sol.majority_cosine == pytest.approx(-1.0 / (k - 1), abs=1e-5)
    # Closed form: log(1 + (K-1) exp(-K sqrt(E_H E_W) / (K-1))).
    closed = np.log1p((k - 1) * np.exp(-k / (k - 1) * np.sqrt(eh * ew)))
    assert sol.objective == pytest.approx(closed, rel=1e-6)
    opt = lpm.balanced_optimum(k, ew, eh)
    assert opt.cosine == pytest.approx(-1.0 / (k - 1), rel=1e-15)
    assert opt.objective == pytest.approx(closed, rel=1e-14)
    np.testing.assert_allclose(sol.gram, opt.gram, atol=1e-4)


def test_step_ratio_one_is_balanced_in_both_groups():
    sol = lpm.solve(majority=3, minority=2, ratio=1.0)
    assert sol.minority_cosine == pytest.approx(-0.25, abs=1e-5)
    assert sol.majority_cosine == pytest.approx(-0.25, abs=1e-5)
    assert sol.gram.shape == (10, 10) and sol.w.shape == (5, sol.rank) and sol.h.shape == (5, sol.rank)
    np.testing.assert_allclose(sol.w @ sol.w.T, sol.gram[5:, 5:], atol=1e-6)


def test_default_problem_minority_cosine_and_dict():
    sol = lpm.solve()  # 5 + 5 classes, R = 10, E_W = 1, E_H = 5
    # Value documented by the layerlaw-lpm crate (its doctest): 0.5175 +- 1e-3.
    assert sol.minority_cosine == pytest.approx(0.5175, abs=1e-3)
    d = sol.to_dict()
    assert isinstance(d["gram"], list) and len(d["gram"]) == 20 and d["method"] == "SymmetricSdp"


def test_general_and_nonconvex_methods_agree():
    a = lpm.solve(majority=2, minority=2, ratio=20.0, method="general_sdp")
    b = lpm.solve(majority=2, minority=2, ratio=20.0, method="nonconvex", restarts=2, seed=1)
    assert a.method == "GeneralSdp" and b.method == "Nonconvex"
    assert b.objective == pytest.approx(a.objective, rel=1e-4)


def test_sweep_collapses_at_large_ratio():
    sw = lpm.sweep(majority=2, minority=2, ratios=[1.0, 1e4])
    assert [p.ratio for p in sw.points] == [1.0, 1e4]
    assert sw.points[0].collapsed is False and sw.points[1].collapsed is True
    assert 1.0 < sw.collapse_ratio <= 1e4
    lo, hi = sw.collapse_bracket
    assert hi / lo < 1.0002
    assert sw.minority_cosine[0] == pytest.approx(-1.0 / 3.0, abs=1e-5)
    assert set(sw.to_dict()) >= {"points", "collapse_ratio", "collapse_bracket", "k_a", "k_b"}


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"ratio": 0.5}, r"R = n_A / n_B must be >= 1, got 0.5"),
        ({"ew": -1.0}, r"e_w must be > 0, got -1"),
        ({"eh": float("nan")}, r"e_h must be finite"),
        ({"minority": 0}, r"k_b = 0"),
        ({"counts": [1.0]}, r"at least 2 classes, got K = 1"),
        ({"counts": [1.0, -2.0]}, r"class 1 has count -2"),
        ({"counts": [1.0, 2.0], "minority_classes": [5]}, r"minority class index 5"),
        ({"method": "bogus"}, r"unknown method 'bogus'"),
        ({"method": "nonconvex", "restarts": 0}, r"restarts"),
        ({"tolerance": 0.0}, r"invalid solver option tolerance"),
    ],
)
def test_solve_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        lpm.solve(**kwargs)


def test_solver_trouble_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="status MaxIterations"):
        lpm.solve(sdp_max_iter=1)
    sol = lpm.solve(sdp_max_iter=1, check=False)
    assert sol.status == "MaxIterations" and sol.notes


def test_sweep_errors():
    with pytest.raises(ValueError, match="at least one ratio"):
        lpm.sweep(ratios=[])
    with pytest.raises(ValueError, match="must be >= 1, got 0.1"):
        lpm.sweep(ratios=[0.1, 2.0])
