"""fit_layers= and the residuals of the law fit, against numpy.polyfit on the chosen layers."""

import numpy as np
import pytest

import layerlaw
from reference import clustered

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import layerlaw.torch as lt  # noqa: E402
import torch_models as tm  # noqa: E402


def polyfit_at(d, idx):
    d = np.asarray(d, dtype=np.float64)
    slope, intercept = np.polyfit(np.asarray(idx, dtype=np.float64), np.log(d[idx]), 1)
    return slope, intercept, np.log(d) - (intercept + slope * np.arange(len(d)))


def test_fit_law_over_chosen_layers_matches_polyfit():
    d = np.array([12.5, 6.1, 3.3, 1.55, 0.8, 0.41, 0.37])
    for spec, idx in (("1..", [1, 2, 3, 4, 5, 6]), ("0,2..5", [0, 2, 3, 4, 5]), ([6, 2], [2, 6])):
        fit = layerlaw.fit_law(d, fit_layers=spec)
        slope, intercept, residuals = polyfit_at(d, idx)
        assert fit.fit_layers == idx
        assert fit.slope == pytest.approx(slope, rel=1e-12)
        assert fit.intercept == pytest.approx(intercept, rel=1e-12)
        np.testing.assert_allclose(fit.residuals, residuals, rtol=1e-9, atol=1e-12)
        assert fit.to_dict()["fit_layers"] == idx
    full = layerlaw.fit_law(d)
    assert full.fit_layers == list(range(7))
    _, _, residuals = polyfit_at(d, list(range(7)))
    np.testing.assert_allclose(full.residuals, residuals, rtol=1e-9, atol=1e-12)


def test_measure_fit_layers_and_bad_specifications():
    x, y = clustered(200, 3, 5, seed=1)
    rng = np.random.default_rng(0)
    layers = {f"l{i}": x * (1.0 + i) + rng.normal(scale=1.0 / (1 + i), size=x.shape) for i in range(4)}
    rep = layerlaw.measure(layers, y, fit_layers="1..")
    slope, intercept, residuals = polyfit_at(rep.fuzziness, [1, 2, 3])
    assert rep.law.fit_layers == [1, 2, 3]
    assert rep.law.slope == pytest.approx(slope, rel=1e-9)
    np.testing.assert_allclose(rep.law.residuals, residuals, rtol=1e-9, atol=1e-12)
    assert rep.to_dict()["law"]["residuals"] == rep.law.residuals
    again = layerlaw.refit(layerlaw.measure(layers, y), "1..")
    assert again.law == rep.law
    for bad, needle in (("1..9", "0..3"), ("x", "`x`"), ("3", "at least 2"), ([-1, 2], "negative")):
        with pytest.raises(ValueError, match=needle):
            layerlaw.measure(layers, y, fit_layers=bad)
    with pytest.raises(TypeError):
        layerlaw.measure(layers, y, fit_layers=1.5)


def test_torch_measure_fit_layers():
    k = 4
    x, y = tm.clustered(300, k, 8)
    model = tm.mlp(8, k)
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    full = lt.measure(model, loader, num_classes=k, progress=False)
    part = lt.measure(model, loader, num_classes=k, progress=False, fit_layers="1..")
    np.testing.assert_array_equal(part.fuzziness, full.fuzziness)
    slope, _, residuals = polyfit_at(full.fuzziness, [1, 2, 3])
    assert part.law.fit_layers == [1, 2, 3]
    assert part.law.slope == pytest.approx(slope, rel=1e-9)
    np.testing.assert_allclose(part.law.residuals, residuals, rtol=1e-9, atol=1e-12)
    once = lt.measure(model, loader, num_classes=k, passes=1, progress=False, fit_layers=[0, 3])
    assert once.law.fit_layers == [0, 3]
    with pytest.raises(ValueError, match="bad token"):
        lt.measure(model, loader, num_classes=k, progress=False, fit_layers="1-3")
