"""The Layer-Peeled Model and Minority Collapse (Fang, He, Long & Su, PNAS 118(43), 2021).

    min_{W,H} (1/N) sum_k sum_i CE(W h_{k,i}, k)
    s.t. (1/K) sum_k ||w_k||^2 <= E_W,  (1/K) sum_k (1/n_k) sum_i ||h_{k,i}||^2 <= E_H

solved exactly through its convex (SDP) relaxation, or by projected gradient (``method=
"nonconvex"``). :func:`solve` solves one problem, :func:`sweep` follows the imbalance ratio R
and locates the onset of Minority Collapse, :func:`balanced_optimum` is the simplex-ETF
closed form. Bad arguments raise ``ValueError``; a solve that does not reach a usable status
raises ``RuntimeError`` (``check=False`` returns it instead).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._layerlaw import _lpm_balanced_optimum, _lpm_solve, _lpm_sweep
from ._reports import _Record

__all__ = ["LpmSolution", "SweepPoint", "Sweep", "BalancedOptimum", "solve", "sweep", "balanced_optimum"]

_MATRICES = ("gram", "w", "h")


@dataclass
class LpmSolution(_Record):
    """A solved Layer-Peeled Model (``gram``, ``w``, ``h`` and the eigenvalues are NumPy arrays)."""

    method: str
    status: str
    objective: Optional[float]
    #: 2K x 2K Gram of [h_1..h_K, w_1..w_K].
    gram: np.ndarray
    gram_eigenvalues: np.ndarray
    rank: int
    #: K x r classifiers and K x r class-mean features recovered from the Gram.
    w: np.ndarray
    h: np.ndarray
    minority_cosine: Optional[float]
    majority_cosine: Optional[float]
    minority_distance: Optional[float]
    minority_max_distance: Optional[float]
    majority_distance: Optional[float]
    minority_norm: Optional[float]
    majority_norm: Optional[float]
    minority_collapsed: Optional[bool]
    etf_distance: Optional[float]
    iterations: int
    solve_time_s: float
    notes: List[str]

    @classmethod
    def _from_dict(cls, d: Dict[str, Any]) -> "LpmSolution":
        values = {f.name: d[f.name] for f in fields(cls)}
        for name in _MATRICES:
            rows = d[name]
            values[name] = np.array(rows, dtype=np.float64).reshape(len(rows), len(rows[0]) if rows else 0)
        values["gram_eigenvalues"] = np.array(d["gram_eigenvalues"], dtype=np.float64)
        return cls(**values)


@dataclass
class SweepPoint(_Record):
    """One ratio R of a sweep."""

    ratio: float
    status: str
    objective: Optional[float]
    minority_cosine: Optional[float]
    majority_cosine: Optional[float]
    minority_distance: Optional[float]
    minority_max_distance: Optional[float]
    majority_distance: Optional[float]
    minority_norm: Optional[float]
    majority_norm: Optional[float]
    etf_distance: Optional[float]
    rank: int
    collapsed: Optional[bool]
    solve_time_s: float
    notes: List[str]


@dataclass
class Sweep(_Record):
    """Minority Collapse over the imbalance ratio: one point per ratio and the collapse ratio."""

    k_a: int
    k_b: int
    e_w: float
    e_h: float
    minority_weight: float
    collapse_tolerance: float
    points: List[SweepPoint]
    collapse_ratio: Optional[float]
    collapse_bracket: Optional[List[float]]
    total_time_s: float
    notes: List[str]

    @property
    def ratios(self) -> np.ndarray:
        """The ratios R, in the order given."""
        return np.array([p.ratio for p in self.points])

    @property
    def minority_cosine(self) -> np.ndarray:
        """Mean minority cosine per ratio (NaN where undefined)."""
        return np.array([np.nan if p.minority_cosine is None else p.minority_cosine for p in self.points])

    @classmethod
    def _from_dict(cls, d: Dict[str, Any]) -> "Sweep":
        values = {f.name: d[f.name] for f in fields(cls)}
        values["points"] = [SweepPoint(**{f.name: p[f.name] for f in fields(SweepPoint)}) for p in d["points"]]
        return cls(**values)


@dataclass
class BalancedOptimum(_Record):
    """Closed-form optimum of balanced classes: a simplex ETF."""

    objective: float
    cosine: float
    gram: np.ndarray


def solve(
    majority: int = 5,
    minority: int = 5,
    ratio: float = 10.0,
    ew: float = 1.0,
    eh: float = 5.0,
    minority_weight: float = 1.0,
    counts: Optional[Sequence[float]] = None,
    method: str = "auto",
    *,
    minority_classes: Optional[Sequence[int]] = None,
    dim: Optional[int] = None,
    restarts: int = 4,
    seed: int = 0,
    tolerance: float = 1e-9,
    sdp_max_iter: int = 200,
    nonconvex_max_iter: int = 50_000,
    rank_tolerance: float = 1e-6,
    collapse_tolerance: float = 1e-3,
    check: bool = True,
) -> LpmSolution:
    """Solves the Layer-Peeled Model.

    Step imbalance by default: ``majority`` classes with n_A = ``ratio`` examples and
    ``minority`` classes with n_B = 1. With ``counts`` (one positive n_k per class) those three
    are ignored and the minority classes are those below the largest count (or
    ``minority_classes``). ``minority_weight`` multiplies the minority loss terms
    (oversampling). ``method``: "auto", "general_sdp", "symmetric_sdp" or "nonconvex" (then
    ``dim`` = p, default 2K, ``restarts`` and ``seed``).
    """
    text = _lpm_solve(
        majority,
        minority,
        ratio,
        ew,
        eh,
        minority_weight,
        None if counts is None else [float(c) for c in counts],
        None if minority_classes is None else [int(c) for c in minority_classes],
        method,
        dim,
        restarts,
        seed,
        tolerance,
        sdp_max_iter,
        nonconvex_max_iter,
        rank_tolerance,
        collapse_tolerance,
        check,
    )
    return LpmSolution._from_dict(json.loads(text))


def sweep(
    majority: int = 5,
    minority: int = 5,
    ew: float = 1.0,
    eh: float = 5.0,
    ratios: Optional[Sequence[float]] = None,
    minority_weight: float = 1.0,
    method: str = "auto",
    *,
    dim: Optional[int] = None,
    restarts: int = 4,
    seed: int = 0,
    tolerance: float = 1e-9,
    sdp_max_iter: int = 200,
    nonconvex_max_iter: int = 50_000,
    rank_tolerance: float = 1e-6,
    collapse_tolerance: float = 1e-3,
) -> Sweep:
    """Solves step-imbalance problems for every ratio (default R = 10^(0.1 i), i = 0..40, as in
    the official code) and locates the collapse ratio by bisection. Points whose solve failed
    keep their status (no exception); ``notes`` counts them."""
    text = _lpm_sweep(
        majority,
        minority,
        ew,
        eh,
        None if ratios is None else [float(r) for r in ratios],
        minority_weight,
        method,
        dim,
        restarts,
        seed,
        tolerance,
        sdp_max_iter,
        nonconvex_max_iter,
        rank_tolerance,
        collapse_tolerance,
    )
    return Sweep._from_dict(json.loads(text))


def balanced_optimum(classes: int, ew: float = 1.0, eh: float = 5.0) -> BalancedOptimum:
    """The simplex-ETF optimum of K balanced classes: cosine -1/(K-1), objective
    log(1 + (K-1) exp(-K sqrt(E_H E_W)/(K-1)))."""
    d = json.loads(_lpm_balanced_optimum(classes, ew, eh))
    return BalancedOptimum(objective=d["objective"], cosine=d["cosine"], gram=np.array(d["gram"], dtype=np.float64))
