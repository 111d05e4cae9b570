"""layerlaw.fuzziness against NumPy/SciPy on n = 60,000, p = 1,024, K = 10 (float32 features).

Baselines, run in the same process on the same array:
* "pinv": the official He-Su computation, dense p x p SS_w and SS_b in float64 and
  scipy.linalg.pinv(SS_b), D = trace(SS_w @ pinv(SS_b));
* "svd f64": the fastest exact NumPy route we know, thin SVD of the p x K weighted class-mean
  matrix and one (n x p) @ (p x r) product of the centred features, in float64;
* "svd f32": the same in float32 with a rank cut-off of 1e-3 (float32 rounding leaves spurious
  singular values near 1e-6 s_1); less accurate, shown for the speed bound.
Prints the best time of `--repeat` runs for each, the ratio baseline / layerlaw and the relative
difference of D. Usage: python benches/bench_fuzziness.py [--n 60000 --p 1024 --k 10 --repeat 3]
"""

import argparse
import os
import time

import numpy as np
import scipy.linalg

import layerlaw


def fuzziness_pinv(x, y, k):
    x = x.astype(np.float64)
    n = x.shape[0]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    means = np.stack([x[y == c].mean(axis=0) for c in range(k)])
    d = means - x.mean(axis=0)
    sb = (d.T * counts) @ d / n
    z = x - means[y]
    sw = z.T @ z / n
    return float(np.trace(sw @ scipy.linalg.pinv(sb)))


def fuzziness_svd(x, y, k, dtype=np.float64, tol=1e-6):
    x = x.astype(dtype, copy=False)
    n = x.shape[0]
    counts = np.bincount(y, minlength=k).astype(dtype)
    means = np.stack([x[y == c].mean(axis=0) for c in range(k)])
    mw = (means - x.mean(axis=0)).T * np.sqrt(counts / n)
    u, s, _ = np.linalg.svd(mw, full_matrices=False)
    keep = s > tol * s[0]
    zu = (x - means[y]) @ u[:, keep]
    return float(((zu.astype(np.float64) ** 2).sum(axis=0) / n / s[keep].astype(np.float64) ** 2).sum())


def best(f, repeat):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t)
    return min(times), value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--p", type=int, default=1024)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    y = rng.permutation(np.arange(a.n) % a.k)
    centres = rng.normal(size=(a.k, a.p)).astype(np.float32)
    x = (centres[y] + 4.0 * rng.normal(size=(a.n, a.p)).astype(np.float32)).astype(np.float32)
    print(f"n = {a.n}, p = {a.p}, K = {a.k}, float32 features; {os.cpu_count()} CPUs; numpy {np.__version__}, "
          f"scipy {scipy.__version__}, layerlaw {layerlaw.__version__}")
    t_ll, d_ll = best(lambda: layerlaw.fuzziness(x, y), a.repeat)
    print(f"{'layerlaw.fuzziness':<22} {t_ll:8.3f} s   D = {d_ll:.12g}")
    for name, f, rep in [
        ("numpy svd f32", lambda: fuzziness_svd(x, y, a.k, np.float32, tol=1e-3), a.repeat),
        ("numpy svd f64", lambda: fuzziness_svd(x, y, a.k, np.float64), a.repeat),
        ("scipy pinv f64", lambda: fuzziness_pinv(x, y, a.k), 1),
    ]:
        t, d = best(f, rep)
        print(f"{name:<22} {t:8.3f} s   ratio {t / t_ll:7.2f}x   |dD|/D = {abs(d - d_ll) / d_ll:.1e}")


if __name__ == "__main__":
    main()
