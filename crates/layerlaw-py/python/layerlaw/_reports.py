"""The report types, built in Rust (``layerlaw_experiments``, the report behind ``layerlaw measure``):
``Report``, ``LayerReport``, ``LawFit``, ``ClassifierReport`` with attribute getters and ``to_dict()``.

``Report.to_dict()`` has the shape of ``layerlaw measure --json`` (less the ``file`` key):
``{"n", "classes", "class_counts", "balanced", "definitions", "layers": [...], "law",
"classifier", "notes"}``. ``_Record`` gives the Python dataclasses of :mod:`layerlaw.lpm` the
same ``to_dict()``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Dict

import numpy as np

from ._layerlaw import ClassifierReport, LawFit, LayerReport, Report

__all__ = ["LayerReport", "LawFit", "ClassifierReport", "Report"]


def _plain(value: Any) -> Any:
    """JSON-compatible copy: NumPy arrays become (nested) lists, records dicts."""
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
    """Shared ``to_dict`` of dataclasses (every field except those marked ``internal``)."""

    def to_dict(self) -> Dict[str, Any]:
        return {
            f.name: _plain(getattr(self, f.name))
            for f in fields(self)  # type: ignore[arg-type]
            if not f.metadata.get("internal")
        }
