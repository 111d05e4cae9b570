#!/usr/bin/env python3
"""Reference solver for the Layer-Peeled Model convex relaxation (cvxpy + Clarabel).

This is the *official formulation* of Fang, He, Long & Su (PNAS 2021), `optimization.py` of
HornHehhf/LPM: a 2K x 2K symmetric PSD Gram X of [h_1..h_K, w_1..w_K], the logits of class k are
z_k = X[k, K:2K], and

    minimise   sum_k (n_k / N) c_k (logsumexp(z_k) - z_k[k])
    subject to (1/K) sum_{k<K} X_kk <= E_H,  (1/K) sum_{k>=K} X_kk <= E_W,  X >> 0.

It is used by `examples/bench_sweep.rs` (timing baseline) and to derive the reference numbers
pasted in `crates/layerlaw-lpm/tests/*.rs`.

Usage (one JSON object per line on stdout, then a summary line):
    python3 benches/lpm_cvxpy.py --k-a 5 --k-b 5 --e-w 1 --e-h 5 --ratios 1,10,100
    python3 benches/lpm_cvxpy.py --counts 100,50,20,5 --e-w 1 --e-h 5
    python3 benches/lpm_cvxpy.py --k-a 5 --k-b 5 --e-w 1 --e-h 5 --collapse 10,15
Options: --weight W (loss weight of the minority classes, default 1), --minority 2,3 (with
--counts: the classes that get --weight), --tol-dist D (collapse threshold on max ||w_k - w_k'||,
in units of sqrt(E_W), default 1e-3), --tol T (Clarabel's tol_gap_abs/tol_gap_rel/tol_feas;
default: cvxpy's defaults, 1e-8).
"""
import argparse
import itertools
import json
import math
import sys
import time

import cvxpy as cp
import numpy as np


def solve_counts(counts, weights, e_w, e_h, tol=None):
    """Solve the full 2K x 2K SDP; returns (objective, Gram, seconds incl. cvxpy compilation)."""
    counts = np.asarray(counts, dtype=float)
    k = len(counts)
    coef = counts * np.asarray(weights, dtype=float) / counts.sum()
    t0 = time.perf_counter()
    x = cp.Variable((2 * k, 2 * k), symmetric=True)
    loss = 0
    for c in range(k):
        z = x[c, k:]
        loss = loss + coef[c] * (cp.log_sum_exp(z) - z[c])
    cons = [
        cp.trace(x[:k, :k]) <= k * e_h,
        cp.trace(x[k:, k:]) <= k * e_w,
        x >> 0,
    ]
    prob = cp.Problem(cp.Minimize(loss), cons)
    if tol is None:
        prob.solve(solver=cp.CLARABEL)
    else:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    secs = time.perf_counter() - t0
    return prob.value, np.asarray(x.value), secs, prob.status


def metrics(gram, k, minority):
    """Mean pairwise cosine / distance / norm of the minority and majority classifiers."""
    w = gram[k:, k:]
    out = {}
    for name, idx in (("minority", minority), ("majority", [i for i in range(k) if i not in minority])):
        pairs = list(itertools.combinations(idx, 2))
        norms = [math.sqrt(max(w[i, i], 0.0)) for i in idx]
        out[name + "_norm"] = float(np.mean(norms)) if norms else None
        if pairs:
            out[name + "_cosine"] = float(np.mean([w[i, j] / math.sqrt(w[i, i] * w[j, j]) for i, j in pairs]))
            dists = [math.sqrt(max(w[i, i] + w[j, j] - 2 * w[i, j], 0.0)) for i, j in pairs]
            out[name + "_distance"] = float(np.mean(dists))
            out[name + "_max_distance"] = float(np.max(dists))
    return out


def step_problem(k_a, k_b, ratio, weight):
    counts = [ratio] * k_a + [1.0] * k_b
    weights = [1.0] * k_a + [weight] * k_b
    return counts, weights, list(range(k_a, k_a + k_b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k-a", type=int, default=5)
    ap.add_argument("--k-b", type=int, default=5)
    ap.add_argument("--e-w", type=float, default=1.0)
    ap.add_argument("--e-h", type=float, default=5.0)
    ap.add_argument("--weight", type=float, default=1.0)
    ap.add_argument("--ratios", type=str, default=None)
    ap.add_argument("--counts", type=str, default=None)
    ap.add_argument("--minority", type=str, default=None)
    ap.add_argument("--collapse", type=str, default=None)
    ap.add_argument("--tol-dist", type=float, default=1e-3)
    ap.add_argument("--tol", type=float, default=None)
    args = ap.parse_args()

    if args.counts:
        counts = [float(v) for v in args.counts.split(",")]
        minority = [int(v) for v in args.minority.split(",")] if args.minority else [
            i for i, c in enumerate(counts) if c < max(counts)
        ]
        weights = [args.weight if i in minority else 1.0 for i in range(len(counts))]
        obj, gram, secs, status = solve_counts(counts, weights, args.e_w, args.e_h, args.tol)
        rec = {"counts": counts, "objective": obj, "status": status, "time_s": secs}
        rec.update(metrics(gram, len(counts), minority))
        print(json.dumps(rec))
        return

    if args.collapse:
        lo, hi = (float(v) for v in args.collapse.split(","))
        thr = args.tol_dist * math.sqrt(args.e_w)

        def collapsed(r):
            c, w, mino = step_problem(args.k_a, args.k_b, r, args.weight)
            _, g, _, _ = solve_counts(c, w, args.e_w, args.e_h, args.tol)
            return metrics(g, len(c), mino)["minority_max_distance"] <= thr

        assert not collapsed(lo) and collapsed(hi)
        while math.log(hi / lo) > 1e-5:
            mid = math.sqrt(lo * hi)
            if collapsed(mid):
                hi = mid
            else:
                lo = mid
        print(json.dumps({"collapse_ratio": hi, "bracket": [lo, hi]}))
        return

    ratios = [float(v) for v in args.ratios.split(",")] if args.ratios else [10 ** (0.1 * i) for i in range(41)]
    total = 0.0
    for r in ratios:
        c, w, mino = step_problem(args.k_a, args.k_b, r, args.weight)
        obj, gram, secs, status = solve_counts(c, w, args.e_w, args.e_h, args.tol)
        total += secs
        rec = {"ratio": r, "objective": obj, "status": status, "time_s": secs}
        rec.update(metrics(gram, len(c), mino))
        print(json.dumps(rec))
        sys.stdout.flush()
    print(json.dumps({"total_time_s": total, "points": len(ratios)}))


if __name__ == "__main__":
    main()
