"""layerlaw: separation fuzziness, the law of equi-separation and the Layer-Peeled Model.

* :func:`fuzziness` -- He & Su (PNAS 2023) separation fuzziness D = Tr(SS_w SS_b^+);
* :func:`measure` -- every layer's D, NC1, NC2 (and NC3/NC4 with a classifier), and the law
  fit ln D_l = ln D_0 + l ln(rho) (over every layer, or the layers ``fit_layers=`` selects,
  with the residual of every layer in ``report.law.residuals``), as a :class:`Report` (the report of ``layerlaw measure``;
  ``Report.to_dict()`` has the shape of its ``--json`` output). A law that cannot be fitted
  (one layer, a layer with D = 0) gives ``report.law is None`` and a note saying why;
* :func:`fit_law` -- the law fit alone;
* :class:`Accumulator` -- streaming, mergeable, picklable statistics for data that does not
  fit in memory or is spread over processes;
* :mod:`layerlaw.lpm` -- the Layer-Peeled Model and Minority Collapse (Fang, He, Long & Su,
  PNAS 2021).

Features are NumPy arrays (or anything ``numpy.asarray`` accepts, e.g. CPU torch tensors),
n x p in any layout, float32 or float64, read without copying; labels are integer arrays of
any dtype. Bad input raises ``ValueError`` (``TypeError`` for a wrong dtype) with a message
naming the layer, row, column or class at fault; solver trouble raises ``RuntimeError``.
Computations release the GIL.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import lpm
from ._next_token import LayerPrediction, NextTokenLaw, NextTokenReport, PredictionResidual, prediction_residual
from ._layerlaw import (
    Accumulator,
    ClassifierReport,
    LawFit,
    LayerReport,
    Report,
    __version__,
    _check_fit_layers,
    _fit_law,
    _measure,
    _refit,
    fuzziness,
)

__all__ = [
    "Accumulator",
    "ClassifierReport",
    "LawFit",
    "LayerReport",
    "Report",
    "fit_law",
    "fuzziness",
    "lpm",
    "measure",
    "refit",
    "__version__",
]

Layers = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]
FitLayers = Union[None, str, Sequence[int]]


def measure(
    layers: Layers,
    y: Any,
    num_classes: Optional[int] = None,
    classifier_weight: Any = None,
    classifier_bias: Any = None,
    minority: Optional[Sequence[int]] = None,
    fit_layers: FitLayers = None,
) -> Report:
    """Measures every layer and fits the law of equi-separation over them, in order.

    ``layers`` is ``{name: X}`` or a list of ``(name, X)``; each X is n x p (n x ... is
    flattened). ``num_classes`` defaults to max(y) + 1; every class in 0..K must occur.
    With ``classifier_weight`` (K x p, the last layer's dimension) and optional
    ``classifier_bias`` (K), the report also has NC3, NC4 and the geometry of the
    ``minority`` and majority classifier rows. When the law cannot be fitted (a single layer,
    a layer with D = 0), ``law`` is None and ``notes`` says why.

    ``fit_layers`` chooses the layers of the law fit: ``None`` (all), a specification of
    indices and inclusive ranges such as ``"1.."`` (layer 1 to the last) or ``"0,2..5"``, or a
    list of indices. The fit uses the layers' real indices l, so rho stays per layer;
    ``report.law.fit_layers`` lists them and ``report.law.residuals`` holds
    ln D_l - (intercept + slope * l) for every layer. A specification naming a layer that does
    not exist, or fewer than two layers, raises ``ValueError``.
    """
    items = list(layers.items()) if isinstance(layers, Mapping) else layers
    minority_list = None if minority is None else [int(c) for c in minority]
    return _measure(items, y, num_classes, classifier_weight, classifier_bias, minority_list, fit_layers)


def fit_law(d: Any, fit_layers: FitLayers = None) -> LawFit:
    """Least-squares fit of ln D_l = ln D_0 + l ln(rho) to D_0, ..., D_{L-1} (at least two, all > 0),
    over the layers ``fit_layers`` selects (see :func:`measure`), at their real indices."""
    return _fit_law(np.asarray(d, dtype=np.float64), fit_layers)


def refit(report: Report, fit_layers: FitLayers) -> Report:
    """A copy of ``report`` with the law fitted over ``fit_layers`` (see :func:`measure`)."""
    return _refit(report, fit_layers)
