"""Shared pieces of the reproduction scripts: device and thread choice, the official training
loop (cross-entropy, batch 128 reshuffled every epoch, learning rate ÷10 at one third and ÷100
from two thirds of the epochs), accuracy, and Markdown/JSON output."""

from __future__ import annotations

import json
import platform
import random
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn


def setup(seed: int, threads: Optional[int], device: Optional[str]) -> torch.device:
    """Seeds Python, NumPy and torch, sets the CPU thread count and picks the device
    (``device=None``: CUDA when available, else CPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return dev


def describe_device(dev: torch.device) -> str:
    """'cuda (NVIDIA ...)' or 'cpu (N threads, machine)'."""
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads, {platform.machine()})"


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float = 5e-4,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """The official optimisers: ``sgd`` (no momentum), ``momentum`` (0.9) or ``adam``; all with
    coupled weight decay 5e-4."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: expected sgd, momentum or adam")


def lr_at(epoch: int, epochs: int, lr: float) -> float:
    """The official step schedule: lr until epochs/3, lr/10 until 2*epochs/3, then lr/100
    (0-based epochs, boundaries ``int(epochs/3)`` and ``int(epochs*2/3)``)."""
    if epoch >= int(epochs * 2 / 3):
        return lr / 100
    if epoch >= int(epochs / 3):
        return lr / 10
    return lr


def train_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer,
                batch: int, gen: torch.Generator, device: torch.device,
                order: Optional[torch.Tensor] = None) -> float:
    """One epoch of cross-entropy minibatch training over (x, y) reshuffled by ``gen``.

    ``order`` (optional) is the list of example indices to visit this epoch (repeats allowed,
    for oversampling); it is shuffled. Returns the mean training loss.
    """
    model.train()
    idx = torch.arange(len(x)) if order is None else order
    idx = idx[torch.randperm(len(idx), generator=gen)]
    loss_fn = nn.CrossEntropyLoss()
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    total = 0.0
    for start in range(0, len(idx), batch):
        b = idx[start:start + batch]
        if len(b) == 1 and has_bn:
            continue  # a batch of one example has no BatchNorm statistics: skipped
        xb, yb = x[b].to(device, non_blocking=True), y[b].to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    return total / len(idx)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch: int = 500) -> torch.Tensor:
    """Predicted classes in eval mode (the previous mode is restored)."""
    was = model.training
    model.eval()
    out = torch.cat([model(x[i:i + batch].to(device)).argmax(1).cpu() for i in range(0, len(x), batch)])
    model.train(was)
    return out


def accuracy(pred: torch.Tensor, y: torch.Tensor, classes: Optional[Sequence[int]] = None) -> float:
    """Accuracy over all examples, or over the examples whose label is in ``classes``
    (the mean of per-class accuracies, as the official confusion-matrix code)."""
    if classes is None:
        return float((pred == y).double().mean())
    per_class = [float((pred[y == c] == c).double().mean()) for c in classes if (y == c).any()]
    return float(np.mean(per_class))


def timer() -> Callable[[], float]:
    """Returns a function giving the seconds since this call."""
    t0 = time.perf_counter()
    return lambda: time.perf_counter() - t0


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats printed with 4 significant digits."""
    def fmt(v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path, value: Dict[str, Any]) -> None:
    """Writes ``value`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, default=float) + "\n")


def environment() -> Dict[str, str]:
    """Versions that matter for reproducing a run."""
    import layerlaw

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "layerlaw": getattr(layerlaw, "__version__", "?"), "machine": platform.machine(),
            "threads": str(torch.get_num_threads())}


def cpu_reduction(args: Any, dev: torch.device, defaults: Dict[str, Any], cpu: Dict[str, Any]) -> List[str]:
    """Fills the ``args`` fields left at None from ``defaults`` (the papers' settings, used on
    CUDA) or ``cpu`` (the reduction used on a CPU); returns one line per reduced setting."""
    notes = []
    for key, full in defaults.items():
        if getattr(args, key) is not None:
            continue
        value = cpu.get(key, full) if dev.type == "cpu" else full
        setattr(args, key, value)
        if value != full:
            notes.append(f"no CUDA: --{key.replace('_', '-')} {value} instead of the paper's {full}")
    return notes
