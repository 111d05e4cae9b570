#!/usr/bin/env python3
"""Times the separation fuzziness D = Tr(SS_w SS_b^+) in numpy, two ways, for the layerlaw
benchmark (crates/layerlaw-geometry/examples/bench_fuzziness.rs).

Usage: fuzziness_numpy.py LABELS.npy LAYER0.npy [LAYER1.npy ...]   (features n x p, any float)

Methods (both in float64, as the official code works on float64 features):
  dense: the official He & Su code, `variance_analysis.get_variation` of
         HornHehhf/Equi-Separation@7544a6b (per-class p x p covariances, then
         np.trace(Sw @ scipy.linalg.pinv(Sb))); the per-sample Python list of the original
         `get_class_features` is replaced by a boolean mask (same arithmetic, faster).
  svd:   the O(npK) trick: thin SVD of the p x K weighted centred class means, then
         D = sum_i w_i sum_j ((x_i - mu_{y_i}) . u_j)^2 / s_j^2 (rank cut s_j > 1e-6 s_1).
The float32 -> float64 conversion of each layer is included in both timings.
Prints one JSON object on stdout.
"""
import json
import resource
import sys
import time

import numpy as np
import scipy
import scipy.linalg


def dense_official(features, labels, k):
    # Transcription of variance_analysis.get_variation (balanced form, 1/K weights).
    features = features.astype(np.float64)
    features -= np.mean(features, axis=0)
    p = features.shape[1]
    sb = np.zeros((p, p))
    sw = np.zeros((p, p))
    for i in range(k):
        cur = features[labels == i]
        avg = np.mean(cur, axis=0)
        sb += np.matmul(avg.reshape(-1, 1), avg.reshape(1, -1))
        cen = cur - avg
        cov = np.matmul(np.transpose(cen), cen)
        cov /= len(cur)
        sw += cov
    sb /= k
    sw /= k
    return float(np.trace(np.matmul(sw, scipy.linalg.pinv(sb))))


def svd_trick(features, labels, k, tol=1e-6):
    x = features.astype(np.float64)
    n = x.shape[0]
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    means = np.stack([x[labels == c].mean(axis=0) for c in range(k)])
    glob = counts @ means / n
    m = ((means - glob) * np.sqrt(counts / n)[:, None]).T  # p x K
    u, s, _ = np.linalg.svd(m, full_matrices=False)
    keep = s > tol * s[0]
    u, s = u[:, keep], s[keep]
    proj = (x - means[labels]) @ u
    return float(np.sum(proj**2 / s**2) / n)


def main():
    labels = np.load(sys.argv[1]).astype(np.int64)
    k = int(labels.max()) + 1
    try:  # numpy advises huge pages for its large arrays on Linux (numpy >= 1.20)
        from numpy._core.multiarray import _get_madvise_hugepage
    except ImportError:
        from numpy.core.multiarray import _get_madvise_hugepage
    out = {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "madvise_hugepage": bool(_get_madvise_hugepage()),
        "layers": [],
    }
    for path in sys.argv[2:]:
        x = np.load(path)
        t0 = time.perf_counter()
        d_svd = svd_trick(x, labels, k)
        t1 = time.perf_counter()
        d_dense = dense_official(x, labels, k)
        t2 = time.perf_counter()
        out["layers"].append({"file": path, "d_dense": d_dense, "t_dense": t2 - t1, "d_svd": d_svd, "t_svd": t1 - t0})
        del x
    out["t_dense_total"] = sum(l["t_dense"] for l in out["layers"])
    out["t_svd_total"] = sum(l["t_svd"] for l in out["layers"])
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
