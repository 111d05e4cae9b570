#!/usr/bin/env python3
"""Cut the embedded Fashion-MNIST slice from the Debian package `dataset-fashion-mnist`.

Slice definition (layerlaw-data, `embedded_fashion_mnist()`):
  * train: the first 100 images of each class (0..9) of `train-*-ubyte.gz`, kept in file order
    (so the classes are interleaved exactly as in the original file); n = 1000;
  * test:  the first 1000 images of `t10k-*-ubyte.gz`, in file order.
The source indices of the training images are written to `fashion-mnist-slice/train-source-indices.txt`
(one 0-based index into the original 60,000-image training file per line, in slice order); the test
indices are 0..999. Output is IDX (same layout as upstream) compressed with `gzip -n -9`, so rerunning
the script gives byte-identical files.

Usage (from this directory):  python3 make_slice.py [/usr/share/datasets/fashion-mnist]
Tested with Python 3.11.7, numpy 2.4, GNU gzip 1.12, dataset-fashion-mnist 0.0~git20200523.55506a9-1.
Fashion-MNIST is Copyright (c) 2017 Zalando SE, MIT licence: see LICENSE-fashion-mnist.txt.
"""
import gzip
import os
import struct
import subprocess
import sys

import numpy as np

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion-mnist-slice")
PER_CLASS = 100
N_TEST = 1000


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    assert magic >> 8 == 0x08, f"{path}: dtype byte is not u8"
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    assert body.size == int(np.prod(dims)), f"{path}: body length mismatch"
    return magic, body.reshape(dims)


def write_idx_gz(path, magic, array):
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()
    gz = subprocess.run(["gzip", "-n", "-9", "-c"], input=raw, check=True, capture_output=True).stdout
    with open(path, "wb") as f:
        f.write(gz)


def main():
    os.makedirs(OUT, exist_ok=True)
    m_img, train_x = read_idx(os.path.join(SRC, "train-images-idx3-ubyte.gz"))
    m_lab, train_y = read_idx(os.path.join(SRC, "train-labels-idx1-ubyte.gz"))
    _, test_x = read_idx(os.path.join(SRC, "t10k-images-idx3-ubyte.gz"))
    _, test_y = read_idx(os.path.join(SRC, "t10k-labels-idx1-ubyte.gz"))
    assert (m_img, m_lab) == (0x803, 0x801)

    first = [np.flatnonzero(train_y == k)[:PER_CLASS] for k in range(10)]
    idx = np.sort(np.concatenate(first))
    assert idx.size == 10 * PER_CLASS
    write_idx_gz(os.path.join(OUT, "train-images-idx3-ubyte.gz"), 0x803, train_x[idx])
    write_idx_gz(os.path.join(OUT, "train-labels-idx1-ubyte.gz"), 0x801, train_y[idx])
    write_idx_gz(os.path.join(OUT, "t10k-images-idx3-ubyte.gz"), 0x803, test_x[:N_TEST])
    write_idx_gz(os.path.join(OUT, "t10k-labels-idx1-ubyte.gz"), 0x801, test_y[:N_TEST])
    with open(os.path.join(OUT, "train-source-indices.txt"), "w") as f:
        f.write("".join(f"{i}\n" for i in idx))
    print("train counts", np.bincount(train_y[idx], minlength=10).tolist(), "max source index", int(idx[-1]))
    print("test first labels", test_y[:10].tolist())


if __name__ == "__main__":
    main()
