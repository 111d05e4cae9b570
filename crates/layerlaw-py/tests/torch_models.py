"""Models, data and the stored-feature reference shared by the ``test_torch_*`` suites.

The reference is independent of ``layerlaw.torch``: forward hooks store every measured
layer's output for the whole loader (float64 NumPy, conv maps flattened, tokens selected by
the padding mask), and ``reference.fuzziness_svd`` / ``reference.nc1_svd`` (float64 NumPy
thin SVD, checked against the dense ``scipy.linalg.pinv`` method in ``reference.py``)
compute D and NC1 from them. Written for torch 2.15.0, torchvision 0.29.2, numpy 2.4.6.
"""

import gzip
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
SLICE = os.path.join(HERE, "..", "..", "layerlaw-data", "embedded", "fashion-mnist-slice")


def fashion_mnist_slice(n, size=32):
    """The first ``n`` test images of the embedded Fashion-MNIST slice, zero-padded from 28x28
    to ``size`` x ``size``, scaled to [0, 1], shape (n, 1, size, size); and their labels."""
    with gzip.open(os.path.join(SLICE, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    with gzip.open(os.path.join(SLICE, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    pad = (size - 28) // 2
    x = np.zeros((n, 1, size, size), dtype=np.float32)
    x[:, 0, pad:pad + 28, pad:pad + 28] = images / 255.0
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def clustered(n, k, p, seed=0, spread=1.5):
    """Gaussian clusters: ``x = spread * c_y + noise`` (n x p float32), labels ``i % k``."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, p, generator=g)
    y = torch.arange(n) % k
    return spread * centres[y] + torch.randn(n, p, generator=g), y


def mlp(p, k, width=32, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Sequential(nn.Linear(p, width), nn.ReLU()),
        nn.Sequential(nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU()),
        nn.Sequential(nn.Linear(width, width), nn.Tanh()),
        nn.Linear(width, k),
    )


def small_cnn(k, seed=0):
    torch.manual_seed(seed)

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(1, 4), block(4, 8), block(8, 8), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, k))


class BasicBlock(nn.Module):
    """The residual block of He et al. (2016), as torchvision's ``BasicBlock``."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TinyResNet(nn.Module):
    """A ResNet of BasicBlocks with the CIFAR stem (3x3, stride 1), small widths."""

    def __init__(self, k, widths=(4, 8), seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            layers.append(nn.Sequential(BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
            cin = w
        self.layer1, self.layer2 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, k)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torchvision_resnet18(k, seed=0):
    """torchvision's ResNet18 with random weights for 1-channel 32x32 images (3x3 stride-1
    stem, no max-pool), so the first blocks have 64*32*32 = 65,536 features."""
    import torchvision

    torch.manual_seed(seed)
    m = torchvision.models.resnet18(num_classes=k)
    m.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


class Encoder(nn.Module):
    """A small ``nn.TransformerEncoder`` over float token features with a padding mask."""

    def __init__(self, d=16, layers=2, nested=False, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        layer = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=nested)

    def forward(self, x, src_key_padding_mask=None):
        return self.encoder(x, src_key_padding_mask=src_key_padding_mask)


def token_batches(n, t, d, k, batch, seed=0, token_labels=True):
    """Dict batches ``{"x", "src_key_padding_mask", "labels"}`` of variable-length sequences;
    labels per token (``-100`` at padding) or per sequence."""
    g = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(k, d, generator=g)
    out = []
    for s in range(0, n, batch):
        b = min(batch, n - s)
        lengths = torch.randint(2, t + 1, (b,), generator=g)
        pad = torch.arange(t)[None, :] >= lengths[:, None]
        if token_labels:
            y = torch.randint(0, k, (b, t), generator=g)
            y[:, 0] = torch.arange(s, s + b) % k
            x = centres[y] + torch.randn(b, t, d, generator=g)
            y = y.masked_fill(pad, -100)
        else:
            y = torch.arange(s, s + b) % k
            x = centres[y][:, None, :] + torch.randn(b, t, d, generator=g)
        out.append({"x": x, "src_key_padding_mask": pad, "labels": y})
    return out


def stored_features(model, loader, names, input_layer=True, tokens=None):
    """Every named module's output over the loader, as float64 NumPy (n x p), in order, and
    the labels. ``tokens``: None (flatten per sample), "tokens" (rows of real tokens) or
    "mean" (masked mean per sequence)."""
    modules = dict(model.named_modules())
    store = {n: [] for n in names}
    current = {}

    def rows(t):
        if t.is_nested:  # fused transformer layers: padded to the longest real sequence
            t = t.to_padded_tensor(0.0)
            steps = current["pad"].shape[1]
            if t.shape[1] < steps:
                t = torch.cat([t, t.new_zeros(t.shape[0], steps - t.shape[1], *t.shape[2:])], 1)
        if tokens is None:
            return t.reshape(t.shape[0], -1)
        keep = ~current["pad"]
        if tokens == "tokens":
            return t[keep & (current["y"] != -100)]
        w = keep.to(t.dtype)[..., None]
        return (t * w).sum(1) / w.sum(1)

    hooks = [modules[n].register_forward_hook(
        lambda m, a, out, n=n: store[n].append(rows(out.detach()).double().numpy())) for n in names]
    xs, ys = [], []
    model.eval()
    try:
        with torch.no_grad():
            for batch in loader:
                if isinstance(batch, dict):
                    current["pad"], current["y"] = batch["src_key_padding_mask"], batch["labels"]
                    y = batch["labels"]
                    if tokens == "tokens":
                        y = y[~batch["src_key_padding_mask"] & (y != -100)]
                    xs.append(rows(batch["x"]).double().numpy())
                    model(batch["x"], src_key_padding_mask=batch["src_key_padding_mask"])
                else:
                    x, y = batch
                    xs.append(x.reshape(x.shape[0], -1).double().numpy())
                    model(x)
                ys.append(y.numpy())
    finally:
        for h in hooks:
            h.remove()
    feats = ([("input", np.concatenate(xs))] if input_layer else []) + [(n, np.concatenate(store[n])) for n in names]
    return feats, np.concatenate(ys)
