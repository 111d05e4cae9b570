#!/usr/bin/env python3
"""Images/s of the ONNX runner (tract) against PyTorch CPU inference, on the same models.

    python scripts/bench_onnx.py [--images 2000] [--chunk 64] [--threads N] [--repeats 3]

For the small ResNet of the test fixtures and a ResNet18 (CIFAR-style: 3x3 stem, stages of
64/128/256/512 channels, 2 basic blocks each), both with random weights and 32x32 inputs, it

1. exports the model with PyTorch's TorchScript-based exporter (dynamic batch axis) to a
   temporary folder;
2. times PyTorch CPU inference (eval mode, no_grad, the same chunk size and thread count) with
   forward hooks on the same layers the runner promotes (input, stem ReLU, each residual block's
   output ReLU, the flattened pooled features), each hook keeping its output flattened per
   sample as a measurement would;
3. times `cargo run --profile PROFILE -p layerlaw-onnx --example bench_onnx` on the exported file
   (every default layer promoted to an output);

and prints images/s of both and the ratio tract / PyTorch. Best of --repeats runs each, on the
same deterministic pseudo-random inputs in distribution (uniform in [-1, 1)).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx_fixtures import ResNet  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_images_per_s(model, x, chunk, repeats):
    """Best-of-repeats images/s of PyTorch inference with hooks on the paper's layers."""
    kept = []

    def hook(_mod, _inp, out):
        kept.append(out.reshape(out.shape[0], -1))

    modules = dict(model.named_modules())
    handles = [modules[name].register_forward_hook(hook) for name in model.default]
    best = 0.0
    with torch.no_grad():
        model(x[:chunk])
        for _ in range(repeats):
            t = time.perf_counter()
            for start in range(0, x.shape[0], chunk):
                kept.clear()
                kept.append(x[start:start + chunk].reshape(min(chunk, x.shape[0] - start), -1))
                model(x[start:start + chunk])
            best = max(best, x.shape[0] / (time.perf_counter() - t))
    for h in handles:
        h.remove()
    return best


def tract_images_per_s(path, images, chunk, threads, repeats, profile):
    cmd = ["cargo", "run", "--profile", profile, "-q", "-p", "layerlaw-onnx", "--example", "bench_onnx", "--",
           path, str(images), str(chunk), str(threads), str(repeats)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    print("    " + "\n    ".join(out.strip().splitlines()))
    return float(re.findall(r"^images_per_s=([0-9.]+)$", out, re.M)[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=64)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--models", default="small,resnet18", help="comma-separated: small, resnet18")
    p.add_argument("--cargo-profile", default="release",
                   help="cargo profile of the Rust example (dev: dependencies at opt-level 3, debug assertions on)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(a.images, 3, 32, 32, generator=g) * 2 - 1
    all_models = {
        "small": ("small ResNet (8/16 channels, 2 blocks)", ResNet),
        "resnet18": ("ResNet18 (64-512 channels, 8 blocks)",
                     lambda: ResNet(widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), classes=10)),
    }
    models = {all_models[k][0]: all_models[k][1]() for k in a.models.split(",")}
    print(f"torch {torch.__version__}, {a.threads} threads, {a.images} images 3x32x32, chunk {a.chunk}, "
          f"cargo profile {a.cargo_profile}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, model in models.items():
            model.eval()
            path = os.path.join(tmp, "model.onnx")
            torch.onnx.export(model, (x[:2],), path, dynamo=False, opset_version=17, input_names=["x"],
                              output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
            pt = torch_images_per_s(model, x, a.chunk, a.repeats)
            print(f"{label}: PyTorch {pt:.1f} images/s")
            tr = tract_images_per_s(path, a.images, a.chunk, a.threads, a.repeats, a.cargo_profile)
            print(f"{label}: tract {tr:.1f} images/s, ratio tract/PyTorch {tr / pt:.2f}")


if __name__ == "__main__":
    main()
