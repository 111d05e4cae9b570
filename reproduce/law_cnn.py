"""The law of equi-separation in CNNs and residual nets (He & Su, PNAS 2023), in PyTorch.

Trains paper 1's convolutional and residual networks (``reproduce/models.py``) on 100 training
images per class at 32x32 and measures the separation fuzziness D_l of every block on those
training images, at the end and every ``--every`` epochs during training (``LawTracker``), with
the law fit ln D_l = ln D_0 + l ln(rho). Writes, per run, the tracker history (JSON, CSV), the
emergence plot and the ln D_l heatmap, and for all runs ``table.md`` and ``results.json``.

    python -m reproduce.law_cnn --quick                      # ~1-2 min on 2 CPU cores
    python -m reproduce.law_cnn --models vgg13 alexnet --data fashion-mnist      # paper settings on CUDA

The official settings (``HornHehhf/Equi-Separation``): Adam, weight decay 5e-4, batch 128, 600
epochs, learning rate ÷10 at epoch 200 and ÷100 from 400, a learning-rate grid
{3e-5, 1e-4, 3e-4, 1e-3, 3e-3} (``--lr`` picks one), seed 666, D measured with BatchNorm in
training mode over consecutive batches of 100 (``--bn eval`` for eval mode). Without CUDA the
script reduces epochs and width and says so in its output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

import layerlaw
from layerlaw.tracker import LawTracker

from . import common, data, models

MODELS = ("vgg13", "alexnet", "gresnet-basic", "gresnet-bottleneck", "resnet-mix")
CNN_NORM = {"fashion-mnist": "fashion-mnist", "mnist": "mnist", "cifar10": "cifar10"}


def build(name: str, in_channels: int, width: float, features: str) -> torch.nn.Module:
    """One of :data:`MODELS` (``width`` scales VGG/AlexNet; the residual nets are already 8 planes)."""
    if name == "vgg13":
        return models.VGG13Mod(in_channels, 10, width=width)
    if name == "alexnet":
        return models.AlexNetMod(in_channels, 10, width=width)
    if name == "gresnet-basic":
        return models.GResNet("basic", 4, in_channels)
    if name == "gresnet-bottleneck":
        return models.GResNet("bottleneck", 4, in_channels)
    if name == "resnet-mix":
        return models.ResNetMix(4, in_channels)
    raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")


def law_points(model: torch.nn.Module, features: str) -> Dict[str, torch.nn.Module]:
    """The measured modules: blocks (or every layer inside them) for residual nets."""
    if isinstance(model, (models.GResNet, models.ResNetMix)):
        return model.law_layers(features)
    return model.law_layers()


def run_one(name: str, args: argparse.Namespace, ds: data.Dataset, dev: torch.device, out: Path) -> Dict[str, Any]:
    """Trains one model and returns its result row (also writing its tracker files and plots)."""
    common.setup(args.seed, None, str(dev))
    idx = data.class_subset(ds.train.labels, [args.per_class] * 10, args.seed)
    x = data.preprocess(ds.train.images[idx], 32, CNN_NORM[ds.name])
    y = torch.from_numpy(ds.train.labels[idx].copy())
    xt = data.preprocess(ds.test.images, 32, CNN_NORM[ds.name])
    yt = torch.from_numpy(ds.test.labels.copy())
    model = build(name, x.shape[1], args.width, args.features).to(dev)
    opt = common.make_optimizer(model, args.optimizer, args.lr)
    tracker = LawTracker(model, (x, y), every=args.every, layers=law_points(model, args.features),
                         num_classes=10, bn=args.bn, classifier=model.classifier, engine=args.engine)
    gen = torch.Generator().manual_seed(args.seed)
    tracker.step(0, train_acc=common.accuracy(common.predict(model, x, dev), y))
    train_s = 0.0
    for epoch in range(args.epochs):
        for g in opt.param_groups:
            g["lr"] = common.lr_at(epoch, args.epochs, args.lr)
        clock = common.timer()
        common.train_epoch(model, x, y, opt, 128, gen, dev)
        train_s += clock()
        if (epoch + 1) % args.every == 0 or epoch + 1 == args.epochs:
            acc = common.accuracy(common.predict(model, x, dev), y)
            test_acc = common.accuracy(common.predict(model, xt, dev), yt)
            if (epoch + 1) % args.every == 0:
                tracker.step(epoch + 1, train_acc=acc, test_acc=test_acc)
            else:
                tracker.measure(epoch + 1, train_acc=acc, test_acc=test_acc)
    final = tracker.history[-1]
    run = f"{name}-{ds.name}-{args.optimizer}-{args.lr:g}"
    tracker.save_json(out / f"{run}-history.json")
    tracker.save_csv(out / f"{run}-history.csv")
    plots = _plots(tracker, out, run)
    d = final["fuzziness"]
    row: Dict[str, Any] = {
        "run": run, "model": name, "data": ds.name, "points": len(d), "optimizer": args.optimizer,
        "lr": args.lr, "epochs": args.epochs, "rho": final["rho"], "r2": final["r2"],
        "pearson_r": final["pearson_r"], "d0": d[0], "d_last": d[-1], "train_acc": final["train_acc"],
        "test_acc": final["test_acc"], "train_seconds": train_s, "measure_seconds": tracker.seconds,
        "layers": final["layers"], "fuzziness": d, "plots": plots,
    }
    if isinstance(model, models.ResNetMix):
        cut = model.segment_break(args.features)
        first, second = layerlaw.fit_law(d[: cut + 1]), layerlaw.fit_law(d[cut:])
        row["piecewise"] = {"break": cut, "bottleneck": first.to_dict(), "basic": second.to_dict()}
    return row


def _plots(tracker: LawTracker, out: Path, run: str) -> List[str]:
    try:
        tracker.plot_emergence(out / f"{run}-emergence.png")
        tracker.plot_heatmap(out / f"{run}-heatmap.png")
    except ImportError as e:
        print(f"  (no plots: {e})")
        return []
    return [f"{run}-emergence.png", f"{run}-heatmap.png"]


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", choices=MODELS, default=None, help="default: all five")
    p.add_argument("--data", choices=("fashion-mnist", "mnist", "cifar10"), default="fashion-mnist")
    p.add_argument("--per-class", type=int, default=100, help="training images per class (paper: 100)")
    p.add_argument("--epochs", type=int, default=None, help="paper: 600 (CPU default: 30)")
    p.add_argument("--width", type=float, default=None, help="VGG/AlexNet width factor (paper: 1; CPU default: 0.25)")
    p.add_argument("--optimizer", choices=("adam", "sgd", "momentum"), default="adam")
    p.add_argument("--lr", type=float, default=None, help="paper grid 3e-5..3e-3 (default 3e-4; --quick 1e-3)")
    p.add_argument("--features", choices=("block", "layer"), default="block", help="residual nets: points")
    p.add_argument("--bn", choices=("train", "eval"), default="train", help="BatchNorm mode when measuring")
    p.add_argument("--engine", choices=("features", "streaming"), default="features",
                   help="LawTracker engine: stored probe features, or layerlaw.torch's two passes in O(pK) memory")
    p.add_argument("--every", type=int, default=None, help="measure every N epochs (default: epochs/10)")
    p.add_argument("--seed", type=int, default=666)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's; --quick: 2)")
    p.add_argument("--device", default=None, help="cuda, cpu, ... (default: cuda when available)")
    p.add_argument("--out", type=Path, default=Path("out/law-cnn"))
    p.add_argument("--quick", action="store_true",
                   help="GResNet (basic blocks) and a narrow VGG13 on the embedded slice, 20 epochs")
    args = p.parse_args(argv)
    if args.quick:
        args.models = args.models or ["gresnet-basic", "vgg13"]
        args.epochs = args.epochs or 20
        args.width = args.width or 1 / 16
        args.lr = args.lr or 1e-3
        args.threads = args.threads or 2
    args.models = args.models or list(MODELS)
    dev = common.setup(args.seed, args.threads, args.device)
    notes = common.cpu_reduction(args, dev, {"epochs": 600, "width": 1.0}, {"epochs": 30, "width": 0.25})
    args.lr = args.lr or 3e-4
    args.every = args.every or max(1, args.epochs // 10)
    ds = data.embedded_fashion_mnist() if args.quick and args.data == "fashion-mnist" else data.load(args.data)
    if ds.embedded and args.per_class > 100:
        raise SystemExit(f"--per-class {args.per_class}: the embedded slice has 100 images per class")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"device: {common.describe_device(dev)}; data: {ds.name} from {ds.source}"
          + (" (the first 100 training images of each class)" if ds.embedded else ""))
    for line in notes:
        print(line)
    print(f"settings: {args.optimizer} lr {args.lr:g}, {args.epochs} epochs, {args.per_class} per class, "
          f"width {args.width:g}, D with BatchNorm in {args.bn} mode, measured every {args.every} epochs")
    rows = []
    for name in args.models:
        row = run_one(name, args, ds, dev, args.out)
        rows.append(row)
        print(f"{row['run']}: rho {row['rho']:.3f}, R^2 {row['r2']:.4f}, r {row['pearson_r']:.4f}, "
              f"D_0 {row['d0']:.3g}, D_last {row['d_last']:.3g}, train {row['train_acc']:.3f}, "
              f"test {row['test_acc']:.3f}, {row['train_seconds']:.1f} s training + "
              f"{row['measure_seconds']:.1f} s measuring")
        for lname, dval in zip(row["layers"], row["fuzziness"]):
            print(f"    {lname:>14}  D = {dval:.4g}")
        if "piecewise" in row:
            pw = row["piecewise"]
            print(f"    piecewise: bottleneck rho {pw['bottleneck']['rho']:.3f} (r {pw['bottleneck']['pearson_r']:.4f}),"
                  f" basic rho {pw['basic']['rho']:.3f} (r {pw['basic']['pearson_r']:.4f})")
    table = common.markdown_table(
        ["run", "points", "epochs", "rho", "R^2", "Pearson r", "D_0", "D_last", "train acc", "test acc", "seconds"],
        [[r["run"], r["points"], r["epochs"], r["rho"], r["r2"], r["pearson_r"], r["d0"], r["d_last"],
          r["train_acc"], r["test_acc"], round(r["train_seconds"], 1)] for r in rows])
    (args.out / "table.md").write_text(table + "\n")
    common.write_json(args.out / "results.json", {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "device": common.describe_device(dev), "data_source": ds.source, "notes": notes,
        "environment": common.environment(), "runs": rows})
    print(table)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
