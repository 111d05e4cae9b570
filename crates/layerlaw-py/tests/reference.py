"""Plain NumPy/SciPy references for the tests (independent of the Rust core).

Written for and checked with numpy 2.4.6, scipy 1.17.1, Python 3.11.7.

* ``fuzziness_pinv``: the official He-Su computation, dense p x p SS_w and SS_b and
  ``scipy.linalg.pinv`` (as in the paper's code, ``np.trace(Sw @ pinv(Sb))``);
* ``fuzziness_svd``: the same D through a thin SVD of the weighted class-mean matrix,
  D = sum_j u_j^T SS_w u_j / s_j^2 over singular values s_j > 1e-6 s_1;
* ``nc1_svd``: Papyan NC1 = Tr(Sigma_W Sigma_B^+)/K with unweighted class means;
* ``law_fit``: numpy.polyfit of ln D on l and scipy.stats.pearsonr.
"""

import numpy as np
import scipy.linalg
import scipy.stats


def _stats(x, y, k):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n = x.shape[0]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    means = np.stack([x[y == c].mean(axis=0) for c in range(k)])
    z = x - means[y]
    return x, y, n, counts, means, z


def fuzziness_pinv(x, y, k):
    x, y, n, counts, means, z = _stats(x, y, k)
    d = means - x.mean(axis=0)
    sb = (d.T * counts) @ d / n
    sw = z.T @ z / n
    return float(np.trace(sw @ scipy.linalg.pinv(sb)))


def fuzziness_svd(x, y, k, tol=1e-6):
    x, y, n, counts, means, z = _stats(x, y, k)
    mw = ((means - x.mean(axis=0)).T * np.sqrt(counts / n))  # p x K, SS_b = mw mw^T
    u, s, _ = np.linalg.svd(mw, full_matrices=False)
    keep = s > tol * s[0]
    zu = z @ u[:, keep]
    return float(((zu**2).sum(axis=0) / n / s[keep] ** 2).sum())


def nc1_svd(x, y, k, tol=1e-6):
    x, y, n, counts, means, z = _stats(x, y, k)
    mb = (means - means.mean(axis=0)).T / np.sqrt(k)  # Sigma_B = mb mb^T
    u, s, _ = np.linalg.svd(mb, full_matrices=False)
    keep = s > tol * s[0]
    zu = z @ u[:, keep]
    return float(((zu**2).sum(axis=0) / n / s[keep] ** 2).sum()) / k


def class_means(x, y, k):
    return _stats(x, y, k)[4]


def law_fit(d):
    l = np.arange(len(d), dtype=np.float64)
    ln_d = np.log(np.asarray(d, dtype=np.float64))
    slope, intercept = np.polyfit(l, ln_d, 1)
    pred = intercept + slope * l
    r2 = 1 - ((ln_d - pred) ** 2).sum() / ((ln_d - ln_d.mean()) ** 2).sum()
    r = scipy.stats.pearsonr(l, ln_d).statistic
    return {"slope": slope, "intercept": intercept, "rho": np.exp(slope), "r2": r2, "pearson_r": r}


def clustered(n, p, k, seed, dtype=np.float64, spread=1.0, counts=None):
    """Gaussian classes around random centres; labels sorted then shuffled."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, p)) * 2.0
    if counts is None:
        y = np.arange(n) % k
    else:
        y = np.repeat(np.arange(k), counts)
    rng.shuffle(y)
    x = centres[y] + spread * rng.normal(size=(len(y), p))
    return x.astype(dtype), y.astype(np.int64)
