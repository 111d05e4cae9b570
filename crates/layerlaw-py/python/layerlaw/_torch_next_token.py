"""``layerlaw.torch.measure_next_token``: the law of next-token prediction of a live causal
language model, streamed over batches of token ids on the model's device.

For every batch the model runs once (eval mode, ``torch.no_grad()``) and yields the hidden states
of every layer, ``(b, T, d)`` each: with HF-style ``output_hidden_states=True`` (embeddings, then
every block), or from a ``hidden_states(model, input_ids, attention_mask)`` callable. Position j
of a sequence is a row when it and position j + 1 are real tokens (attention mask 1), so padding
and the last token of each sequence are dropped; its label is the token at j + 1. Per layer the
sums of ``layerlaw.PredictionResidual`` (shift c = the first batch's mean, sum(x - c),
sum (x - c)(x - c)^T, the per-token sums of x - c or sum y (x - c), token counts) accumulate in
float64 torch tensors on the device; only they reach the Rust finish.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ._layerlaw import PredictionResidual
from ._next_token import FitLayers, NextTokenReport, _report

__all__ = ["measure_next_token"]

TARGETS = {"one_hot": "one_hot", "one-hot": "one_hot", "token_id": "token_id", "token-id": "token_id"}


def _unpack(batch: Any, device: torch.device):
    """(input_ids, attention_mask or None) from a tensor, a pair or a dict."""
    if isinstance(batch, Mapping):
        ids, mask = batch.get("input_ids"), batch.get("attention_mask")
        if ids is None:
            raise ValueError("a dict batch needs an 'input_ids' entry")
    elif isinstance(batch, (tuple, list)):
        if len(batch) not in (1, 2):
            raise ValueError(f"a batch must be input_ids or (input_ids, attention_mask), got {len(batch)} items")
        ids, mask = batch[0], batch[1] if len(batch) == 2 else None
    else:
        ids, mask = batch, None
    ids = torch.as_tensor(ids).to(device)
    if ids.dim() != 2 or ids.dtype.is_floating_point:
        raise ValueError(f"input_ids must be a (batch, length) integer tensor, got {tuple(ids.shape)} {ids.dtype}")
    if mask is not None:
        mask = torch.as_tensor(mask).to(device)
        if tuple(mask.shape) != tuple(ids.shape):
            raise ValueError(f"attention_mask has shape {tuple(mask.shape)} but input_ids has {tuple(ids.shape)}")
    return ids, mask


def _hf_hidden_states(model: nn.Module, ids: torch.Tensor, mask: Optional[torch.Tensor]) -> Sequence[torch.Tensor]:
    kwargs = {"input_ids": ids, "output_hidden_states": True}
    if mask is not None:
        kwargs["attention_mask"] = mask
    try:
        out = model(**kwargs)
    except TypeError as e:
        raise TypeError(
            f"the model does not take input_ids=..., output_hidden_states=True ({e}); pass "
            f"hidden_states=lambda model, input_ids, attention_mask: [h0, h1, ...]"
        ) from None
    states = out.get("hidden_states") if isinstance(out, Mapping) else getattr(out, "hidden_states", None)
    if states is None:
        raise ValueError("the model's output has no hidden_states; pass a hidden_states callable")
    return states


class _Layer:
    """The device sums of one layer (see the module docs)."""

    def __init__(self, name: str, dim: int, vocab: int, one_hot: bool, dtype, device):
        self.name, self.dim, self.one_hot = name, dim, one_hot
        self.shift = None
        self.sum = torch.zeros(dim, dtype=dtype, device=device)
        self.scatter = torch.zeros(dim, dim, dtype=dtype, device=device)
        self.cross = torch.zeros(vocab if one_hot else 1, dim, dtype=dtype, device=device)

    def add(self, x: torch.Tensor, y: torch.Tensor, index: int) -> None:
        if x.shape[1] != self.dim:
            raise ValueError(f"layer '{self.name}', batch {index}: dimension {x.shape[1]}, but {self.dim} in the first batch")
        f = x.to(self.sum.dtype)
        finite = torch.isfinite(f)
        if not bool(finite.all()):
            row, col = (int(v) for v in (~finite).nonzero()[0])
            raise ValueError(
                f"layer '{self.name}', batch {index}: feature at row {row}, column {col} is not finite ({float(f[row, col])})"
            )
        if f.shape[0] == 0:
            return
        if self.shift is None:
            self.shift = f.mean(0)
        z = f - self.shift
        self.sum += z.sum(0)
        self.scatter.addmm_(z.T, z)
        if self.one_hot:
            self.cross.index_add_(0, y, z)
        else:
            self.cross += (y.to(z.dtype) @ z).unsqueeze(0)

    def finish(self, vocab: int, target: str, counts: np.ndarray, rank_tolerance: float) -> dict:
        def host(t):
            return t.detach().cpu().numpy().astype(np.float64)

        shift = np.zeros(self.dim) if self.shift is None else host(self.shift)
        acc = PredictionResidual.from_sums(
            self.name, vocab, target, shift, host(self.sum), host(self.scatter), host(self.cross), counts
        )
        return acc.finish(rank_tolerance)


def _vocab(model: nn.Module, vocab_size: Optional[int]) -> int:
    if vocab_size is not None:
        return int(vocab_size)
    config = getattr(model, "config", None)
    if getattr(config, "vocab_size", None):
        return int(config.vocab_size)
    get = getattr(model, "get_input_embeddings", None)
    emb = get() if callable(get) else None
    if isinstance(emb, nn.Embedding):
        return emb.num_embeddings
    raise ValueError("cannot tell the vocabulary size from the model: pass vocab_size=V")


def measure_next_token(
    model: nn.Module,
    batches: Iterable[Any],
    *,
    vocab_size: Optional[int] = None,
    target: str = "one_hot",
    fit_layers: FitLayers = "auto",
    hidden_states: Optional[Callable[..., Sequence[torch.Tensor]]] = None,
    names: Optional[List[str]] = None,
    device: Any = None,
    rank_tolerance: float = 1e-6,
) -> NextTokenReport:
    """Prediction residual of every hidden layer of a causal LM and the law fit over them.

    ``batches`` yields ``input_ids`` (b x T integers), ``(input_ids, attention_mask)`` or dicts
    with ``input_ids`` and optionally ``attention_mask``. ``hidden_states(model, input_ids,
    attention_mask)`` returns the list of ``(b, T, d)`` hidden states (default: the model's
    ``output_hidden_states=True``). ``vocab_size`` defaults to ``model.config.vocab_size`` or the
    input embedding's size; ``names`` to ``embeddings, layer1, ..., layerL``. ``target``:
    ``"one_hot"`` (the paper's wording) or ``"token_id"`` (the official code); ``fit_layers``:
    ``"auto"`` (all but the embeddings when there are at least 3 layers), ``"all"`` or
    ``(start, end)``. The one-hot sums take 8 V d bytes per layer on the device.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be 'one_hot' (the paper's wording) or 'token_id' (the official code), got {target!r}")
    target = TARGETS[target]
    vocab = _vocab(model, vocab_size)
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
    device = torch.device(device)
    dtype = torch.float32 if device.type == "mps" else torch.float64
    run = hidden_states or _hf_hidden_states
    layers: Optional[List[_Layer]] = None
    counts = torch.zeros(vocab, dtype=torch.int64, device=device)
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            for index, batch in enumerate(batches):
                ids, mask = _unpack(batch, device)
                real = torch.ones_like(ids, dtype=torch.bool) if mask is None else mask.bool()
                keep = real[:, :-1] & real[:, 1:]
                y = ids[:, 1:][keep]
                if y.numel():
                    lo, hi = int(y.min()), int(y.max())
                    if lo < 0 or hi >= vocab:
                        bad = (y < 0) | (y >= vocab)
                        row = int(bad.nonzero()[0][0])
                        raise ValueError(
                            f"batch {index}: next-token id at row {row} is {int(y[row])}, but the vocabulary has {vocab} tokens"
                        )
                states = list(run(model, ids, mask))
                if layers is None:
                    labels = names or ["embeddings"] + [f"layer{l}" for l in range(1, len(states))]
                    if len(labels) != len(states):
                        raise ValueError(f"{len(labels)} names for {len(states)} hidden states")
                    layers = [_Layer(n, h.shape[-1], vocab, target == "one_hot", dtype, device) for n, h in zip(labels, states)]
                elif len(states) != len(layers):
                    raise ValueError(f"batch {index}: {len(states)} hidden states, but {len(layers)} in the first batch")
                for layer, h in zip(layers, states):
                    if h.dim() != 3 or tuple(h.shape[:2]) != tuple(ids.shape):
                        raise ValueError(
                            f"layer '{layer.name}', batch {index}: hidden states of shape {tuple(h.shape)}, expected "
                            f"({ids.shape[0]}, {ids.shape[1]}, d)"
                        )
                    layer.add(h[:, :-1][keep.to(h.device)], y.to(h.device), index)
                counts += torch.bincount(y, minlength=vocab)
    finally:
        for m, was in modes.items():
            m.train(was)
    if layers is None:
        raise ValueError("batches yielded no batch")
    host_counts = counts.cpu().numpy()
    done = [layer.finish(vocab, target, host_counts, rank_tolerance) for layer in layers]
    return _report(done, vocab, target, fit_layers)
