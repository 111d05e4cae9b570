"""The law of equi-separation emerging during training of paper 1's feedforward net, and what
measuring it costs.

The Figure-1 setting of He & Su (PNAS 2023): Fashion-MNIST resized to 10x10, normalised with
mean 0.5 and std 0.5, 100 training images per class; ``Linear -> BatchNorm -> ReLU`` blocks of
width 100 (depth 8 = 7 hidden blocks + classifier); cross-entropy, batch 128, 600 epochs,
weight decay 5e-4, learning rate ÷10 at epoch 200 and ÷100 from 400 (default: SGD with
momentum 0.9, lr 0.01, the paper's depth-8 momentum run). ``LawTracker`` measures the 1,000
training points every ``--every`` epochs; the same training then runs again without the tracker
(same seed, same batches) and the script prints the tracker's overhead:

    overhead = (time with tracker - time without) / time without

    python -m reproduce.law_fnn --quick          # the full setting on the embedded slice (~20 s)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from layerlaw.tracker import LawTracker

from . import common, data, models


def train(args: argparse.Namespace, x: torch.Tensor, y: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor,
          dev: torch.device, track: bool) -> Dict[str, Any]:
    """One full training; with ``track`` a LawTracker measures every ``args.every`` epochs."""
    torch.manual_seed(args.seed)
    model = models.GFNN(x[0].numel(), args.width, args.depth - 2, 10).to(dev)
    opt = common.make_optimizer(model, args.optimizer, args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    tracker = LawTracker(model, (x, y), every=args.every, num_classes=10, bn=args.bn,
                         classifier=model.classifier, engine=args.engine) if track else None
    clock = common.timer()
    if tracker is not None:
        tracker.step(0)
    for epoch in range(args.epochs):
        for g in opt.param_groups:
            g["lr"] = common.lr_at(epoch, args.epochs, args.lr)
        common.train_epoch(model, x, y, opt, 128, gen, dev)
        if tracker is not None:
            tracker.step(epoch + 1)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = clock()
    train_acc = common.accuracy(common.predict(model, x, dev), y)
    test_acc = common.accuracy(common.predict(model, xt, dev), yt)
    if tracker is not None and tracker.history:
        tracker.history[-1]["train_acc"], tracker.history[-1]["test_acc"] = train_acc, test_acc
    return {"seconds": seconds, "train_acc": train_acc, "test_acc": test_acc, "tracker": tracker,
            "weights": [p.detach().cpu().clone() for p in model.parameters()]}


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--depth", type=int, default=8, help="linear layers incl. the classifier (paper: 4, 8, 20)")
    p.add_argument("--width", type=int, default=100)
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--optimizer", choices=("sgd", "momentum", "adam"), default="momentum")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--bn", choices=("eval", "train"), default="eval", help="BatchNorm mode when measuring")
    p.add_argument("--engine", choices=("features", "streaming"), default="features",
                   help="LawTracker engine: stored probe features, or layerlaw.torch's two passes in O(pK) memory")
    p.add_argument("--data", choices=("fashion-mnist", "mnist"), default="fashion-mnist")
    p.add_argument("--seed", type=int, default=666)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--repeats", type=int, default=1, help="time each variant this many times (median)")
    p.add_argument("--out", type=Path, default=Path("out/law-fnn"))
    p.add_argument("--quick", action="store_true", help="the embedded slice, 2 threads")
    args = p.parse_args(argv)
    if args.quick:
        args.threads = args.threads or 2
    dev = common.setup(args.seed, args.threads, args.device)
    ds = data.embedded_fashion_mnist() if args.quick and args.data == "fashion-mnist" else data.load(args.data)
    idx = data.class_subset(ds.train.labels, [args.per_class] * 10, args.seed)
    x = data.preprocess(ds.train.images[idx], 10, "fnn").flatten(1)
    y = torch.from_numpy(ds.train.labels[idx].copy())
    xt = data.preprocess(ds.test.images, 10, "fnn").flatten(1)
    yt = torch.from_numpy(ds.test.labels.copy())
    print(f"device: {common.describe_device(dev)}; data: {ds.name} from {ds.source}, {len(y)} training images")
    print(f"GFNN depth {args.depth}, width {args.width}; {args.optimizer} lr {args.lr:g}, {args.epochs} epochs; "
          f"LawTracker every {args.every} epochs (BatchNorm in {args.bn} mode)")
    with_t, without_t = [], []
    tracked = plain = None
    for _ in range(args.repeats):
        plain = train(args, x, y, xt, yt, dev, track=False)
        tracked = train(args, x, y, xt, yt, dev, track=True)
        without_t.append(plain["seconds"])
        with_t.append(tracked["seconds"])
    assert tracked is not None and plain is not None
    same = all(torch.equal(a, b) for a, b in zip(tracked["weights"], plain["weights"]))
    t_with, t_without = sorted(with_t)[len(with_t) // 2], sorted(without_t)[len(without_t) // 2]
    tracker: LawTracker = tracked["tracker"]
    overhead = (t_with - t_without) / t_without
    measure_share = tracker.seconds / t_without
    args.out.mkdir(parents=True, exist_ok=True)
    tracker.save_json(args.out / "history.json")
    tracker.save_csv(args.out / "history.csv")
    try:
        tracker.plot_emergence(args.out / "emergence.png")
        tracker.plot_heatmap(args.out / "heatmap.png")
    except ImportError as e:
        print(f"(no plots: {e})")
    final = tracker.history[-1]
    print("epoch  rho     R^2     Pearson r  D_0     D_last")
    shown = tracker.history[:: max(1, len(tracker.history) // 10)]
    for row in shown + ([final] if shown[-1] is not final else []):
        d = row["fuzziness"]
        print(f"{row['epoch']:>5}  {row['rho']:.4f}  {row['r2']:.4f}  {row['pearson_r']:+.4f}    {d[0]:<6.3g}  {d[-1]:.3g}")
    print(f"final: train acc {tracked['train_acc']:.3f}, test acc {tracked['test_acc']:.3f}")
    print(f"training {t_without:.2f} s without the tracker, {t_with:.2f} s with it "
          f"({len(tracker.history)} measurements): overhead {100 * overhead:.1f}% "
          f"(measuring alone {tracker.seconds:.2f} s = {100 * measure_share:.1f}%); "
          f"identical weights with and without: {same}")
    result = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "device": common.describe_device(dev), "data_source": ds.source,
              "seconds_with_tracker": with_t, "seconds_without_tracker": without_t, "overhead": overhead,
              "measure_seconds": tracker.seconds, "measure_share": measure_share, "identical_weights": same,
              "measurements": len(tracker.history), "final": final, "train_acc": tracked["train_acc"],
              "test_acc": tracked["test_acc"], "environment": common.environment()}
    common.write_json(args.out / "results.json", result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
