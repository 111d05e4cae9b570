"""Every layer of a PyTorch model over a whole DataLoader: the README's example, as written there.

Usage: python examples/torch_measure.py   (CPU, a few seconds; needs torch)
"""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import layerlaw.torch

torch.manual_seed(0)
y = torch.arange(4000) % 10
x = 0.8 * torch.randn(10, 64)[y] + torch.randn(4000, 64)  # 10 noisy classes
model = nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.ReLU()) for _ in range(4)], nn.Linear(64, 10))
report = layerlaw.torch.measure(model, DataLoader(TensorDataset(x, y), batch_size=256))
for layer in report.layers:
    print(f"{layer.name:>5}  p = {layer.dim:3d}  D = {layer.fuzziness:.4f}  NC1 = {layer.nc1:.4f}")
print(f"rho = {report.law.rho:.4f}, Pearson r = {report.law.pearson_r:.4f}, NC4 = {report.classifier.nc4:.4f}")
