"""LawTracker: when it measures, what it measures, that it leaves training alone, its files and plots.

The features the hooks record are checked against a forward pass written out by hand, and D
against the dense NumPy/SciPy pinv reference (reference.py), independent of the Rust core.
"""

import json
import math
import sys

import numpy as np
import pytest

import layerlaw
from reference import fuzziness_pinv, law_fit

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from layerlaw.tracker import CSV_COLUMNS, LawTracker, load_history  # noqa: E402

K = 4


def _net():
    torch.manual_seed(0)
    blocks = [nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU())]
    blocks += [nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU()) for _ in range(2)]
    return nn.Sequential(*blocks, nn.Linear(16, K))


def _probe(n=240, seed=1):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % K
    centres = 2.0 * torch.randn(K, 12, generator=g)
    x = centres[y] + torch.randn(n, 12, generator=g)
    return x, y


def _train_a_little(model, x, y, steps=30):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_measures_every_n_and_matches_a_hand_written_forward_pass():
    model = _net()
    x, y = _probe()
    _train_a_little(model, x, y)
    tracker = LawTracker(model, (x, y), every=3, layers=["0", "1", "2"], num_classes=K, classifier=model[3])
    rows = [tracker.step(e, train_acc=0.5) for e in range(1, 8)]
    assert [r is not None for r in rows] == [False, False, True, False, False, True, False]
    assert [h["epoch"] for h in tracker.history] == [3, 6]
    row = tracker.history[-1]
    assert row["layers"] == ["input", "0", "1", "2"]
    assert row["train_acc"] == 0.5 and row["test_acc"] is None
    assert row["nc3"] is not None and row["nc4"] is not None

    # The same points by hand, in eval mode, batches of 100 (the default split of an (X, y) pair).
    model.eval()
    with torch.no_grad():
        h1 = model[0](x)
        h2 = model[1](h1)
        h3 = model[2](h2)
    model.train()
    feats, labels = tracker.probe_features()
    for name, ref in zip(["input", "0", "1", "2"], [x, h1, h2, h3]):
        np.testing.assert_array_equal(feats[name], ref.numpy())
    np.testing.assert_array_equal(labels, y.numpy())
    for l, ref in enumerate([x, h1, h2, h3]):
        assert row["fuzziness"][l] == pytest.approx(fuzziness_pinv(ref.numpy(), y.numpy(), K), rel=1e-8)
    # ... and exactly what layerlaw.measure gives on the stored probe features.
    rep = layerlaw.measure(feats, labels, num_classes=K)
    np.testing.assert_allclose(row["fuzziness"], rep.fuzziness, rtol=1e-9)
    np.testing.assert_allclose(row["nc1"], [layer.nc1 for layer in rep.layers], rtol=1e-9)
    ref_fit = law_fit(row["fuzziness"])
    assert row["rho"] == pytest.approx(ref_fit["rho"], rel=1e-9)
    assert row["pearson_r"] == pytest.approx(ref_fit["pearson_r"], rel=1e-9)
    assert tracker.seconds > 0 and row["seconds"] > 0


@pytest.mark.parametrize("bn", ["eval", "train"])
def test_leaves_modes_buffers_and_weights_alone(bn):
    model = _net()
    x, y = _probe()
    _train_a_little(model, x, y, steps=5)
    model.train()
    model[1].eval()  # a mixed state must come back as it was
    model.zero_grad(set_to_none=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    tracker = LawTracker(model, (x, y), every=1, layers=["0", "1", "2"], bn=bn)
    row = tracker.step(1)
    assert [m.training for m in model.modules()] == modes
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert all(p.grad is None for p in model.parameters())
    # In train mode BatchNorm normalises with each probe batch's statistics: a different D.
    eval_row = LawTracker(model, (x, y), every=1, layers=["0", "1", "2"], bn="eval").step(1)
    if bn == "train":
        assert not np.allclose(row["fuzziness"][1:], eval_row["fuzziness"][1:], rtol=1e-6)
    else:
        np.testing.assert_array_equal(row["fuzziness"], eval_row["fuzziness"])


def test_dataloader_probe_steps_and_default_layers():
    from torch.utils.data import DataLoader, TensorDataset

    model = _net()
    x, y = _probe()
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    # layers=None: every child module but the last (the classifier).
    tracker = LawTracker(model, loader, every=5, unit="step", input_layer=False)
    assert tracker.layer_names == ["0", "1", "2"]
    row = tracker.step(10)
    assert row["step"] == 10 and "epoch" not in row
    pair = LawTracker(model, (x, y), every=5, unit="step", input_layer=False).step(10)
    # the same examples in other batches: equal up to float32 batch-size effects in the matmuls
    np.testing.assert_allclose(row["fuzziness"], pair["fuzziness"], rtol=1e-5)
    # modules may be given directly
    direct = LawTracker(model, loader, layers=[model[0], model[2]])
    assert direct.layer_names == ["input", "0", "2"]


def test_json_and_csv_round_trip(tmp_path):
    model = _net()
    x, y = _probe()
    tracker = LawTracker(model, (x, y), every=2, layers=["0", "1", "2"], num_classes=K, classifier=model[3])
    for e in range(0, 7):
        if e:
            _train_a_little(model, x, y, steps=3)
        tracker.step(e, train_acc=e / 10, test_acc=None, lr=0.1)
    assert len(tracker.history) == 4
    tracker.save_json(tmp_path / "h.json")
    tracker.save_csv(tmp_path / "h.csv")
    doc = json.loads((tmp_path / "h.json").read_text())
    assert doc["unit"] == "epoch" and doc["every"] == 2 and doc["layers"] == ["input", "0", "1", "2"]
    assert load_history(tmp_path / "h.json") == tracker.history  # floats survive JSON exactly
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].split(",") == CSV_COLUMNS
    assert len(lines) == 1 + 4 * 4
    back = load_history(tmp_path / "h.csv")
    assert len(back) == 4
    for got, want in zip(back, tracker.history):
        assert got["epoch"] == want["epoch"] and got["layers"] == want["layers"]
        for key in ("fuzziness", "nc1", "nc2"):
            assert got[key] == want[key]
        for key in ("rho", "slope", "intercept", "r2", "pearson_r", "nc3", "nc4", "train_acc", "test_acc"):
            assert got[key] == want[key], key
    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,D\n1,2\n")
    with pytest.raises(ValueError, match="not a LawTracker CSV"):
        load_history(bad)


def test_plots_or_a_clear_import_error(tmp_path, monkeypatch):
    model = _net()
    x, y = _probe()
    tracker = LawTracker(model, (x, y), every=1, layers=["0", "1", "2"])
    for e in range(3):
        _train_a_little(model, x, y, steps=2)
        tracker.step(e)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        tracker.plot_emergence(tmp_path / "e.png")
        tracker.plot_heatmap(tmp_path / "h.png")
        for name in ("e.png", "h.png"):
            assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with pytest.raises(ValueError, match="no measurement at epoch"):
            tracker.plot_emergence(indices=[7])
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        tracker.plot_heatmap(tmp_path / "x.png")


def test_bad_arguments_are_named():
    model = _net()
    x, y = _probe()
    with pytest.raises(ValueError, match="every"):
        LawTracker(model, (x, y), every=0)
    with pytest.raises(ValueError, match="no submodule 'fc9'"):
        LawTracker(model, (x, y), layers=["fc9"])
    with pytest.raises(ValueError, match="unit"):
        LawTracker(model, (x, y), unit="batch")
    with pytest.raises(ValueError, match="not part of the model"):
        LawTracker(model, (x, y), layers=[nn.Linear(2, 2)])
    # A class missing from the probe set: the error says at which epoch.
    missing = LawTracker(model, (x[y != 2], y[y != 2]), layers=["0"], num_classes=K)
    with pytest.raises(ValueError, match="epoch 5"):
        missing.measure(5)
    # A module that runs twice per forward pass is refused (its points would be ambiguous).
    shared = nn.Sequential(nn.Linear(12, 12), nn.ReLU())

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = shared

        def forward(self, t):
            return self.block(self.block(t))

    with pytest.raises(ValueError, match="2 outputs"):
        LawTracker(Twice(), (x, y), layers=["block"]).step(0)


def test_adapters_need_their_packages():
    import importlib.util

    import layerlaw.tracker as tr

    if importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning") is None:
        with pytest.raises(ImportError, match="PyTorch Lightning"):
            tr.LightningLawCallback
    if importlib.util.find_spec("transformers") is None:
        with pytest.raises(ImportError, match="transformers"):
            tr.HFLawCallback
    with pytest.raises(AttributeError):
        tr.NoSuchThing


def test_nan_free_json_for_non_finite_values(tmp_path):
    model = _net()
    x, y = _probe()
    tracker = LawTracker(model, (x, y), every=1, layers=["0"])
    tracker.step(1, train_acc=float("nan"))
    tracker.save_json(tmp_path / "h.json")
    text = (tmp_path / "h.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["history"][0]["train_acc"] is None
    assert math.isnan(tracker.history[0]["train_acc"])


@pytest.mark.parametrize("bn", ["eval", "train"])
def test_streaming_engine_equals_the_stored_features(bn):
    try:
        import layerlaw.torch  # noqa: F401
    except ImportError as e:
        pytest.skip(f"layerlaw.torch is not in this build of the module: {e}")
    model = _net()
    x, y = _probe()
    _train_a_little(model, x, y, steps=10)
    kw = dict(every=1, layers=["0", "1", "2"], num_classes=K, classifier=model[3], bn=bn)
    stored = LawTracker(model, (x, y), **kw).step(1)
    streamed = LawTracker(model, (x, y), engine="streaming", **kw).step(1)
    assert streamed["layers"] == stored["layers"] == ["input", "0", "1", "2"]
    np.testing.assert_allclose(streamed["fuzziness"], stored["fuzziness"], rtol=1e-8)
    np.testing.assert_allclose(streamed["nc1"], stored["nc1"], rtol=1e-8)
    assert streamed["pearson_r"] == pytest.approx(stored["pearson_r"], rel=1e-8)
    assert streamed["nc3"] == pytest.approx(stored["nc3"], rel=1e-6, abs=1e-9)
    with pytest.raises(ValueError, match="engine"):
        LawTracker(model, (x, y), engine="gpu")
