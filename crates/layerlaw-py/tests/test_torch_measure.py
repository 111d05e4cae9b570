"""layerlaw.torch.measure equals float64 NumPy on the stored features of the same layers.

Reference (independent of layerlaw.torch, see ``torch_models.stored_features``): hook the
same modules, store every output for the whole loader as float64 NumPy, then

    D   = reference.fuzziness_svd(X, y, K)   # thin SVD of the weighted class means
    NC1 = reference.nc1_svd(X, y, K)

(checked in test_measure.py against ``np.trace(Sw @ scipy.linalg.pinv(Sb))``). Agreement is
required to 1e-9 relative. Written for torch 2.15.0, torchvision 0.29.2, numpy 2.4.6.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="layerlaw.torch needs torch (pip install torch)")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import layerlaw  # noqa: E402
import layerlaw.torch as lt  # noqa: E402
import reference  # noqa: E402
import torch_models as tm  # noqa: E402

RTOL = 1e-9


def assert_matches_reference(layers, feats, y, k):
    assert [layer.name for layer in layers] == [n for n, _ in feats]
    for layer, (name, x) in zip(layers, feats):
        assert layer.dim == x.shape[1] and layer.num_samples == x.shape[0], name
        d = reference.fuzziness_svd(x, y, k)
        nc1 = reference.nc1_svd(x, y, k)
        assert layer.fuzziness == pytest.approx(d, rel=RTOL), name
        assert layer.nc1 == pytest.approx(nc1, rel=RTOL), name
        np.testing.assert_allclose(layer.class_means, reference.class_means(x, y, k), rtol=1e-9, atol=1e-12)


def test_mlp_default_layers_classifier_and_one_pass():
    k = 4
    x, y = tm.clustered(600, k, 8)
    model = tm.mlp(8, k)
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    report = lt.measure(model, loader, num_classes=k, progress=False)
    # The paper's layers: input, then each block of the Sequential; the logits Linear is left out.
    assert [layer.name for layer in report.layers] == ["input", "0", "1", "2"]
    feats, labels = tm.stored_features(model, loader, ["0", "1", "2"])
    assert_matches_reference(report.layers, feats, labels, k)
    # The logits Linear was found: NC3/NC4 equal layerlaw.measure's on the stored features.
    batch = layerlaw.measure(dict(feats), labels, classifier_weight=model[3].weight.detach().numpy(),
                             classifier_bias=model[3].bias.detach().numpy())
    assert report.classifier is not None
    assert report.classifier.nc3 == pytest.approx(batch.classifier.nc3, rel=1e-9)
    for field in ("nc4", "classifier_accuracy", "ncc_accuracy"):
        assert getattr(report.classifier, field) == getattr(batch.classifier, field), field
    assert report.law.rho == pytest.approx(batch.law.rho, rel=1e-9)
    # One pass through the p x p Accumulator gives the same numbers.
    once = lt.measure(model, loader, num_classes=k, passes=1, progress=False)
    np.testing.assert_allclose(once.fuzziness, report.fuzziness, rtol=1e-9)
    model.train()
    lt.measure(model, loader, num_classes=k, progress=False, classifier=False)
    assert model.training, "the model's mode is restored"


def test_small_cnn_on_fashion_mnist():
    x, y = tm.fashion_mnist_slice(200)
    model = tm.small_cnn(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=48)
    report = lt.measure(model, loader, num_classes=10, progress=False)
    names = [layer.name for layer in report.layers[1:]]
    assert names == ["0", "1", "2", "3"]  # the Flatten repeats the pooled features: left out
    feats, labels = tm.stored_features(model, loader, names)
    assert_matches_reference(report.layers, feats, labels, 10)
    assert report.layers[1].dim == 4 * 16 * 16


def test_resnet_of_basic_blocks_stem_blocks_and_pooled_features():
    x, y = tm.fashion_mnist_slice(120)
    model = tm.TinyResNet(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=40)
    info = lt.layers(model, next(iter(loader)))
    chosen = [i.name for i in info if i.default]
    assert chosen == ["relu", "layer1.0", "layer1.1", "layer2.0", "layer2.1", "avgpool"]
    report = lt.measure(model, loader, progress=False)
    feats, labels = tm.stored_features(model, loader, chosen)
    assert_matches_reference(report.layers, feats, labels, 10)
    # Glob patterns stay inside one dotted component: blocks, not their convolutions.
    blocks = lt.measure(model, loader, "layer*.*", input_layer=False, progress=False, classifier=False)
    assert [layer.name for layer in blocks.layers] == ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]
    np.testing.assert_allclose(blocks.fuzziness, report.fuzziness[2:6], rtol=1e-12)


def test_torchvision_resnet18_every_block_at_32x32():
    pytest.importorskip("torchvision", reason="the torchvision ResNet18 check needs torchvision")
    x, y = tm.fashion_mnist_slice(100)
    model = tm.torchvision_resnet18(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=50)
    report = lt.measure(model, loader, progress=False)
    names = [layer.name for layer in report.layers]
    assert names == ["input", "maxpool"] + [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)] + ["avgpool"]
    assert report["layer1.0"].dim == 65_536
    # Reference on a few layers (all of them would hold 100 x 600k float64 in memory).
    check = ["layer1.0", "layer3.1", "avgpool"]
    feats, labels = tm.stored_features(model, loader, check, input_layer=False)
    assert_matches_reference([report[n] for n in check], feats, labels, 10)
    assert report.classifier is not None  # model.fc, 512 -> 10, found


@pytest.mark.parametrize("nested", [False, True])
def test_transformer_encoder_token_level_with_padding(nested):
    k = 3
    batches = tm.token_batches(60, 7, 16, k, batch=16, seed=1)
    model = tm.Encoder(nested=nested)
    report = lt.measure(model, batches, num_classes=k, progress=False)
    names = [layer.name for layer in report.layers]
    assert names == ["input", "encoder.layers.0", "encoder.layers.1"]
    feats, labels = tm.stored_features(model, batches, names[1:], tokens="tokens")
    real = sum(int((~b["src_key_padding_mask"]).sum()) for b in batches)
    assert report.n == real == len(labels)
    assert_matches_reference(report.layers, feats, labels, k)


def test_transformer_encoder_pooled_per_sequence():
    k = 3
    batches = tm.token_batches(90, 6, 16, k, batch=20, seed=2, token_labels=False)
    model = tm.Encoder()
    report = lt.measure(model, batches, sequence="mean", num_classes=k, progress=False)
    feats, labels = tm.stored_features(model, batches, ["encoder.layers.0", "encoder.layers.1"], tokens="mean")
    assert report.n == 90
    assert_matches_reference(report.layers, feats, labels, k)
    first = lt.measure(model, batches, "encoder.layers.1", sequence="first", input_layer=False, progress=False)
    # The first token of each sequence, from a hook as in measure (torch's fused encoder-layer
    # kernel, taken when no hook is attached, rounds differently).
    model.eval()
    seen = []
    hook = model.encoder.layers[1].register_forward_hook(lambda m, a, out: seen.append(out[:, 0].double().numpy()))
    with torch.no_grad():
        for b in batches:
            model(b["x"], src_key_padding_mask=b["src_key_padding_mask"])
    hook.remove()
    rows = np.concatenate(seen)
    assert first.layers[0].fuzziness == pytest.approx(reference.fuzziness_svd(rows, labels, k), rel=RTOL)


def test_tuple_and_dict_outputs_by_index_and_key():
    class Tuple(torch.nn.Module):
        def forward(self, h):
            return torch.tanh(h), h.sum()

    class Output(dict):
        """A Hugging Face ModelOutput-like mapping."""

    class Dict(torch.nn.Module):
        def forward(self, h):
            return Output(pooler=h[:, :3], last_hidden_state=h * h)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(6, 6)
            self.tup = Tuple()
            self.dic = Dict()

        def forward(self, x):
            return self.dic(self.tup(self.lin(x))[0])["last_hidden_state"]

    torch.manual_seed(0)
    x, y = tm.clustered(300, 3, 6, seed=3)
    loader = DataLoader(TensorDataset(x, y), batch_size=50)
    net = Net()
    with torch.no_grad():
        h32 = torch.tanh(net.lin(x))
        h, hh = h32.double().numpy(), (h32 * h32).double().numpy()
    labels = y.numpy()
    got = lt.measure(net, loader, ["tup", "dic"], input_layer=False, progress=False)
    assert got["tup"].fuzziness == pytest.approx(reference.fuzziness_svd(h, labels, 3), rel=RTOL)
    assert got["dic"].fuzziness == pytest.approx(reference.fuzziness_svd(hh, labels, 3), rel=RTOL)
    keyed = lt.measure(net, loader, ["tup", "dic"], output={"tup": 0, "dic": "pooler"}, input_layer=False, progress=False)
    assert keyed["tup"].fuzziness == got["tup"].fuzziness
    assert keyed["dic"].fuzziness == pytest.approx(reference.fuzziness_svd(h[:, :3], labels, 3), rel=RTOL)
    with pytest.raises(ValueError, match="choose a tensor one"):
        lt.measure(net, loader, ["dic"], output="missing", input_layer=False, progress=False)


def test_wide_layer_in_bounded_state_and_one_pass_refusal():
    k = 4
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 64, 3, padding=1), torch.nn.ReLU())
    x, y = tm.fashion_mnist_slice(64)
    y = y % k
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    st = lt.pass1(model, loader, "1", num_classes=k, input_layer=False, progress=False)
    assert st.pass1[0].dim == 65_536
    # The whole pass-1 state of the 65,536-wide layer: K counts and K x p sums.
    assert len(st.pass1[0].to_bytes()) < 8 * k * 65_536 + 1024
    report = lt.finish(lt.pass2(model, loader, st, progress=False))
    feats, labels = tm.stored_features(model, loader, ["1"], input_layer=False)
    assert_matches_reference(report.layers, feats, labels, k)
    with pytest.raises(ValueError, match="passes=2"):
        lt.measure(model, loader, "1", num_classes=k, passes=1, input_layer=False, progress=False)


_PEAK = r'''
import resource, sys, torch
from torch.utils.data import DataLoader, TensorDataset
sys.path.insert(0, {here!r})
import torch_models as tm
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
x, y = tm.fashion_mnist_slice(512)
loader = DataLoader(TensorDataset(x, y % 4), batch_size=32)
if {mode!r} == "inference":
    with torch.no_grad():
        for xb, _ in loader:
            model(xb)
            model(xb)
else:
    import layerlaw.torch as lt
    rep = lt.measure(model, loader, "1", num_classes=4, input_layer=False, progress=False)
    assert rep.layers[0].dim == 65536
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
'''


def test_wide_layer_peak_memory_above_inference_is_bounded():
    """Peak RSS of measure on a 65,536-wide layer (512 samples) minus that of plain
    inference stays under 64 MB + the O(pK) statistics, while storing the layer would take
    512 x 65,536 x 4 bytes = 134 MB."""
    import subprocess
    import sys

    import torch_models

    def peak(mode):
        code = _PEAK.format(here=torch_models.HERE, mode=mode)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])

    base, used = peak("inference"), peak("measure")
    stats_mb = 3 * 4 * 65_536 * 8 / 2**20  # sums, means, and the basis
    assert used - base <= 64 + stats_mb, (base, used)
    assert 512 * 65_536 * 4 / 2**20 > 64 + stats_mb
