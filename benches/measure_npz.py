#!/usr/bin/env python3
"""End-to-end benchmark of `layerlaw measure FILE.npz` against the official numpy/scipy method
reading the same file, in one run.

Usage: measure_npz.py [--bin PATH | --cmd TEMPLATE] [--n 20000] [--p 512] [--layers 6]
                      [--classes 10] [--repeats 5] [--official-repeats 3] [--dir DIR]
                      [--compressed]

--cmd times another command instead, e.g. the reading and statistics path alone:
  --cmd "$CARGO_TARGET_DIR/release/examples/measure_file {file}"
  (cargo build --release -p layerlaw-io --example measure_file); it must print JSON with
  layers[].fuzziness on stdout.

1. Writes FILE.npz with numpy.savez (stored members; --compressed: savez_compressed): `labels`
   (int64, balanced) and `layer0..layerL-1` (n x p float32) whose class means shrink
   geometrically with depth, so D grows layer by layer as in a trained network read backwards.
2. Times `layerlaw measure FILE.npz --json` as a process (wall time, start to exit, median of
   --repeats after one warm-up run that puts the file in the page cache) under /usr/bin/time -v
   for its peak RSS.
3. Times the official method in this process from `numpy.load` to the last trace (median of
   --official-repeats; interpreter start and imports are not counted, which favours it):
   every layer converted to float64, per-class p x p scatter matrices, then
   np.trace(Sw @ scipy.linalg.pinv(Sb)) (He & Su's variance_analysis.get_variation, as
   transcribed in benches/fuzziness_numpy.py).
4. Prints one JSON object: both times, their ratio, layerlaw's peak RSS against the file size,
   the largest relative difference of D between the two, and the load average.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzziness_numpy import dense_official  # noqa: E402


def write_workload(path, n, p, layers, k, compressed):
    rng = np.random.default_rng(17)
    labels = np.repeat(np.arange(k), n // k).astype(np.int64)
    rng.shuffle(labels)
    centers = rng.standard_normal((k, p)).astype(np.float32)
    arrays = {"labels": labels}
    for layer in range(layers):
        scale = np.float32(2.0 * 0.7**layer)
        x = rng.standard_normal((n, p), dtype=np.float32)
        x += scale * centers[labels]
        arrays[f"layer{layer}"] = x
    (np.savez_compressed if compressed else np.savez)(path, **arrays)


def official(path):
    t0 = time.perf_counter()
    data = np.load(path)
    labels = data["labels"].astype(np.int64)
    k = int(labels.max()) + 1
    keys = sorted((key for key in data.files if key.startswith("layer")), key=lambda s: int(s[5:]))
    d = [dense_official(data[key], labels, k) for key in keys]
    return time.perf_counter() - t0, d


def run_layerlaw(cmd, path):
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v"] + [a.replace("{file}", path) for a in shlex.split(cmd)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    report = json.loads(proc.stdout)
    return wall, rss_kib, [layer["fuzziness"] for layer in report["layers"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--bin", default=os.path.join(target, "release", "layerlaw"))
    ap.add_argument("--cmd", default=None, help="command to time instead of BIN measure {file} --json")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--p", type=int, default=512)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--official-repeats", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where to write the .npz (default: a temporary directory)")
    ap.add_argument("--compressed", action="store_true", help="numpy.savez_compressed instead of numpy.savez")
    args = ap.parse_args()
    cmd = args.cmd or f"{shlex.quote(args.bin)} measure {{file}} --json"

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "features.npz")
        write_workload(path, args.n, args.p, args.layers, args.classes, args.compressed)
        size = os.path.getsize(path)
        load_before = os.getloadavg()
        run_layerlaw(cmd, path)  # warm-up: page cache, binary
        runs = [run_layerlaw(cmd, path) for _ in range(args.repeats)]
        walls = [r[0] for r in runs]
        rss = max(r[1] for r in runs) * 1024
        d_layerlaw = runs[-1][2]
        off = [official(path) for _ in range(args.official_repeats)]
        t_off = statistics.median(o[0] for o in off)
        d_off = off[-1][1]
        load_after = os.getloadavg()

    t_ll = statistics.median(walls)
    rel = max(abs(a - b) / abs(b) for a, b in zip(d_layerlaw, d_off))
    print(json.dumps({
        "command": cmd,
        "workload": {"n": args.n, "p": args.p, "layers": args.layers, "classes": args.classes,
                     "dtype": "float32", "compressed": args.compressed, "file_bytes": size},
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "layerlaw_wall_s": t_ll,
        "layerlaw_runs_s": walls,
        "official_s": t_off,
        "official_runs_s": [o[0] for o in off],
        "ratio": t_off / t_ll,
        "layerlaw_peak_rss_bytes": rss,
        "rss_minus_file_bytes": rss - size,
        "max_rel_diff_D": rel,
        "D_layerlaw": d_layerlaw,
        "D_official": d_off,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }, indent=1))


if __name__ == "__main__":
    main()
