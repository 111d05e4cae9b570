"""Data for the reproduction scripts: IDX (MNIST-format) and CIFAR-10 readers, the papers'
preprocessing, per-class subsets and step imbalance.

Where the files are looked for, in order, for ``name`` in {"fashion-mnist", "mnist"}:
``$LAYERLAW_DATA_DIR/<name>``, ``/usr/share/datasets/<name>`` (Debian's
``dataset-fashion-mnist`` package), ``./data/<name>``; for Fashion-MNIST, last, the slice that
ships in the repository (``crates/layerlaw-data/embedded/fashion-mnist-slice``: the first 100
training images of each class and the first 1,000 test images). CIFAR-10 is read from the
``cifar-10-batches-py`` folder of the official Python archive under the same roots.

Preprocessing follows the official code: images are resized (antialiased bilinear, rounded back
to bytes as PIL does on 8-bit images), scaled to [0, 1] and normalised per channel.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_FASHION_MNIST = REPO_ROOT / "crates" / "layerlaw-data" / "embedded" / "fashion-mnist-slice"

#: Normalisation (mean, std) per channel, as in the official data loaders.
NORMALISE = {
    # Figure-1 FNN settings ("cfm"/"cm"): Normalize((0.5,), (0.5,)).
    "fnn": ((0.5,), (0.5,)),
    # CNN settings at 32x32 ("fashion_mnist"): Normalize(0.2860, 0.3530).
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)),
}


@dataclass
class Split:
    """Images as uint8 (n x H x W or n x H x W x 3) with int64 labels."""

    images: np.ndarray
    labels: np.ndarray


@dataclass
class Dataset:
    """A train/test pair and where it was read from."""

    name: str
    train: Split
    test: Split
    source: str

    @property
    def embedded(self) -> bool:
        """True when the data is the repository's 100-per-class slice."""
        return self.source == str(EMBEDDED_FASHION_MNIST)


def read_idx(path: Path) -> np.ndarray:
    """Reads one IDX file (gzip-compressed when the name ends in .gz) of unsigned bytes.

    Raises ``ValueError`` naming the file when the magic number, the element type or the body
    length is wrong.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the first two bytes must be zero)")
    if data[2] != 0x08:
        raise ValueError(f"{path}: IDX element type 0x{data[2]:02x}, only unsigned bytes (0x08) are read")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions)")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise ValueError(f"{path}: IDX body has {len(data) - header} bytes, the header {dims} says {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _roots(name: str) -> List[Path]:
    roots = []
    env = os.environ.get("LAYERLAW_DATA_DIR")
    if env:
        roots.append(Path(env) / name)
    roots += [Path("/usr/share/datasets") / name, Path("data") / name]
    return roots


def _idx_pair(folder: Path, prefix: str) -> Optional[Split]:
    for suffix in (".gz", ""):
        images = folder / f"{prefix}-images-idx3-ubyte{suffix}"
        labels = folder / f"{prefix}-labels-idx1-ubyte{suffix}"
        if images.is_file() and labels.is_file():
            x, y = read_idx(images), read_idx(labels).astype(np.int64)
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"{images}: {x.shape[0]} images but {labels} has {y.shape[0]} labels")
            return Split(x, y)
    return None


def _cifar10(folder: Path) -> Optional[Tuple[Split, Split]]:
    batches = folder / "cifar-10-batches-py"
    if not (batches / "test_batch").is_file():
        return None

    def load(names: Sequence[str]) -> Split:
        xs, ys = [], []
        for n in names:
            with open(batches / n, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys.append(np.asarray(d[b"labels"], dtype=np.int64))
        return Split(np.concatenate(xs), np.concatenate(ys))

    return load([f"data_batch_{i}" for i in range(1, 6)]), load(["test_batch"])


def load(name: str, embedded_ok: bool = True) -> Dataset:
    """Loads ``fashion-mnist``, ``mnist`` or ``cifar10``; see the module docstring for where."""
    if name not in ("fashion-mnist", "mnist", "cifar10"):
        raise ValueError(f"unknown data set {name!r}: expected fashion-mnist, mnist or cifar10")
    tried = []
    for root in _roots(name if name != "cifar10" else "cifar10"):
        tried.append(str(root))
        if name == "cifar10":
            pair = _cifar10(root)
            if pair is not None:
                return Dataset(name, pair[0], pair[1], str(root))
            continue
        train, test = _idx_pair(root, "train"), _idx_pair(root, "t10k")
        if train is not None and test is not None:
            return Dataset(name, train, test, str(root))
    if name == "fashion-mnist" and embedded_ok:
        return embedded_fashion_mnist()
    hint = "apt-get install dataset-fashion-mnist" if name == "fashion-mnist" else "download the official files"
    raise FileNotFoundError(f"{name}: no data in {', '.join(tried)} ({hint}, or set LAYERLAW_DATA_DIR)")


def embedded_fashion_mnist() -> Dataset:
    """The repository's Fashion-MNIST slice: 100 training images per class, 1,000 test images."""
    train, test = _idx_pair(EMBEDDED_FASHION_MNIST, "train"), _idx_pair(EMBEDDED_FASHION_MNIST, "t10k")
    if train is None or test is None:
        raise FileNotFoundError(f"the embedded Fashion-MNIST slice is missing from {EMBEDDED_FASHION_MNIST}")
    return Dataset("fashion-mnist", train, test, str(EMBEDDED_FASHION_MNIST))


def preprocess(images: np.ndarray, size: int, norm: str, channels: Optional[int] = None) -> torch.Tensor:
    """uint8 images (n x H x W or n x H x W x 3) to a float32 tensor n x C x size x size.

    Resizing is antialiased bilinear rounded back to bytes (as PIL's ``Resize`` on 8-bit
    images); then ``ToTensor`` scaling to [0, 1] and ``Normalize(mean, std)`` of ``NORMALISE[norm]``.
    ``channels=1`` keeps only the green channel of colour images (the official FNN on CIFAR-10).
    """
    x = torch.from_numpy(np.array(images, copy=True))
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    x = x.to(torch.float32)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        x = x.round().clamp(0, 255)
    mean, std = NORMALISE[norm]
    if len(mean) != x.shape[1]:
        raise ValueError(f"normalisation {norm!r} has {len(mean)} channels, the images {x.shape[1]}")
    x = (x / 255.0 - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    if channels == 1 and x.shape[1] == 3:
        x = x[:, 1:2]
    return x.contiguous()


def class_subset(labels: np.ndarray, counts: Sequence[int], seed: int) -> np.ndarray:
    """Indices of ``counts[k]`` examples of every class k, taken in a seeded random order.

    Raises ``ValueError`` naming the class when the data has fewer examples than asked.
    """
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=g).numpy()
    need = list(counts)
    taken: List[int] = []
    for i in order:
        k = int(labels[i])
        if k < len(need) and need[k] > 0:
            taken.append(int(i))
            need[k] -= 1
    short = [k for k, n in enumerate(need) if n > 0]
    if short:
        have = np.bincount(labels, minlength=len(counts))
        k = short[0]
        raise ValueError(f"class {k}: asked for {counts[k]} examples, the data has {have[k]}")
    return np.sort(np.asarray(taken, dtype=np.int64))


def step_imbalance(n_major: int, ratio: float, k_major: int = 5, classes: int = 10) -> List[int]:
    """Per-class counts of step imbalance: n_A for the first ``k_major`` classes, n_B = max(1, ⌊n_A / R⌋)."""
    if ratio < 1:
        raise ValueError(f"imbalance ratio R must be >= 1, got {ratio}")
    n_minor = max(1, int(n_major // ratio))
    return [n_major] * k_major + [n_minor] * (classes - k_major)
