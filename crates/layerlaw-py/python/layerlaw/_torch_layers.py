"""Layer selection, batch unpacking and feature extraction for :mod:`layerlaw.torch`.

Nothing here accumulates statistics: it turns a model, a batch and a module's output into
``(features, labels)`` rows on the activations' device.
"""

from __future__ import annotations

import difflib
import math
import re
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn

__all__ = ["LayerInfo", "Batch", "discover", "select_layers", "layer_rows", "row_labels", "unpack_batch"]

#: Labels with this value are left out at token level (the Hugging Face convention).
IGNORE_INDEX = -100

_ACTIVATIONS = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.Tanh, nn.Sigmoid,
    nn.Softplus, nn.Mish, nn.Hardswish, nn.PReLU,
)
_BLOCK_CLASSES = ("BasicBlock", "Bottleneck")
_BLOCK_LISTS = ("layer", "layers", "h", "blocks", "block")

Select = Union[None, int, str]


@dataclass
class LayerInfo:
    """A candidate layer: module name, class, output shape (one batch) and feature dimension."""

    name: str
    type: str
    shape: Tuple[int, ...]
    dim: int
    #: Whether the paper's default selection (``layers=None``) measures it.
    default: bool
    #: Times the module ran in one forward pass (only modules that run once can be measured).
    calls: int = 1


@dataclass
class Batch:
    """One loader batch: model inputs, labels (per sample or per token) and a token mask."""

    inputs: Any
    labels: torch.Tensor
    #: (b, T) bool, True for real tokens; None without a mask.
    mask: Optional[torch.Tensor]


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: _to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(v, device) for v in obj)
    return obj


def unpack_batch(batch: Any, device: torch.device, unpack: Optional[Callable] = None) -> Batch:
    """``(inputs, labels)`` or a dict with ``labels``/``label`` (the rest are keyword inputs;
    ``attention_mask`` (1 = token) or ``src_key_padding_mask``/``key_padding_mask`` (True =
    padding) give the token mask); ``unpack(batch) -> (inputs, labels[, mask])`` overrides."""
    mask = None
    if unpack is not None:
        parts = unpack(batch)
        inputs, labels = parts[0], parts[1]
        mask = parts[2] if len(parts) > 2 else None
    elif isinstance(batch, Mapping):
        key = next((k for k in ("labels", "label", "y", "targets") if k in batch), None)
        if key is None:
            raise ValueError(
                f"a dict batch needs a 'labels' key (found {sorted(batch)}); or pass unpack=..."
            )
        labels = batch[key]
        inputs = {k: v for k, v in batch.items() if k != key}
        if "attention_mask" in inputs:
            mask = inputs["attention_mask"] != 0
        else:
            pad = next((inputs[k] for k in ("src_key_padding_mask", "key_padding_mask") if k in inputs), None)
            mask = None if pad is None else ~pad.bool()
    elif isinstance(batch, (list, tuple)) and len(batch) >= 2:
        inputs, labels = batch[0], batch[1]
    else:
        raise ValueError(
            "a batch must be (inputs, labels), a dict with a 'labels' key, or unpacked by unpack=..."
        )
    labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    return Batch(
        inputs=_to(inputs, device),
        labels=labels.to(device=device, dtype=torch.int64),
        mask=None if mask is None else torch.as_tensor(mask).to(device).bool(),
    )


def call_model(model: nn.Module, inputs: Any) -> Any:
    """``model(**inputs)`` for a dict, ``model(inputs)`` otherwise."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    return model(inputs)


def input_tensor(inputs: Any) -> Optional[torch.Tensor]:
    """The floating-point input of a batch (l = 0), or None when it has none (token ids)."""
    if isinstance(inputs, torch.Tensor):
        return inputs if inputs.is_floating_point() else None
    values = inputs.values() if isinstance(inputs, Mapping) else inputs if isinstance(inputs, (list, tuple)) else []
    return next((v for v in values if isinstance(v, torch.Tensor) and v.is_floating_point()), None)


def pick_output(output: Any, select: Select, name: str) -> torch.Tensor:
    """The tensor of a module's output: itself, element ``select`` of a tuple/list, key
    ``select`` of a dict/``ModelOutput``; by default the first tensor (``last_hidden_state``
    for dicts that have it)."""
    if isinstance(output, torch.Tensor):
        if select not in (None, 0):
            raise ValueError(f"layer '{name}' returns a tensor; output={select!r} does not apply")
        return output
    if isinstance(output, Mapping) or hasattr(output, "keys"):
        keys = list(output.keys())
        if select is None:
            select = "last_hidden_state" if "last_hidden_state" in keys else next(
                (k for k in keys if isinstance(output[k], torch.Tensor)), None)
        if isinstance(select, int):
            select = keys[select] if select < len(keys) else None
        if select not in keys or not isinstance(output[select], torch.Tensor):
            raise ValueError(f"layer '{name}' returns keys {keys}; choose a tensor one with output=")
        return output[select]
    if isinstance(output, (list, tuple)):
        if select is None:
            select = next((i for i, v in enumerate(output) if isinstance(v, torch.Tensor)), None)
        if not isinstance(select, int) or not (0 <= select < len(output)) or not isinstance(output[select], torch.Tensor):
            raise ValueError(
                f"layer '{name}' returns a {type(output).__name__} of {len(output)} items; "
                f"choose a tensor one with output=<index>"
            )
        return output[select]
    raise ValueError(f"layer '{name}' returns {type(output).__name__}, which holds no tensor")


def layer_rows(t: torch.Tensor, batch: Batch, sequence: Optional[str], name: str, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows (n x p, on the tensor's device, its dtype) and their labels for one layer.

    Conv maps and other ``(b, ...)`` outputs are flattened to ``b x C*H*W``. With
    ``sequence`` (``"tokens"``, ``"mean"``, ``"first"``, ``"last"``) a ``(b, T, d)`` output
    (or ``(T, b, d)``) gives one row per real token (labels ``(b, T)``, masked and
    ``-100`` left out) or one pooled row per sequence."""
    labels, mask = batch.labels, batch.mask
    nested = t.is_nested
    if nested:
        # Fast-path transformer layers: padded to the longest real sequence of the batch.
        t = t.to_padded_tensor(0.0)
    b = labels.shape[0]
    if sequence is None:
        if t.dim() == 0 or t.shape[0] != b:
            if t.dim() >= 2 and t.shape[1] == b and mask is not None:
                t = t.transpose(0, 1)
            else:
                got = "a scalar" if t.dim() == 0 else f"{t.shape[0]} rows (shape {tuple(t.shape)})"
                raise ValueError(
                    f"layer '{name}', batch {index}: the output has {got} but the batch has {b} "
                    f"labels; measure a layer whose first dimension is the batch (or choose the "
                    f"tensor with output=)"
                )
        return t.reshape(b, -1), labels
    if t.dim() < 2:
        raise ValueError(f"layer '{name}': sequence={sequence!r} needs a (batch, tokens, ...) output, got shape {tuple(t.shape)}")
    steps = mask.shape[1] if mask is not None else (labels.shape[1] if labels.dim() == 2 else None)
    if t.shape[0] != b and t.shape[1] == b:
        t = t.transpose(0, 1)
    if nested and steps is not None and t.shape[1] < steps:
        t = torch.cat([t, t.new_zeros(t.shape[0], steps - t.shape[1], *t.shape[2:])], 1)
    if t.shape[0] != b or (steps is not None and t.shape[1] < steps):
        raise ValueError(
            f"layer '{name}', batch {index}: output shape {tuple(t.shape)} does not match "
            f"{b} sequences" + (f" of {steps} tokens" if steps is not None else "")
        )
    if steps is not None and t.shape[1] > steps:
        t = t[:, :steps]
    t = t.reshape(t.shape[0], t.shape[1], -1)
    valid = mask if mask is not None else torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
    if sequence == "tokens":
        if labels.dim() != 2 or labels.shape != valid.shape:
            raise ValueError(
                f"batch {index}: sequence='tokens' needs labels of shape (batch, tokens) = "
                f"{tuple(valid.shape)}, got {tuple(labels.shape)}"
            )
        keep = valid & (labels != IGNORE_INDEX)
        return t[keep], labels[keep]
    if labels.dim() != 1:
        raise ValueError(f"batch {index}: sequence={sequence!r} pools each sequence and needs one label per sequence, got labels of shape {tuple(labels.shape)}")
    if sequence == "mean":
        w = valid.to(t.dtype).unsqueeze(-1)
        return (t * w).sum(1) / w.sum(1).clamp(min=1), labels
    if sequence == "first":
        return t[:, 0], labels
    if sequence == "last":
        last = valid.long().sum(1).clamp(min=1) - 1
        return t[torch.arange(b, device=t.device), last], labels
    raise ValueError(f"sequence must be None, 'tokens', 'mean', 'first' or 'last', got {sequence!r}")


def row_labels(batch: Batch, sequence: Optional[str]) -> torch.Tensor:
    """The labels of the rows that :func:`layer_rows` gives for this batch (same order)."""
    if sequence != "tokens":
        return batch.labels
    valid = batch.mask if batch.mask is not None else torch.ones_like(batch.labels, dtype=torch.bool)
    if batch.labels.shape != valid.shape:
        raise ValueError(
            f"sequence='tokens' needs labels of shape (batch, tokens) = {tuple(valid.shape)}, "
            f"got {tuple(batch.labels.shape)}"
        )
    return batch.labels[valid & (batch.labels != IGNORE_INDEX)]


def discover(model: nn.Module, batch: Batch, select: Any = None) -> Tuple[List[LayerInfo], Any, Dict[str, nn.Module]]:
    """Runs one forward pass with a hook on every module; returns every module that ran, in
    order of first call (with output shape and call count), the model output and the modules
    by name. Modules whose output is the model output (the logits) are marked."""
    modules = dict(model.named_modules())
    # Per module: [weak reference to its output tensor, output shape, calls]; no output is
    # kept alive beyond the forward pass (that would hold every activation of the batch).
    seen: Dict[str, List[Any]] = {}
    order: List[str] = []

    def hook(name):
        def record(module, args, output):
            if name not in seen:
                order.append(name)
                sel = select.get(name) if isinstance(select, Mapping) else select
                try:
                    t = pick_output(output, sel, name)
                    shape = tuple(t.to_padded_tensor(0.0).shape) if t.is_nested else tuple(t.shape)
                    ref = weakref.ref(t)
                except ValueError:
                    shape, ref = (), None
                seen[name] = [ref, shape, 0]
            seen[name][2] += 1
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items() if n]
    try:
        with torch.no_grad():
            out = call_model(model, batch.inputs)
    finally:
        for h in handles:
            h.remove()
    final = pick_output(out, None, "model") if not isinstance(out, torch.Tensor) else out
    infos = []
    is_final = {}
    for name in order:
        ref, shape, calls = seen[name]
        is_final[name] = ref is not None and ref() is final
        dim = math.prod(shape[1:]) if len(shape) > 1 else 1
        infos.append(LayerInfo(name, type(modules[name]).__name__, shape, dim, False, calls))
    # The logits: an nn.Linear whose output is the model's, and the containers returning it.
    heads = [n for n, f in is_final.items() if f and isinstance(modules[n], nn.Linear)]
    for info in infos:
        info._logits = is_final[info.name] and any(  # type: ignore[attr-defined]
            h == info.name or h.startswith(info.name + ".") for h in heads)
    return infos, out, modules


def _default_names(model: nn.Module, infos: List[LayerInfo], modules: Dict[str, nn.Module]) -> List[str]:
    """The paper's layers: every block (BasicBlock/Bottleneck, transformer encoder layers and
    the items of ``*.layer(s)``/``*.h``/``*.blocks`` lists, with the ResNet stem before and
    the pooled features after), else the children of an ``nn.Sequential`` (its activations
    when it has them; no Flatten, Dropout or Identity), else every BN->ReLU unit (VGG), else
    the top-level children; logits and modules that run more than once are left out."""
    ran = {i.name: i for i in infos}
    usable = [i.name for i in infos if i.calls == 1 and not getattr(i, "_logits", False) and i.shape]
    pos = {n: k for k, n in enumerate(i.name for i in infos)}

    def is_block(name: str) -> bool:
        m = modules[name]
        if type(m).__name__ in _BLOCK_CLASSES or isinstance(m, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
            return True
        parent, _, leaf = name.rpartition(".")
        if not leaf.isdigit() or not parent:
            return False
        container = modules.get(parent)
        if not isinstance(container, nn.ModuleList) or parent.rpartition(".")[2] not in _BLOCK_LISTS:
            return False
        return len({type(c) for c in container}) == 1

    blocks = [n for n in usable if is_block(n) and not any(is_block(a) for a in _ancestors(n))]
    if blocks:
        names = list(blocks)
        if any(type(modules[n]).__name__ in _BLOCK_CLASSES for n in blocks):
            top = [n for n in usable if "." not in n]
            before = [n for n in top if pos[n] < pos[blocks[0]] and not _is_ancestor(n, blocks[0])]
            after = [n for n in top if pos[n] > pos[blocks[-1]] and not _is_ancestor(n, blocks[-1])]
            after = [n for n in after if not isinstance(modules[n], (nn.Flatten, nn.Dropout))]
            names = before[-1:] + names + after[-1:]
        return names
    passive = (nn.Flatten, nn.Dropout, nn.Identity)
    if isinstance(model, nn.Sequential):
        children = [n for n in usable if "." not in n and not isinstance(modules[n], passive)]
        acts = [n for n in children if isinstance(modules[n], _ACTIVATIONS)]
        return acts or children
    units = []
    for name in usable:
        m = modules[name]
        parent, _, leaf = name.rpartition(".")
        container = modules.get(parent) if parent else model
        if isinstance(m, _ACTIVATIONS) and isinstance(container, nn.Sequential) and leaf.isdigit() and int(leaf) > 0:
            prev = container[int(leaf) - 1]
            if isinstance(prev, nn.modules.batchnorm._BatchNorm):
                units.append(name)
    if units:
        return units
    return [n for n in usable if "." not in n and n in ran]


def _ancestors(name: str) -> List[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def _is_ancestor(a: str, b: str) -> bool:
    return b.startswith(a + ".")


def _glob(pattern: str) -> "re.Pattern[str]":
    """A module-name glob: ``*`` and ``?`` stay inside one dotted component, ``**`` crosses
    them, ``[...]`` is a character class (``"layer*.*"`` matches ``layer1.0``, not
    ``layer1.0.conv1``)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^.]*")
        elif c == "?":
            out.append("[^.]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                out.append(pattern[i:j + 1].replace("[!", "[^"))
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def select_layers(model: nn.Module, infos: List[LayerInfo], modules: Dict[str, nn.Module], layers: Any) -> List[str]:
    """Module names to measure, in order: the default (``None``), or names and glob patterns
    (see :func:`_glob`; matches of a pattern in order of execution). Unknown names raise ``ValueError`` listing
    close names; modules that did not run, or ran more than once, are refused."""
    if layers is None:
        return _default_names(model, infos, modules)
    if isinstance(layers, str):
        layers = [layers]
    ran = {i.name: i for i in infos}
    names: List[str] = []
    for pattern in layers:
        if any(ch in pattern for ch in "*?["):
            regex = _glob(pattern)
            matched = [i.name for i in infos if regex.fullmatch(i.name)]
            if not matched:
                raise ValueError(f"layer pattern {pattern!r} matches no module that runs; e.g. {', '.join(list(ran)[:8])}")
            names.extend(m for m in matched if m not in names)
            continue
        if pattern not in modules or not pattern:
            close = difflib.get_close_matches(pattern, [n for n in modules if n], n=5, cutoff=0.5)
            hint = f"; close names: {', '.join(close)}" if close else ""
            raise ValueError(f"unknown layer {pattern!r}: the model has no module of that name{hint}")
        if pattern not in ran:
            raise ValueError(f"layer {pattern!r} did not run in the forward pass")
        names.append(pattern)
    for n in names:
        if ran[n].calls != 1:
            raise ValueError(f"module '{n}' runs {ran[n].calls} times per forward pass; measure modules that run once (e.g. the enclosing block)")
    return names
