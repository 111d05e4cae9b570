"""The saved state of a two-pass measurement (:class:`State`): merge, save, load, finish.

File layout (little-endian): magic ``LLTORCH1`` | u64 header length | UTF-8 JSON header
(format, kind, layer names, settings, label digests, classifier, centre counts) | per layer:
u64 length + ``Pass1.to_bytes()`` | for a pass-2 state, per layer: u64 length +
``Pass2.to_bytes()``. The Rust core validates each state's own versioned, checksummed bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._layerlaw import Pass1, Pass2, _measure_statistics
from ._reports import Report

__all__ = ["State", "load", "merge", "finish"]

_MAGIC = b"LLTORCH1"
_FORMAT = 1


@dataclass
class State:
    """One pass of a two-pass measurement over some data (one shard, or all of it).

    ``kind`` is ``"pass1"`` (class counts and sums per layer) or ``"pass2"`` (also the
    projected within-class scatter per layer, for the basis of the merged pass 1 stored in
    ``pass1``). ``digests`` are the label-sequence hashes of the pass-1 shards (pass 2 of a
    shard must match one of them). ``save``/``load`` write and read a file; :func:`merge`
    adds states of disjoint shards; :func:`finish` turns a complete pass-2 state into a
    ``Report``.
    """

    kind: str
    names: List[str]
    pass1: List[Pass1]
    settings: Dict[str, Any]
    digests: List[str]
    pass2: Optional[List[Pass2]] = None
    #: (samples, disagree, classifier_correct, ncc_correct) of the classifier on the last layer.
    agreement: Optional[List[int]] = None
    #: {"weight": K x p list, "bias": K list or None, "minority": list}
    classifier: Optional[Dict[str, Any]] = None
    notes: List[str] = field(default_factory=list)

    @property
    def num_samples(self) -> int:
        """Samples of pass 1 (every layer sees the same)."""
        return int(self.pass1[0].num_samples)

    def save(self, path: str) -> None:
        """Writes the state to ``path`` (format in the module docs)."""
        header = {
            "format": _FORMAT,
            "kind": self.kind,
            "names": self.names,
            "settings": self.settings,
            "digests": self.digests,
            "agreement": self.agreement,
            "classifier": self.classifier,
            "notes": self.notes,
        }
        text = json.dumps(header).encode()
        with open(path, "wb") as f:
            f.write(_MAGIC + struct.pack("<Q", len(text)) + text)
            for part in self.pass1 + (self.pass2 or []):
                data = part.to_bytes()
                f.write(struct.pack("<Q", len(data)) + data)

    @staticmethod
    def load(path: str) -> "State":
        """Reads a file written by :meth:`save`, validating it (``ValueError`` if corrupt)."""
        with open(path, "rb") as f:
            data = f.read()
        pos = 0

        def take(n: int, what: str) -> bytes:
            nonlocal pos
            if pos + n > len(data):
                raise ValueError(f"{path}: truncated state file ({what} needs {n} bytes at offset {pos})")
            out = data[pos:pos + n]
            pos += n
            return out

        if take(8, "magic") != _MAGIC:
            raise ValueError(f"{path}: not a layerlaw.torch state file (bad magic)")
        (length,) = struct.unpack("<Q", take(8, "header length"))
        try:
            header = json.loads(take(length, "header").decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: corrupt header ({e})") from None
        if header.get("format") != _FORMAT or header.get("kind") not in ("pass1", "pass2"):
            raise ValueError(f"{path}: unsupported state format {header.get('format')!r} / kind {header.get('kind')!r}")
        names = header["names"]

        def parts(cls):
            out = []
            for name in names:
                (n,) = struct.unpack("<Q", take(8, f"layer '{name}' length"))
                try:
                    out.append(cls.from_bytes(take(n, f"layer '{name}'")))
                except ValueError as e:
                    raise ValueError(f"{path}: layer '{name}': {e}") from None
            return out

        pass1 = parts(Pass1)
        pass2 = parts(Pass2) if header["kind"] == "pass2" else None
        if pos != len(data):
            raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
        return State(
            kind=header["kind"], names=names, pass1=pass1, settings=header["settings"],
            digests=header["digests"], pass2=pass2, agreement=header["agreement"],
            classifier=header["classifier"], notes=header.get("notes", []),
        )


def _check_same(a: State, b: State) -> None:
    if a.kind != b.kind or a.names != b.names:
        raise ValueError(f"cannot merge a {a.kind} state of layers {a.names} with a {b.kind} state of layers {b.names}")
    if a.settings != b.settings:
        raise ValueError(f"cannot merge states measured with different settings: {a.settings} vs {b.settings}")


def merge(states: Sequence[Any]) -> State:
    """Adds states of disjoint shards (``State`` objects or file paths), in the order given.

    Pass-1 states: counts and sums add. Pass-2 states must come from the same merged pass 1
    (checked by the basis fingerprint): scatters, sums of squares and centre counts add."""
    states = [State.load(s) if isinstance(s, str) else s for s in states]
    if not states:
        raise ValueError("merge needs at least one state")
    first = states[0]
    pass1 = [Pass1.from_bytes(p.to_bytes()) for p in first.pass1]
    pass2 = None if first.pass2 is None else [Pass2.from_bytes(p.to_bytes()) for p in first.pass2]
    agreement = None if first.agreement is None else list(first.agreement)
    digests = list(first.digests)
    for other in states[1:]:
        _check_same(first, other)
        if first.kind == "pass1":
            for name, mine, theirs in zip(first.names, pass1, other.pass1):
                try:
                    mine.merge(theirs)
                except ValueError as e:
                    raise ValueError(f"layer '{name}': {e}") from None
            digests += other.digests
        else:
            if any(a.to_bytes() != b.to_bytes() for a, b in zip(first.pass1, other.pass1)):
                raise ValueError("cannot merge pass-2 states of different pass-1 states: run pass 2 of every shard with the same merged pass-1 state")
            for name, mine, theirs in zip(first.names, pass2, other.pass2):
                try:
                    mine.merge(theirs)
                except ValueError as e:
                    raise ValueError(f"layer '{name}': {e}") from None
            if agreement is not None and other.agreement is not None:
                agreement = [a + b for a, b in zip(agreement, other.agreement)]
            digests += other.digests
    return State(
        kind=first.kind, names=first.names, pass1=pass1, settings=first.settings,
        digests=digests, pass2=pass2, agreement=agreement, classifier=first.classifier,
        notes=list(first.notes),
    )


def finish(state: Any) -> Report:
    """The ``Report`` of a complete pass-2 state (a ``State`` or a file path): every layer's
    separation, the law fit and, when pass 2 had a classifier, NC3/NC4."""
    if isinstance(state, str):
        state = State.load(state)
    if state.kind != "pass2":
        raise ValueError("finish needs a pass-2 state (run layerlaw.torch.pass2 with the merged pass-1 state)")
    tol = float(state.settings.get("rank_tolerance", 1e-6))
    bases = []
    for name, p1 in zip(state.names, state.pass1):
        try:
            bases.append(p1.close(tol))
        except ValueError as e:
            raise ValueError(f"layer '{name}': {e}") from None
    weight = minority = None
    if state.classifier is not None:
        weight = np.asarray(state.classifier["weight"], dtype=np.float64)
        minority = state.classifier.get("minority") or None
    return _measure_statistics(
        state.names, bases, state.pass2, weight,
        None if state.agreement is None or weight is None else tuple(int(v) for v in state.agreement),
        minority, list(state.notes),
    )


def load(path: str) -> State:
    """Reads a state file written by ``State.save``."""
    return State.load(path)
