#!/usr/bin/env python3
"""Cost of ``layerlaw.torch.measure`` on a live ResNet18, against plain inference and the peer path.

Model: torchvision's ResNet18 (random weights, seed 0) for 1-channel 32x32 images (3x3 stride-1
stem, no max-pool), so the stem and layer1 outputs have 64*32*32 = 65,536 features. Data: the
Fashion-MNIST test images (10,000 by default), zero-padded 28 -> 32, batches of 250, from
/usr/share/datasets/fashion-mnist (``apt-get install dataset-fashion-mnist``) or $LAYERLAW_DATA_DIR.

Each mode runs in its own process (peak RSS from ``getrusage``), on the CPU:

  inference   one plain ``model(x)`` pass over the loader, ``torch.no_grad()``, eval mode;
  measure     ``layerlaw.torch.measure`` over every block: input, stem, the 8 BasicBlocks,
              pooled features (11 layers), two passes, classifier metrics from ``fc``;
  ll-peer     ``layerlaw.torch.measure`` on the peer layers only (see below);
  official    the peer path of the official code: hooks store the peer layers' features for
              the whole loader (float32 NumPy), then ``dense_official`` of
              benches/fuzziness_numpy.py (p x p covariances, ``scipy.linalg.pinv``);
  covariance  a K*p^2 accumulator like rhubarbwu/neural-collapse's: pass 1 class means, pass 2
              one p x p within-class covariance per class, in torch float64, then
              ``torch.linalg.pinv`` of the p x p between-class scatter.

The peer layers are those where the peer path fits in memory here: input (1,024), layer4.1
(8,192) and pooled (512) for ``official``; input and pooled for ``covariance`` (K*p^2 f64 is
5 GiB at p = 8,192). Printed ratios:

  (a) measure / inference time (goal <= 2.3x on CPU);
  (b) measure peak RSS above inference, in MB, and the O(pK) statistics it keeps;
  (c) official / ll-peer and covariance / ll-peer, in time and in memory above inference.

``measure`` also runs one forward pass on the first batch to find the layers, so its floor is
2 + (batch size)/n inference passes (2.025 at n = 10,000, 2.5 at n = 500).

Usage: python benches/torch_measure.py [--n 10000] [--threads T] [--modes inference,measure,...]
Needs torch, torchvision, scipy and layerlaw (``pip install ./crates/layerlaw-py[torch]``).
"""

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
K = 10
PEER_OFFICIAL = ["input", "layer4.1", "avgpool"]
PEER_COVARIANCE = ["input", "avgpool"]


def load_images(n):
    root = os.environ.get("LAYERLAW_DATA_DIR", "/usr/share/datasets")
    base = os.path.join(root, "fashion-mnist")
    with gzip.open(os.path.join(base, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    with gzip.open(os.path.join(base, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n].astype(np.int64)
    x = np.zeros((len(images), 1, 32, 32), dtype=np.float32)
    x[:, 0, 2:30, 2:30] = images / 255.0
    return x, labels


def build(n):
    import torch
    import torchvision
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=K)
    model.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    model.eval()
    x, y = load_images(n)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=250)
    return model, loader


def stored(model, loader, names):
    import torch

    modules = dict(model.named_modules())
    store = {n: [] for n in names if n != "input"}
    hooks = [modules[n].register_forward_hook(
        lambda m, a, out, n=n: store[n].append(out.detach().reshape(out.shape[0], -1).numpy().copy())) for n in store]
    xs, ys = [], []
    with torch.no_grad():
        for x, y in loader:
            if "input" in names:
                xs.append(x.reshape(x.shape[0], -1).numpy().copy())
            ys.append(y.numpy())
            model(x)
    for h in hooks:
        h.remove()
    feats = ({"input": np.concatenate(xs)} if "input" in names else {})
    feats.update({n: np.concatenate(v) for n, v in store.items()})
    return feats, np.concatenate(ys)


def covariance_peer(model, loader, names):
    """Two passes: class means, then K within-class p x p covariances per layer (float64)."""
    import torch

    modules = dict(model.named_modules())
    sums, covs, counts = {}, {}, torch.zeros(K, dtype=torch.float64)
    means = {}
    cur = {}

    def rows(n, out):
        return out.detach().reshape(out.shape[0], -1).double()

    def add1(n, f):
        y = cur["y"]
        if n not in sums:
            sums[n] = torch.zeros(K, f.shape[1], dtype=torch.float64)
        sums[n].index_add_(0, y, f)

    def add2(n, f):
        y = cur["y"]
        if n not in covs:
            covs[n] = torch.zeros(K, f.shape[1], f.shape[1], dtype=torch.float64)
        for c in range(K):
            z = f[y == c] - means[n][c]
            covs[n][c] += z.T @ z

    for step in (add1, add2):
        hooks = [modules[n].register_forward_hook(lambda m, a, out, n=n: step(n, rows(n, out)))
                 for n in names if n != "input"]
        with torch.no_grad():
            for x, y in loader:
                cur["y"] = y
                if step is add1:
                    counts += torch.bincount(y, minlength=K).double()
                if "input" in names:
                    step("input", x.reshape(x.shape[0], -1).double())
                model(x)
        for h in hooks:
            h.remove()
        if step is add1:
            means = {n: s / counts[:, None] for n, s in sums.items()}
    out = {}
    for n in means:
        mu = means[n]
        sw = covs[n].sum(0) / counts.sum()
        d = mu - mu.mean(0)
        sb = d.T @ d / K
        out[n] = float(torch.trace(sw @ torch.linalg.pinv(sb)))
    return out


def run_mode(mode, n):
    import torch

    sys.path.insert(0, HERE)
    model, loader = build(n)
    t0 = time.perf_counter()
    extra = {}
    if mode == "inference":
        with torch.no_grad():
            for x, _ in loader:
                model(x)
    elif mode in ("measure", "ll-peer"):
        import layerlaw.torch as lt

        layers = None if mode == "measure" else [m for m in PEER_OFFICIAL if m != "input"]
        rep = lt.measure(model, loader, layers, num_classes=K, progress=False)
        extra = {"layers": [layer.name for layer in rep.layers], "D": list(rep.fuzziness),
                 "stats_mb": sum(8 * K * layer.dim for layer in rep.layers) / 1e6}
    elif mode == "official":
        from fuzziness_numpy import dense_official

        feats, y = stored(model, loader, PEER_OFFICIAL)
        extra = {"D_balanced": {name: dense_official(x, y, K) for name, x in feats.items()}}
    elif mode == "covariance":
        extra = {"NC1xK": covariance_peer(model, loader, PEER_COVARIANCE)}
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_rss_mb": rss_mb, **extra}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="test images (default 10,000)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--modes", default="inference,measure,ll-peer,official,covariance")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.mode:
        return run_mode(args.mode, args.n)
    res = {}
    for mode in args.modes.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--mode", mode, "--n", str(args.n)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        res[mode] = json.loads(out.strip().splitlines()[-1])
        print(f"{mode:>10}: {res[mode]['seconds']:8.2f} s, peak RSS {res[mode]['peak_rss_mb']:8.1f} MB", flush=True)
    base = res["inference"]
    if "measure" in res:
        m = res["measure"]
        print(f"(a) measure / inference time = {m['seconds'] / base['seconds']:.2f}x over {len(m['layers'])} layers")
        print(f"(b) measure peak RSS above inference = {m['peak_rss_mb'] - base['peak_rss_mb']:.1f} MB "
              f"(O(pK) statistics: K x p float64 sums of all layers = {m['stats_mb']:.1f} MB)")
    if "ll-peer" in res:
        ll = res["ll-peer"]
        ll_mem = max(ll["peak_rss_mb"] - base["peak_rss_mb"], 1.0)
        for peer in ("official", "covariance"):
            if peer in res:
                p = res[peer]
                print(f"(c) {peer} / layerlaw on the peer layers: time {p['seconds'] / ll['seconds']:.2f}x, "
                      f"memory above inference {(p['peak_rss_mb'] - base['peak_rss_mb']) / ll_mem:.1f}x "
                      f"({p['peak_rss_mb'] - base['peak_rss_mb']:.0f} MB vs {ll_mem:.0f} MB)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
