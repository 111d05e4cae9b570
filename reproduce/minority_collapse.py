"""Minority Collapse in trained VGG11 / ResNet18 against the Layer-Peeled Model (Fang, He, Long
& Su, PNAS 2021), in PyTorch.

Step imbalance on Fashion-MNIST at 32x32: the first K_A = 5 classes keep n_A training images,
the other five n_B = max(1, ⌊n_A / R⌋), for R in ``--ratios``; the full test set. The paper's
training (official code ``HornHehhf/LPM``): cross-entropy, SGD lr 0.1, momentum 0.9, weight
decay 5e-4, batch 128, 350 epochs, lr ÷10 at epoch 116 and ÷100 from 233, n_A = 6,000, seed 666.
Oversampling (``--oversample W``, the official ``weight_ratio``) visits every minority example W
times per epoch. For each run: test accuracy overall, on majority and on minority classes, the
mean pairwise cosine of the minority (and majority) classifier rows and their norms, NC1 of the
last-layer training features, beside the LPM's minority cosine for the same counts (E_W = 1,
E_H = 5 by default). Writes ``table.md``, ``results.json`` and the cosine and accuracy plots
against R.

    python -m reproduce.minority_collapse --quick       # ~1-2 min on 2 CPU cores
    python -m reproduce.minority_collapse --model resnet18   # paper settings on CUDA
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from layerlaw import lpm
from layerlaw.tracker import LawTracker

from . import common, data, models

K_MAJOR = 5


def build(name: str, width: float) -> torch.nn.Module:
    """VGG11 or ResNet18 for one-channel 32x32 inputs and 10 classes."""
    if name == "vgg11":
        return models.VGG11(1, 10, width=width)
    if name == "resnet18":
        return models.ResNet18(1, 10, width=width)
    raise ValueError(f"unknown model {name!r}: expected vgg11 or resnet18")


def classifier_geometry(weight: np.ndarray, minority: List[int]) -> Dict[str, float]:
    """Mean pairwise cosine and mean norm of the minority and of the majority classifier rows."""
    w = np.asarray(weight, dtype=np.float64)
    norms = np.linalg.norm(w, axis=1)
    out: Dict[str, float] = {}
    groups = {"minority": minority, "majority": [k for k in range(len(w)) if k not in minority]}
    for group, rows in groups.items():
        u = w[rows] / norms[rows, None]
        c = u @ u.T
        out[f"{group}_cos"] = float(c[~np.eye(len(rows), dtype=bool)].mean())
        out[f"{group}_norm"] = float(norms[rows].mean())
    return out


def run_one(name: str, ratio: float, oversample: int, args: argparse.Namespace, ds: data.Dataset,
            dev: torch.device) -> Dict[str, Any]:
    """Trains one network at imbalance ``ratio`` and returns its measurements."""
    common.setup(args.seed, None, str(dev))
    counts = data.step_imbalance(args.n_major, ratio, K_MAJOR)
    idx = data.class_subset(ds.train.labels, counts, args.seed)
    x = data.preprocess(ds.train.images[idx], 32, "fashion-mnist")
    y = torch.from_numpy(ds.train.labels[idx].copy())
    xt = data.preprocess(ds.test.images, 32, "fashion-mnist")
    yt = torch.from_numpy(ds.test.labels.copy())
    minority = list(range(K_MAJOR, 10))
    order = None
    if oversample > 1:
        extra = torch.nonzero(y >= K_MAJOR).flatten().repeat(oversample - 1)
        order = torch.cat([torch.arange(len(y)), extra])
    model = build(name, args.width).to(dev)
    opt = common.make_optimizer(model, "momentum", args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    clock = common.timer()
    for epoch in range(args.epochs):
        for g in opt.param_groups:
            g["lr"] = common.lr_at(epoch, args.epochs, args.lr)
        common.train_epoch(model, x, y, opt, 128, gen, dev, order=order)
    seconds = clock()
    pred = common.predict(model, xt, dev)
    train_pred = common.predict(model, x, dev)
    last_name, last = list(model.law_layers().items())[-1]
    tracker = LawTracker(model, (x, y), layers={last_name: last}, input_layer=False, num_classes=10,
                         classifier=model.classifier, minority=minority)
    row = tracker.measure(args.epochs)
    geometry = classifier_geometry(model.classifier.weight.detach().cpu().numpy(), minority)
    effective = counts[0] / (counts[-1] * max(1, oversample))
    sol = lpm.solve(counts=[float(c) for c in counts], minority_weight=float(max(1, oversample)),
                    ew=args.ew, eh=args.eh, minority_classes=minority)
    return {
        "model": name, "ratio": ratio, "n_major": counts[0], "n_minor": counts[-1], "oversample": oversample,
        "effective_ratio": effective, "epochs": args.epochs, "train_acc": common.accuracy(train_pred, y),
        "test_acc": common.accuracy(pred, yt), "majority_acc": common.accuracy(pred, yt, range(K_MAJOR)),
        "minority_acc": common.accuracy(pred, yt, minority), **geometry, "nc1_last": row["nc1"][0],
        "lpm_minority_cos": sol.minority_cosine, "lpm_minority_collapsed": sol.minority_collapsed,
        "lpm_status": sol.status, "seconds": seconds,
    }


def _plots(rows: List[Dict[str, Any]], out: Path, name: str) -> List[str]:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        print(f"(no plots: matplotlib is not installed: {e})")
        return []
    sweep = [r for r in rows if r["oversample"] <= 1]
    over = [r for r in rows if r["oversample"] > 1]
    ratios = [r["ratio"] for r in sweep]
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(ratios, [r["minority_cos"] for r in sweep], "o-", label=f"{name}: minority classifiers")
    ax.plot(ratios, [r["majority_cos"] for r in sweep], "s-", label=f"{name}: majority classifiers")
    lpm_cos = [np.nan if r["lpm_minority_cos"] is None else r["lpm_minority_cos"] for r in sweep]
    ax.plot(ratios, lpm_cos, "k--", label="LPM minority (E_W=1, E_H=5)")
    for r in over:
        ax.plot([r["ratio"]], [r["minority_cos"]], "r^", label=f"{name}: minority, oversampled x{r['oversample']}")
    ax.set_xscale("log")
    ax.set_xlabel("imbalance ratio R = n_A / n_B")
    ax.set_ylabel("mean pairwise cosine")
    ax.axhline(-1 / 9, color="grey", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title("Minority Collapse")
    fig.savefig(out / f"{name}-cosine.png", dpi=120)
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    for key, marker in (("test_acc", "o-"), ("majority_acc", "s-"), ("minority_acc", "v-")):
        ax.plot(ratios, [r[key] for r in sweep], marker, label=key.replace("_", " "))
    for r in over:
        ax.plot([r["ratio"]], [r["minority_acc"]], "r^", label=f"minority acc, oversampled x{r['oversample']}")
    ax.set_xscale("log")
    ax.set_xlabel("imbalance ratio R")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    fig.savefig(out / f"{name}-accuracy.png", dpi=120)
    return [f"{name}-cosine.png", f"{name}-accuracy.png"]


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=("vgg11", "resnet18"), nargs="+", default=["vgg11"])
    p.add_argument("--ratios", type=float, nargs="+", default=[1, 10, 100, 1000])
    p.add_argument("--n-major", type=int, default=None, help="n_A (paper: 6000; CPU default: 1000)")
    p.add_argument("--epochs", type=int, default=None, help="paper: 350 (CPU default: 30)")
    p.add_argument("--width", type=float, default=None, help="width factor (paper: 1; CPU default: 0.125)")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--oversample", type=int, default=None,
                   help="also train at the largest R with each minority example seen W times per epoch "
                        "(default 10, the official example; --quick: 0 = no such run)")
    p.add_argument("--ew", type=float, default=1.0, help="LPM classifier budget E_W")
    p.add_argument("--eh", type=float, default=5.0, help="LPM feature budget E_H")
    p.add_argument("--seed", type=int, default=666)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, default=Path("out/minority-collapse-torch"))
    p.add_argument("--quick", action="store_true",
                   help="narrow VGG11 on the embedded slice (n_A = 100), 40 epochs, no oversampling run")
    args = p.parse_args(argv)
    if args.quick:
        args.n_major = args.n_major or 100
        args.epochs = args.epochs or 40
        args.width = args.width or 1 / 16
        args.threads = args.threads or 2
        args.oversample = 0 if args.oversample is None else args.oversample
    args.oversample = 10 if args.oversample is None else args.oversample
    dev = common.setup(args.seed, args.threads, args.device)
    notes = common.cpu_reduction(args, dev, {"n_major": 6000, "epochs": 350, "width": 1.0},
                                 {"n_major": 1000, "epochs": 30, "width": 0.125})
    ds = data.embedded_fashion_mnist() if args.quick else data.load("fashion-mnist")
    if ds.embedded and args.n_major > 100:
        raise SystemExit(f"--n-major {args.n_major}: the embedded slice has 100 images per class")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"device: {common.describe_device(dev)}; data: fashion-mnist from {ds.source}")
    for line in notes:
        print(line)
    capped = [r for r in args.ratios if args.n_major // r < 1]
    if capped:
        print(f"n_A = {args.n_major}: n_B = max(1, n_A // R) is capped at 1 for R = {capped}")
    print(f"settings: SGD lr {args.lr:g}, momentum 0.9, weight decay 5e-4, batch 128, {args.epochs} epochs, "
          f"n_A = {args.n_major}, width {args.width:g}; LPM E_W = {args.ew:g}, E_H = {args.eh:g}")
    rows: List[Dict[str, Any]] = []
    for name in args.model:
        runs = [(r, 0) for r in args.ratios] + ([(max(args.ratios), args.oversample)] if args.oversample > 1 else [])
        done: Dict[Any, Dict[str, Any]] = {}
        for ratio, w in runs:
            key = (tuple(data.step_imbalance(args.n_major, ratio, K_MAJOR)), w)
            if key in done:  # n_B capped at 1: the same counts, the same (deterministic) training
                row = {**done[key], "ratio": ratio, "same_as_ratio": done[key]["ratio"]}
            else:
                row = done[key] = run_one(name, ratio, w, args, ds, dev)
            rows.append(row)
            tag = f"R={ratio:g}" + (f" oversampled x{w}" if w > 1 else "")
            if "same_as_ratio" in row:
                tag += f" (the counts of R={row['same_as_ratio']:g}: not retrained)"
            lpm_cos = "n/a" if row["lpm_minority_cos"] is None else f"{row['lpm_minority_cos']:.3f}"
            print(f"{name} {tag}: n_B {row['n_minor']}, test {row['test_acc']:.3f}, majority {row['majority_acc']:.3f}, "
                  f"minority {row['minority_acc']:.3f}; minority cos {row['minority_cos']:+.3f}, "
                  f"majority cos {row['majority_cos']:+.3f}; LPM minority cos {lpm_cos} ({row['seconds']:.1f} s)")
        _plots([r for r in rows if r["model"] == name], args.out, name)
    table = common.markdown_table(
        ["model", "R", "n_B", "oversample", "test acc", "majority acc", "minority acc", "minority cos",
         "majority cos", "minority ‖w‖", "majority ‖w‖", "NC1 (last layer)", "LPM minority cos", "seconds"],
        [[r["model"], f"{r['ratio']:g}", r["n_minor"], r["oversample"] or "–", r["test_acc"], r["majority_acc"],
          r["minority_acc"], r["minority_cos"], r["majority_cos"], r["minority_norm"], r["majority_norm"],
          r["nc1_last"], r["lpm_minority_cos"], round(r["seconds"], 1)] for r in rows])
    (args.out / "table.md").write_text(table + "\n")
    common.write_json(args.out / "results.json", {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "device": common.describe_device(dev), "data_source": ds.source, "notes": notes,
        "environment": common.environment(), "runs": rows})
    print(table)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
