"""The PyTorch reproduction scripts (``reproduce/`` at the repository root): data, models and
their ``--quick`` runs.

The quick runs train on the Fashion-MNIST slice that ships in the repository, on one thread
(an oversubscribed machine slows multi-threaded torch down far more than one thread). The FNN run
(100 epochs, about 11 s of CPU) and the data/model checks are in the default suite; the
CNN/ResNet run (about 1-2 min of CPU) and the Minority Collapse run (about 30-40 s of CPU) run
when ``LAYERLAW_SLOW_TESTS=1``.
"""

import gzip
import os
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[3]
if not (ROOT / "reproduce" / "models.py").is_file():
    pytest.skip(f"reproduce/ is not in this checkout ({ROOT})", allow_module_level=True)
sys.path.insert(0, str(ROOT))

from reproduce import data, models  # noqa: E402

slow = pytest.mark.skipif(os.environ.get("LAYERLAW_SLOW_TESTS") != "1",
                          reason="about a minute on 2 cores: set LAYERLAW_SLOW_TESTS=1")


def test_idx_reader_and_embedded_slice(tmp_path):
    ds = data.embedded_fashion_mnist()
    assert ds.train.images.shape == (1000, 28, 28) and ds.test.images.shape == (1000, 28, 28)
    assert np.bincount(ds.train.labels).tolist() == [100] * 10
    # Byte 0 of image 0 of t10k, from the IDX layout by hand: magic, 3 dims, then pixels.
    raw = gzip.open(data.EMBEDDED_FASHION_MNIST / "t10k-images-idx3-ubyte.gz").read()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert ds.test.images[0, 27, 27] == raw[16 + 28 * 28 - 1]
    bad = tmp_path / "x-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 10)
    with pytest.raises(ValueError, match="body has 10 bytes"):
        data.read_idx(bad)
    bad.write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01abcd")
    with pytest.raises(ValueError, match="element type 0x0d"):
        data.read_idx(bad)


def test_preprocessing_and_subsets():
    ds = data.embedded_fashion_mnist()
    x = data.preprocess(ds.train.images[:50], 10, "fnn")
    assert x.shape == (50, 1, 10, 10)
    # Downsampled bytes scaled to [0, 1] then (v - 0.5) / 0.5: a grid of k/127.5 - 1.
    v = (x.numpy() + 1) * 127.5
    np.testing.assert_allclose(v, np.round(v), atol=1e-4)
    assert x.min() >= -1 and x.max() <= 1
    idx = data.class_subset(ds.train.labels, data.step_imbalance(100, 10), seed=666)
    assert np.bincount(ds.train.labels[idx]).tolist() == [100] * 5 + [10] * 5
    assert data.step_imbalance(100, 1000) == [100] * 5 + [1] * 5
    with pytest.raises(ValueError, match="class 3: asked for 101 examples, the data has 100"):
        data.class_subset(ds.train.labels, [100, 100, 100, 101] + [100] * 6, seed=1)


@pytest.mark.parametrize("build, points", [
    (lambda: models.VGG13Mod(width=1 / 16), 12),      # official: input + 10 conv + fc1 + fc2 = 13
    (lambda: models.AlexNetMod(width=1 / 16), 7),     # input + 5 conv + 2 fc = 8
    (lambda: models.GResNet("basic"), 4),
    (lambda: models.GResNet("bottleneck"), 4),
    (lambda: models.ResNetMix(), 4),
    (lambda: models.VGG11(width=1 / 16), 10),
    (lambda: models.ResNet18(width=1 / 8), 10),
])
def test_models_forward_and_law_points(build, points):
    torch.manual_seed(0)
    net = build()
    seen = []
    handles = [m.register_forward_hook(lambda mod, a, o, n=n: seen.append(n)) for n, m in net.law_layers().items()]
    out = net(torch.randn(3, 1, 32, 32))
    assert out.shape == (3, 10)
    assert len(seen) == points and seen == list(net.law_layers())
    assert isinstance(net.classifier, torch.nn.Linear) and net.classifier.out_features == 10
    for h in handles:
        h.remove()


def test_full_width_shapes_follow_the_official_code():
    assert models.VGG13Mod().fc1[0].in_features == 512 and models.VGG13Mod().features.body[0].in_channels == 16
    alex = models.AlexNetMod()
    assert alex.fc1[0].in_features == 256 * 4 * 4 and alex.features[0].in_channels == 32
    assert models.GResNet("bottleneck").layer1[0].conv1.kernel_size == (5, 5)
    assert models.GResNet("basic").classifier.in_features == 8 * 32 * 32
    assert len(models.GResNet("bottleneck").law_layers("layer")) == 4 * 3
    assert models.ResNet18().classifier.in_features == 512 and models.VGG11().classifier.in_features == 4096
    # kuangliu ResNet18 on CIFAR-10 (3 channels) has 11,173,962 parameters
    assert sum(p.numel() for p in models.ResNet18(in_channels=3).parameters()) == 11_173_962


def test_quick_fnn_law_and_tracker_overhead(tmp_path):
    from reproduce import law_fnn

    result = law_fnn.main(["--quick", "--threads", "1", "--epochs", "100", "--out", str(tmp_path)])
    final = result["final"]
    assert final["epoch"] == 100 and len(final["fuzziness"]) == 8  # input + 7 blocks (depth 8)
    assert final["pearson_r"] <= -0.9
    assert result["identical_weights"]
    assert result["measurements"] == 11
    assert (tmp_path / "history.csv").is_file() and (tmp_path / "results.json").is_file()


@slow
def test_quick_resnet_and_vgg_law(tmp_path):
    from reproduce import law_cnn

    rows = law_cnn.main(["--quick", "--threads", "1", "--out", str(tmp_path)])
    by_model = {r["model"]: r for r in rows}
    assert by_model["gresnet-basic"]["pearson_r"] <= -0.9
    assert by_model["gresnet-basic"]["points"] == 5
    assert by_model["vgg13"]["points"] == 13
    assert (tmp_path / "table.md").is_file()


@slow
def test_quick_minority_collapse(tmp_path):
    from reproduce import minority_collapse

    rows = minority_collapse.main(["--quick", "--threads", "1", "--out", str(tmp_path)])
    cos = {r["ratio"]: r["minority_cos"] for r in rows}
    assert cos[1000] > cos[1]
    assert rows[0]["lpm_minority_cos"] == pytest.approx(-1 / 9, abs=1e-3)
