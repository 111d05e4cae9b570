#!/usr/bin/env python3
"""PyTorch CPU baseline for `cargo run --release -p layerlaw-train --example bench_train`.

Trains the same GFNN as layerlaw-train (Linear->BN1d->ReLU blocks, Linear classifier) with
SGD + momentum 0.9, weight decay 5e-4, batch 128 (reshuffled every epoch, last partial batch kept),
lr /10 at E/3 and /100 from 2E/3, on float32 data read from raw little-endian files written by
the Rust bench. Batches are drawn with torch.randperm and index slicing (cheaper than a
DataLoader, so this is a strict baseline). Prints one JSON line with the timing.

Usage: train_torch.py --x X.f32 --y Y.u32 --n N --dim D --classes K
                      [--depth 8] [--width 100] [--epochs 600] [--lr 0.01] [--threads 1]
"""
import argparse
import json
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--classes", type=int, required=True)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--width", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=600)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(666)
    x = torch.from_numpy(np.fromfile(a.x, dtype="<f4").reshape(a.n, a.dim).copy())
    y = torch.from_numpy(np.fromfile(a.y, dtype="<u4").astype(np.int64))

    layers, fan_in = [], a.dim
    for _ in range(a.depth - 1):
        layers += [torch.nn.Linear(fan_in, a.width), torch.nn.BatchNorm1d(a.width), torch.nn.ReLU()]
        fan_in = a.width
    layers.append(torch.nn.Linear(fan_in, a.classes))
    model = torch.nn.Sequential(*layers)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    steps = 0
    start = time.perf_counter()
    for epoch in range(a.epochs):
        lr = a.lr if epoch < a.epochs // 3 else (a.lr * 0.1 if epoch < 2 * a.epochs // 3 else a.lr * 0.01)
        for g in opt.param_groups:
            g["lr"] = lr
        perm = torch.randperm(a.n)
        total = 0.0
        for s in range(0, a.n, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            steps += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "steps": steps, "final_loss": total / a.n,
                      "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
