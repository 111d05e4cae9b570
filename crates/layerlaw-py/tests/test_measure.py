"""fuzziness / measure / fit_law against the NumPy references in reference.py."""

import numpy as np
import pytest

import layerlaw
from reference import class_means, clustered, fuzziness_pinv, fuzziness_svd, law_fit, nc1_svd

REL = 1e-9


def test_fuzziness_matches_dense_pinv_and_svd_f64():
    x, y = clustered(400, 24, 5, seed=1)
    d = layerlaw.fuzziness(x, y)
    assert d == pytest.approx(fuzziness_pinv(x, y, 5), rel=REL)
    assert d == pytest.approx(fuzziness_svd(x, y, 5), rel=REL)


def test_fuzziness_imbalanced_and_more_classes_than_dims():
    # K - 1 = 7 > p = 4: SS_b has full rank p; and imbalanced counts weight SS_b.
    x, y = clustered(0, 4, 8, seed=2, counts=[5, 9, 40, 7, 13, 60, 3, 22])
    d = layerlaw.fuzziness(x, y, num_classes=8)
    assert d == pytest.approx(fuzziness_pinv(x, y, 8), rel=REL)
    assert d == pytest.approx(fuzziness_svd(x, y, 8), rel=REL)


def test_f32_is_widened_exactly():
    x, y = clustered(300, 16, 4, seed=3, dtype=np.float32)
    d = layerlaw.fuzziness(x, y)
    # The reference widens the same float32 values to float64.
    assert d == pytest.approx(fuzziness_svd(x, y, 4), rel=REL)
    assert d == pytest.approx(fuzziness_pinv(x, y, 4), rel=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_give_the_same_numbers(dtype):
    big, ybig = clustered(500, 30, 4, seed=4, dtype=dtype)
    c = np.ascontiguousarray(big)
    ref = layerlaw.fuzziness(c, ybig)
    assert layerlaw.fuzziness(np.asfortranarray(big), ybig) == pytest.approx(ref, rel=1e-12)
    assert layerlaw.fuzziness(big.T.copy().T, ybig) == pytest.approx(ref, rel=1e-12)
    # Strided views (every other row, every third column) and negative strides.
    view = big[::2, ::3]
    assert not view.flags.c_contiguous and not view.flags.f_contiguous
    assert layerlaw.fuzziness(view, ybig[::2]) == pytest.approx(
        layerlaw.fuzziness(np.ascontiguousarray(view), ybig[::2]), rel=1e-12
    )
    assert layerlaw.fuzziness(big[::-1, ::-1], ybig[::-1]) == pytest.approx(ref, rel=1e-10)
    assert ref == pytest.approx(fuzziness_svd(c, ybig, 4), rel=REL)


def test_other_feature_dtypes_and_higher_rank_are_converted():
    x, y = clustered(200, 12, 3, seed=5)
    ref = layerlaw.fuzziness(x, y)
    # Big-endian float64 is copied to native order; (n, 3, 4) is flattened to (n, 12).
    assert layerlaw.fuzziness(x.astype(">f8"), y) == pytest.approx(ref, rel=1e-12)
    assert layerlaw.fuzziness(x.reshape(200, 3, 4), y) == pytest.approx(ref, rel=1e-12)
    ints = (x * 10).astype(np.int32)
    assert layerlaw.fuzziness(ints, y) == pytest.approx(fuzziness_svd(ints, y, 3), rel=REL)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_label_dtypes(dtype):
    x, y = clustered(240, 10, 6, seed=6)
    assert layerlaw.fuzziness(x, y.astype(dtype)) == layerlaw.fuzziness(x, y)


def test_labels_from_lists_and_strided_arrays():
    x, y = clustered(120, 6, 3, seed=7)
    assert layerlaw.fuzziness(x, list(y)) == layerlaw.fuzziness(x, y)
    wide = np.stack([y, y], axis=1)  # column view with a row stride of 2 elements
    assert layerlaw.fuzziness(x, wide[:, 0]) == layerlaw.fuzziness(x, y)


def test_measure_report_shape_and_values():
    k = 4
    x0, y = clustered(400, 20, k, seed=8, spread=3.0)
    rng = np.random.default_rng(0)
    layers = {"input": x0}
    h = x0
    for name in ["fc1", "fc2", "fc3"]:
        h = np.tanh(h @ rng.normal(size=(h.shape[1], 16)) * 0.3) + 0.5 * np.eye(k)[y] @ rng.normal(size=(k, 16))
        layers[name] = h
    rep = layerlaw.measure(layers, y)
    assert [l.name for l in rep.layers] == ["input", "fc1", "fc2", "fc3"]
    assert rep.n == 400 and rep.classes == k and rep.class_counts == [100] * 4 and rep.balanced
    for i, (name, feats) in enumerate(layers.items()):
        layer = rep[name]
        assert layer.index == i and layer.dim == feats.shape[1] and layer.num_samples == 400
        assert layer.fuzziness == pytest.approx(fuzziness_pinv(feats, y, k), rel=REL)
        assert layer.nc1 == pytest.approx(nc1_svd(feats, y, k), rel=REL)
        # Balanced classes: D = K * NC1.
        assert layer.fuzziness == pytest.approx(k * layer.nc1, rel=1e-12)
        np.testing.assert_allclose(layer.class_means, class_means(feats, y, k), rtol=1e-12, atol=1e-12)
    ref = law_fit(rep.fuzziness)
    for key, value in ref.items():
        assert getattr(rep.law, key) == pytest.approx(value, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(rep.law.ratios, rep.fuzziness[1:] / rep.fuzziness[:-1], rtol=1e-12)
    # The dict has the CLI's `measure --json` shape (less "file").
    d = rep.to_dict()
    assert set(d) == {"n", "classes", "class_counts", "balanced", "definitions", "layers", "law", "classifier", "notes"}
    assert set(d["definitions"]) == {"fuzziness", "nc1", "law"}
    assert set(d["layers"][0]) == {
        "name", "index", "dim", "num_classes", "num_samples", "fuzziness", "nc1", "rank", "rank_nc1",
        "trace_within", "trace_between", "equinorm", "equiangularity", "etf_distance", "notes",
    }
    assert set(d["law"]) == {"slope", "intercept", "rho", "r2", "pearson_r", "ratios", "fit_layers", "residuals"}
    assert d["classifier"] is None
    # A list of pairs gives the same report.
    assert layerlaw.measure(list(layers.items()), y).to_dict() == d


def test_measure_single_layer_has_no_law():
    x, y = clustered(90, 5, 3, seed=9)
    rep = layerlaw.measure([("only", x)], y)
    assert rep.law is None and rep.to_dict()["law"] is None
    # The one failed-fit behaviour of every front end: law None and a note saying why.
    assert any(n.startswith("law not fitted") and "at least 2 layers" in n for n in rep.notes)


def test_reports_are_native_objects_with_dicts_like_the_cli():
    x, y = clustered(120, 6, 3, seed=12)
    rep = layerlaw.measure({"a": x, "b": np.tanh(x)}, y)
    assert isinstance(rep, layerlaw.Report) and type(rep).__module__ == "layerlaw._layerlaw"
    assert isinstance(rep.layers[0], layerlaw.LayerReport) and isinstance(rep.law, layerlaw.LawFit)
    assert rep["b"] is rep.layers[1] and len(rep) == 2
    with pytest.raises(KeyError):
        rep["c"]
    d = rep.to_dict()
    assert d["layers"] == [layer.to_dict() for layer in rep.layers]
    assert d["law"] == rep.law.to_dict() and d["definitions"] == rep.definitions
    assert layerlaw.fit_law(rep.fuzziness) == rep.law


def test_measure_with_classifier():
    k, p = 4, 8
    x, y = clustered(0, p, k, seed=10, counts=[50, 50, 10, 10])
    means = class_means(x, y, k)
    w = means - means.mean(axis=0)  # self-dual classifier: NC3 = 0
    rep = layerlaw.measure({"last": x}, y, classifier_weight=w, classifier_bias=np.zeros(k), minority=[2, 3])
    c = rep.classifier
    assert c.nc3 == pytest.approx(0.0, abs=1e-12)
    logits_pred = np.argmax(x @ w.T, axis=1)
    ncc_pred = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert c.nc4 == pytest.approx(np.mean(logits_pred != ncc_pred), abs=1e-12)
    assert c.classifier_accuracy == pytest.approx(np.mean(logits_pred == y), abs=1e-12)
    wn = w / np.linalg.norm(w, axis=1, keepdims=True)
    assert c.groups["minority"]["classes"] == [2, 3]
    assert c.groups["minority"]["mean_cosine"] == pytest.approx(wn[2] @ wn[3], rel=1e-12)
    assert not rep.balanced


def test_fit_law_matches_polyfit_and_pearsonr():
    d = np.array([5.0, 2.7, 1.3, 0.71, 0.33])
    fit = layerlaw.fit_law(d)
    for key, value in law_fit(d).items():
        assert getattr(fit, key) == pytest.approx(value, rel=1e-12)
    assert set(fit.to_dict()) == {"slope", "intercept", "rho", "r2", "pearson_r", "ratios", "fit_layers", "residuals"}
    assert layerlaw.fit_law([2.0, 2.0, 2.0]).pearson_r is None
