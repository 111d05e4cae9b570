"""Report objects built from the Rust core's JSON: attributes, NumPy arrays and ``to_dict()``.

``Report.to_dict()`` has the shape of ``layerlaw measure --json`` (less the ``file`` key):
``{"n", "classes", "class_counts", "balanced", "definitions", "layers": [...], "law",
"classifier", "notes"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

import numpy as np

__all__ = ["LayerReport", "LawFit", "ClassifierReport", "Report"]


def _plain(value: Any) -> Any:
    """JSON-compatible copy: NumPy arrays become (nested) lists, dataclasses dicts."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Record:
    """Shared ``to_dict`` (every dataclass field except those marked ``internal``)."""

    def to_dict(self) -> Dict[str, Any]:
        return {
            f.name: _plain(getattr(self, f.name))
            for f in fields(self)  # type: ignore[arg-type]
            if not f.metadata.get("internal")
        }


@dataclass
class LawFit(_Record):
    """Least-squares fit of ln D_l = ln D_0 + l ln(rho) (He & Su, PNAS 2023)."""

    slope: float
    intercept: float
    rho: float
    r2: float
    #: Pearson r of (l, ln D_l); None when all D_l are equal.
    pearson_r: Optional[float]
    #: D_{l+1} / D_l.
    ratios: List[float]

    @classmethod
    def _from_dict(cls, d: Dict[str, Any]) -> "LawFit":
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass
class LayerReport(_Record):
    """Geometry of one layer (every field of the Rust ``Separation``)."""

    name: str
    index: int
    dim: int
    num_classes: int
    num_samples: int
    #: He-Su D = Tr(SS_w SS_b^+), n_k-weighted SS_b.
    fuzziness: float
    #: Papyan NC1 = Tr(Sigma_W Sigma_B^+)/K, unweighted class means.
    nc1: float
    rank: int
    rank_nc1: int
    trace_within: float
    trace_between: float
    equinorm: float
    equiangularity: Optional[float]
    etf_distance: float
    notes: List[str]
    #: K x p class means (float64); not part of ``to_dict()``, as in the CLI's JSON.
    class_means: Optional[np.ndarray] = field(default=None, repr=False, metadata={"internal": True})

    @classmethod
    def _from_dict(cls, d: Dict[str, Any], class_means: Optional[np.ndarray] = None) -> "LayerReport":
        names = [f.name for f in fields(cls) if f.name != "class_means"]
        return cls(**{n: d[n] for n in names}, class_means=class_means)


@dataclass
class ClassifierReport(_Record):
    """NC3/NC4 of the last layer against a linear classifier, and its minority/majority geometry."""

    nc3: float
    nc4: float
    classifier_accuracy: float
    ncc_accuracy: float
    #: {"minority": {...}, "majority": {...}, "etf_distance": float}
    groups: Dict[str, Any]

    @classmethod
    def _from_dict(cls, d: Dict[str, Any]) -> "ClassifierReport":
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass
class Report(_Record):
    """Separation of every layer, the law fit and (optionally) the classifier metrics."""

    n: int
    classes: int
    class_counts: List[int]
    balanced: bool
    definitions: Dict[str, str]
    layers: List[LayerReport]
    law: Optional[LawFit]
    classifier: Optional[ClassifierReport]
    notes: List[str]

    @property
    def fuzziness(self) -> np.ndarray:
        """D of every layer, in order."""
        return np.array([layer.fuzziness for layer in self.layers])

    def __getitem__(self, name: str) -> LayerReport:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @classmethod
    def _from_native(cls, text: str, class_means: List[np.ndarray]) -> "Report":
        d = json.loads(text)
        layers = [LayerReport._from_dict(ld, m) for ld, m in zip(d["layers"], class_means)]
        return cls(
            n=d["n"],
            classes=d["classes"],
            class_counts=d["class_counts"],
            balanced=d["balanced"],
            definitions=d["definitions"],
            layers=layers,
            law=None if d["law"] is None else LawFit._from_dict(d["law"]),
            classifier=None if d["classifier"] is None else ClassifierReport._from_dict(d["classifier"]),
            notes=d["notes"],
        )
