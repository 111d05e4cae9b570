"""Every layer's features of a torch model, collected with forward hooks over a DataLoader and
fed batch by batch to a layerlaw.Accumulator; then the same numbers from the saved features
with `layerlaw measure --json` (when the CLI is found) and with layerlaw.measure.

Usage: python examples/torch_hooks.py [--cli PATH/TO/layerlaw] [--out features.npz]
Runs on CPU in a few seconds (synthetic 10-class data, a small trained MLP).
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import layerlaw

torch.manual_seed(0)
K, P, N = 10, 32, 4000

# --- A small model trained for a few epochs on synthetic clustered data. ---------------------
centres = 0.6 * torch.randn(K, P)
labels = torch.arange(N) % K
inputs = centres[labels] + torch.randn(N, P)
data = TensorDataset(inputs, labels)
model = nn.Sequential(
    nn.Sequential(nn.Linear(P, 64), nn.ReLU()),
    nn.Sequential(nn.Linear(64, 64), nn.ReLU()),
    nn.Sequential(nn.Linear(64, 64), nn.ReLU()),
    nn.Sequential(nn.Linear(64, 64), nn.ReLU()),
    nn.Linear(64, K),
)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(30):
    for xb, yb in DataLoader(data, batch_size=128, shuffle=True):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
model.eval()

# --- Forward hooks: every block's output goes into the accumulator, batch by batch. ----------
blocks = {f"block{i}": model[i] for i in range(4)}
acc = layerlaw.Accumulator(["input", *blocks], classes=K)
current_labels = None


def hook(name):
    def record(module, args, output):
        acc.update(name, output.detach().cpu().numpy(), current_labels)

    return record


handles = [module.register_forward_hook(hook(name)) for name, module in blocks.items()]
with torch.no_grad():
    for xb, yb in DataLoader(data, batch_size=256):
        current_labels = yb.numpy()
        acc.update("input", xb.numpy(), current_labels)
        model(xb)
for h in handles:
    h.remove()
streamed = acc.result()
print("streamed over the DataLoader (Accumulator):")
for layer in streamed.layers:
    print(f"  {layer.name:<7} dim {layer.dim:3d}  D = {layer.fuzziness:.6f}  NC1 = {layer.nc1:.6f}")
law = streamed.law
print(f"  law: ln D_l = {law.intercept:.4f} + {law.slope:.4f} l, rho = {law.rho:.4f}, Pearson r = {law.pearson_r:.4f}")

# --- The same features saved to a file and measured again. -----------------------------------
ap = argparse.ArgumentParser()
ap.add_argument("--cli", default=os.environ.get("LAYERLAW_BIN") or shutil.which("layerlaw"))
ap.add_argument("--out", default=os.path.join(tempfile.mkdtemp(), "features.npz"))
args = ap.parse_args()
feats = {"input": [], **{name: [] for name in blocks}}
with torch.no_grad():
    for xb, _ in DataLoader(data, batch_size=256):
        h = xb
        feats["input"].append(h.numpy())
        for i, name in enumerate(blocks):
            h = model[i](h)
            feats[name].append(h.numpy())
arrays = {name: np.concatenate(v) for name, v in feats.items()}
# Keys sort naturally in layer order ("0_input", "1_block0", ...), as the CLI reads them.
np.savez(args.out, labels=labels.numpy(), **{f"{i}_{name}": a for i, (name, a) in enumerate(arrays.items())})
batch = layerlaw.measure(arrays, labels.numpy())
worst = max(abs(a.fuzziness - b.fuzziness) / b.fuzziness for a, b in zip(streamed.layers, batch.layers))
print(f"layerlaw.measure on all features at once: largest relative difference in D = {worst:.1e}")
if args.cli:
    out = subprocess.run([args.cli, "measure", args.out, "--json"], check=True, capture_output=True, text=True)
    cli = json.loads(out.stdout)
    worst = max(abs(a.fuzziness - c["fuzziness"]) / c["fuzziness"] for a, c in zip(streamed.layers, cli["layers"]))
    print(f"`layerlaw measure {os.path.basename(args.out)} --json`: largest relative difference in D = {worst:.1e}, "
          f"rho {cli['law']['rho']:.6f} vs {streamed.law.rho:.6f}")
else:
    print("(layerlaw CLI not found: pass --cli PATH or set LAYERLAW_BIN to compare with `layerlaw measure`)")
