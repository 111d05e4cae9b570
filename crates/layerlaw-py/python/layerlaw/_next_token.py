"""The law of next-token prediction (He & Su, "A Law of Next-Token Prediction in Large Language
Models", arXiv:2408.13442): per layer, the prediction residual

    PR = min_{W,b} ||Y - X W - 1 b^T||_F^2 / ||Y - mean(Y)||_F^2

of the least-squares fit of the next token Y on the layer's features X at every token position,
and the law PR_l ~ rho^l PR_0 fitted by least squares of ln PR_l on l.

Two targets: ``"one_hot"`` (Y is the n x V one-hot matrix of the next tokens; the paper's wording,
the default) and ``"token_id"`` (Y is the 1-D array of next-token ids, as the official code:
``sklearn.linear_model.LinearRegression`` on the ids, PR = MSE / ``np.var(ids)``). The fit leaves
layer 0 (the embeddings) out when there are at least 3 layers, as the official code; see
``docs/definitions.md``, "Prediction residual (law of next-token prediction)".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ._layerlaw import PredictionResidual, _fit_next_token_law
from ._reports import _Record

__all__ = ["LayerPrediction", "NextTokenLaw", "NextTokenReport", "PredictionResidual", "prediction_residual"]

Layers = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], Sequence[Any]]
FitLayers = Union[str, Tuple[int, int]]


@dataclass
class LayerPrediction(_Record):
    """One layer's prediction residual ``pr`` with what it was computed from."""

    layer: str
    dim: int
    vocab: int
    target: str
    rows: int
    distinct_tokens: int
    #: Numerical rank of the centred features' scatter (eigenvalues kept by the pseudo-inverse).
    rank: int
    #: S_yy = sum_j ||t_j - mean(t)||^2.
    total_sum_squares: float
    #: Tr(S_xy^T S_xx^+ S_xy), the variation the linear fit explains.
    explained_sum_squares: float
    pr: float

    @property
    def ln_pr(self) -> float:
        """ln PR (``-inf`` for an exact fit)."""
        return float(np.log(self.pr)) if self.pr > 0 else float("-inf")


@dataclass
class NextTokenLaw(_Record):
    """Least squares of ln PR on the position among the fitted layers: ``slope`` = ln rho per
    layer, ``intercept`` = fitted ln PR of the first fitted layer, ``pearson_r`` close to -1
    when the law holds."""

    layers: List[int]
    slope: float
    intercept: float
    rho: float
    r2: float
    pearson_r: Optional[float]
    ratios: List[float]
    #: PR of the last fitted layer over PR of the first.
    ratio_last_first: float


@dataclass
class NextTokenReport(_Record):
    """Every layer's prediction residual and the law fit (``None`` with a note when it cannot
    be fitted)."""

    target: str
    vocab_size: int
    rows: int
    layers: List[LayerPrediction]
    law: Optional[NextTokenLaw]
    notes: List[str] = field(default_factory=list)

    @property
    def pr(self) -> np.ndarray:
        """PR of every layer, in order."""
        return np.array([l.pr for l in self.layers])

    @property
    def names(self) -> List[str]:
        """The layer names, in order."""
        return [l.layer for l in self.layers]


def _fit(fit_layers: FitLayers) -> FitLayers:
    if isinstance(fit_layers, str):
        return fit_layers
    start, end = fit_layers
    return (int(start), int(end))


def _report(layer_dicts: Sequence[dict], vocab_size: int, target: str, fit_layers: FitLayers) -> NextTokenReport:
    """Assembles finished layers into a report and fits the law (a failed fit is a note)."""
    layers = [LayerPrediction(**d) for d in layer_dicts]
    law, notes = None, []
    try:
        law = NextTokenLaw(**_fit_next_token_law(np.array([l.pr for l in layers]), _fit(fit_layers)))
    except ValueError as e:
        notes.append(f"no law fit: {e}")
    rows = layers[0].rows if layers else 0
    return NextTokenReport(target=target, vocab_size=vocab_size, rows=rows, layers=layers, law=law, notes=notes)


def _items(layers: Layers) -> List[Tuple[str, Any]]:
    if isinstance(layers, Mapping):
        return [(str(k), v) for k, v in layers.items()]
    items = list(layers)
    if items and all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in items):
        return items
    return [(f"layer{l}", x) for l, x in enumerate(items)]


def _vocab(next_tokens: np.ndarray, vocab_size: Optional[int]) -> int:
    if vocab_size is not None:
        return int(vocab_size)
    if next_tokens.size == 0:
        raise ValueError("next_tokens is empty: the prediction residual needs at least 2 token positions")
    return max(int(next_tokens.max()) + 1, 2)


def prediction_residual(
    layers: Layers,
    next_tokens: Any,
    vocab_size: Optional[int] = None,
    target: str = "one_hot",
    fit_layers: FitLayers = "auto",
    rank_tolerance: float = 1e-6,
) -> NextTokenReport:
    """Prediction residual of every layer and the law of next-token prediction over them.

    ``layers`` is ``{name: X}``, a list of ``(name, X)`` or a list of arrays (named
    ``layer0``, ``layer1``, ...), in depth order, layer 0 the embeddings; row j of every X
    (n x p, float32/float64) is one token position and ``next_tokens[j]`` the id of the token
    that follows it. ``vocab_size`` defaults to max(next_tokens) + 1 (PR does not depend on it;
    the one-hot state takes 8 V p bytes). ``target`` is ``"one_hot"`` (the paper's wording) or
    ``"token_id"`` (the official code). ``fit_layers``: ``"auto"`` (all but layer 0 when there
    are at least 3 layers), ``"all"`` or ``(start, end)``. Errors (``ValueError``) name the
    layer, row and column at fault.
    """
    tokens = np.asarray(next_tokens)
    if tokens.ndim != 1:
        raise ValueError(f"next_tokens must be a 1-D integer array, got shape {tokens.shape}")
    vocab = _vocab(tokens, vocab_size)
    items = _items(layers)
    if not items:
        raise ValueError("layers is empty: give at least one layer")
    done = []
    for name, x in items:
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"layer '{name}': features must be a 2-D array (token positions x features), got shape {x.shape}")
        acc = PredictionResidual(name, x.shape[1], vocab, target)
        acc.update(x, tokens)
        done.append(acc.finish(rank_tolerance))
    return _report(done, vocab, done[0]["target"], fit_layers)
