"""Measure every layer of a live PyTorch model over a whole dataset: exact, O(pK) memory per
layer, on the model's device, across ``torch.distributed`` ranks and shard jobs.

:func:`measure` runs the loader twice. Pass 1 accumulates, per layer and in torch on the
activations' device (float64 where the device has it), the class counts and class sums; the
Rust core closes them into the class means and the orthonormal basis Q of the between-class
span. Pass 2 accumulates the within-class scatter projected on Q (r x r, r <= K-1) and the sum
of squared residuals. Only these K x p and r x r sums ever leave the device; no activation is
kept beyond the batch that produced it. The result equals ``layerlaw.measure`` on the stored
features to rounding.

The loader must yield the same examples in the same order in both passes (no shuffling, no
random augmentation): each pass records the class counts and a hash of the label sequence,
and a difference raises :class:`LoaderMismatchError`. ``passes=1`` reads the data once into
the p x p ``layerlaw.Accumulator`` instead (for p <= 4096).

Shard jobs without a process group (three steps)::

    # 1. on every shard s:   layerlaw.torch.pass1(model, shard_loader(s), num_classes=K).save(f"p1-{s}")
    # 2. once:               layerlaw.torch.merge([f"p1-{s}" for s in shards]).save("p1")
    #    on every shard s:   layerlaw.torch.pass2(model, shard_loader(s), "p1").save(f"p2-{s}")
    # 3. once:               report = layerlaw.torch.finish(layerlaw.torch.merge([f"p2-{s}" ...]))

With ``torch.distributed`` initialised (any backend), each pass's sums are all-reduced, so
every rank gets the result of the whole dataset (split it with a ``DistributedSampler``).
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from ._layerlaw import Accumulator, Pass1, Pass2, _check_fit_layers, _refit
from ._reports import Report
from ._torch_layers import (
    Batch, LayerInfo, call_model, discover, input_tensor, layer_rows, pick_output, row_labels,
    select_layers, unpack_batch,
)
from ._torch_state import State, finish, load, merge

__all__ = ["measure", "layers", "pass1", "pass2", "merge", "finish", "load", "State", "LayerInfo", "LoaderMismatchError",
           "LawTracker"]


def __getattr__(name: str):
    """``layerlaw.torch.LawTracker`` is :class:`layerlaw.tracker.LawTracker` (the law during training)."""
    if name == "LawTracker":
        from .tracker import LawTracker
        return LawTracker
    raise AttributeError(f"module 'layerlaw.torch' has no attribute {name!r}")

#: Rows are widened to float64 in chunks of at most this many bytes (bounds the extra memory).
CHUNK_BYTES = 8 << 20
INPUT = "input"


class LoaderMismatchError(ValueError):
    """The loader yielded other examples (or another order) in pass 2 than in pass 1."""


def _mismatch(what: str) -> LoaderMismatchError:
    return LoaderMismatchError(
        f"the loader yielded different data in pass 2 than in pass 1 ({what}); the two-pass "
        f"measurement needs the same examples in the same order twice: turn off shuffling "
        f"(shuffle=False, or a sampler with a fixed order) and random augmentation, or use "
        f"passes=1 (one pass into the p x p Accumulator, p <= 4096)"
    )


def _dist():
    d = torch.distributed
    return d if d.is_available() and d.is_initialized() else None


def _all_reduce(tensors: Sequence[torch.Tensor], op: str = "sum") -> None:
    d = _dist()
    if d is None:
        return
    reduce_op = d.ReduceOp.SUM if op == "sum" else d.ReduceOp.MAX
    for t in tensors:
        d.all_reduce(t, op=reduce_op)


def _device_of(model: nn.Module, device: Any) -> torch.device:
    if device is not None:
        return torch.device(device)
    p = next(model.parameters(), None)
    if p is None:
        p = next(model.buffers(), None)
    return p.device if p is not None else torch.device("cpu")


def _acc_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _progress(loader: Any, desc: str, enabled: bool):
    if not enabled:
        return loader
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return loader
    total = len(loader) if hasattr(loader, "__len__") else None
    return tqdm(loader, desc=desc, total=total, leave=False)


@contextlib.contextmanager
def _mode(model: nn.Module, batchnorm: str):
    """Eval mode (BatchNorm in train mode with ``batchnorm="train"``, its running statistics
    restored afterwards), ``torch.no_grad()``; the model's modes are restored on exit."""
    if batchnorm not in ("eval", "train"):
        raise ValueError(f"batchnorm must be 'eval' or 'train', got {batchnorm!r}")
    modes = {m: m.training for m in model.modules()}
    saved = {}
    model.eval()
    if batchnorm == "train":
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                saved[m] = {k: v.clone() for k, v in m.state_dict().items()}
                m.train()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, state in saved.items():
            m.load_state_dict(state)
        for m, was in modes.items():
            m.train(was)


def _check_labels(y: torch.Tensor, k: Optional[int], index: int) -> int:
    """Largest label of the batch; raises for a negative label or one >= K (naming its row)."""
    if y.numel() == 0:
        return -1
    lo, hi = (int(v) for v in torch.stack([y.min(), y.max()]).tolist())
    if lo < 0:
        row = int((y < 0).nonzero()[0][0])
        raise ValueError(f"batch {index}: label at row {row} is {lo}; labels must be 0..K-1")
    if k is not None and hi >= k:
        row = int((y >= k).nonzero()[0][0])
        raise ValueError(f"batch {index}: label at row {row} is {int(y[row])}, but there are only {k} classes (num_classes={k})")
    return hi


class _Plan:
    """What both passes share: the model, the layers (names and modules), output choice,
    sequence handling and the loader's batch format."""

    def __init__(self, model, device, names, modules, input_layer, output, sequence, unpack):
        self.model, self.device, self.names = model, device, names
        self.modules, self.input_layer = modules, input_layer
        self.output, self.sequence, self.unpack = output, sequence, unpack
        self.all_names = ([INPUT] if input_layer else []) + list(names)

    def select(self, name: str):
        return self.output.get(name) if isinstance(self.output, dict) else self.output

    def run(self, loader, desc, progress, begin, add, end) -> None:
        """Feeds every batch's rows of every layer to ``add(l, rows, index)``, between
        ``begin(index, labels)`` and ``end(index)``."""
        offset = 1 if self.input_layer else 0
        state = {"batch": None, "index": -1, "calls": None}

        def hook(l, name):
            def f(module, args, output):
                b, index = state["batch"], state["index"]
                state["calls"][l] += 1
                if state["calls"][l] > 1:
                    raise ValueError(f"layer '{name}' ran twice in batch {index}; measure modules that run once per forward pass")
                t = pick_output(output, self.select(name), name)
                rows, _ = layer_rows(t.detach(), b, self.sequence, name, index)
                add(l, rows, index)
            return f

        handles = [self.modules[n].register_forward_hook(hook(offset + i, n)) for i, n in enumerate(self.names)]
        try:
            for index, raw in enumerate(_progress(loader, desc, progress)):
                batch = unpack_batch(raw, self.device, self.unpack)
                state["batch"], state["index"] = batch, index
                state["calls"] = [0] * len(self.all_names)
                begin(index, row_labels(batch, self.sequence))
                if self.input_layer:
                    x = input_tensor(batch.inputs)
                    rows, _ = layer_rows(x, batch, self.sequence, INPUT, index)
                    state["calls"][0] = 1
                    add(0, rows, index)
                call_model(self.model, batch.inputs)
                missing = [self.all_names[l] for l, c in enumerate(state["calls"]) if c == 0]
                if missing:
                    raise ValueError(f"batch {index}: layer(s) {missing} did not run in the forward pass")
                end(index)
        finally:
            for h in handles:
                h.remove()


def _chunks(rows: torch.Tensor, dtype: torch.dtype, copy: bool = False):
    """Row chunks of at most ``CHUNK_BYTES`` in ``dtype`` (always fresh tensors with
    ``copy``, which may then be modified in place without touching the activations)."""
    step = max(1, CHUNK_BYTES // max(1, rows.shape[1] * 8))
    for s in range(0, rows.shape[0], step):
        yield s, rows[s:s + step].to(dtype, copy=copy)


def _pass1(plan: _Plan, loader, num_classes: Optional[int], progress: bool, shard_note: bool = False) -> State:
    dtype = _acc_dtype(plan.device)
    n_layers = len(plan.all_names)
    k = [num_classes or 0]
    counts = torch.zeros(k[0], dtype=torch.int64, device=plan.device)
    sums: List[Optional[torch.Tensor]] = [None] * n_layers
    h = hashlib.blake2b(digest_size=16)
    cur = {"y": None}

    def grow(kn):
        nonlocal counts
        if kn > k[0]:
            counts = torch.cat([counts, counts.new_zeros(kn - k[0])])
            for l, s in enumerate(sums):
                if s is not None:
                    sums[l] = torch.cat([s, s.new_zeros(kn - k[0], s.shape[1])])
            k[0] = kn

    def begin(index, y):
        hi = _check_labels(y, num_classes, index)
        if num_classes is None:
            grow(hi + 1)
        cur["y"] = y
        counts.add_(torch.bincount(y, minlength=k[0]))
        h.update(np.int64(y.numel()).tobytes())
        h.update(y.cpu().numpy().astype("<i8").tobytes())

    def add(l, rows, index):
        y = cur["y"]
        if rows.shape[0] != y.shape[0]:
            raise ValueError(f"layer '{plan.all_names[l]}', batch {index}: {rows.shape[0]} rows but {y.shape[0]} labels")
        p = rows.shape[1]
        if sums[l] is None:
            sums[l] = torch.zeros(k[0], p, dtype=dtype, device=rows.device)
        elif sums[l].shape[1] != p:
            raise ValueError(f"layer '{plan.all_names[l]}', batch {index}: {p} features, but earlier batches had {sums[l].shape[1]}")
        for s, f in _chunks(rows, dtype):
            sums[l].index_add_(0, y[s:s + f.shape[0]].to(rows.device), f)

    def end(index):
        flags = torch.stack([torch.isfinite(s).all().to(plan.device) for s in sums if s is not None])
        if not bool(flags.all()):
            bad = next(l for l, s in enumerate(sums) if s is not None and not bool(torch.isfinite(s).all()))
            raise ValueError(
                f"layer '{plan.all_names[bad]}', batch {index}: a NaN or Inf activation (the "
                f"float64 class sums are no longer finite)"
            )

    plan.run(loader, "layerlaw pass 1/2", progress, begin, add, end)
    if sums[0] is None:
        raise ValueError("the loader yielded no batch")
    if _dist() is not None and num_classes is None:
        top = torch.tensor([k[0]], dtype=torch.int64, device=plan.device)
        _all_reduce([top], "max")
        grow(int(top))
    _all_reduce([counts] + sums)
    counts_np = counts.cpu().numpy()
    parts = [Pass1.from_parts(counts_np, s.cpu().numpy().astype(np.float64)) for s in sums]
    notes = [] if dtype == torch.float64 else [
        f"the {plan.device.type} device has no float64: its sums were accumulated in {dtype}"]
    return State(kind="pass1", names=plan.all_names, pass1=parts, settings={}, digests=[h.hexdigest()], notes=notes)


def _pass2(plan: _Plan, loader, state: State, classifier, progress: bool) -> State:
    dtype = _acc_dtype(plan.device)
    tol = float(state.settings.get("rank_tolerance", 1e-6))
    bases = []
    for name, p1 in zip(state.names, state.pass1):
        try:
            bases.append(p1.close(tol))
        except ValueError as e:
            raise ValueError(f"layer '{name}': {e}") from None
    k = bases[0].num_classes
    dev = plan.device
    means = [torch.from_numpy(b.means).to(dev, dtype) for b in bases]
    qs = [torch.from_numpy(b.q).to(dev, dtype) for b in bases]
    scatter = [torch.zeros(b.rank, b.rank, dtype=dtype, device=dev) for b in bases]
    sumsq = [torch.zeros((), dtype=dtype, device=dev) for _ in bases]
    # Per-class sums of the projected residuals: zero to rounding when pass 2 sees pass 1's rows.
    drift = [torch.zeros(k, b.rank, dtype=dtype, device=dev) for b in bases]
    # The host copies of the means and bases are rebuilt (deterministically) after the pass:
    # during it only the device copies take memory.
    del bases
    counts = torch.zeros(k, dtype=torch.int64, device=dev)
    agreement = torch.zeros(4, dtype=torch.int64, device=dev)
    last = len(means) - 1
    if classifier is not None:
        w = torch.as_tensor(classifier[0]).to(dev, dtype)
        bias = None if classifier[1] is None else torch.as_tensor(classifier[1]).to(dev, dtype)
        mean_sq = (means[last] ** 2).sum(1)
    h = hashlib.blake2b(digest_size=16)
    cur = {"y": None}

    def begin(index, y):
        hi = _check_labels(y, None, index)
        if hi >= k:
            raise _mismatch(f"batch {index} has label {hi} but pass 1 saw only classes 0..{k - 1}")
        cur["y"] = y
        counts.add_(torch.bincount(y, minlength=k))
        h.update(np.int64(y.numel()).tobytes())
        h.update(y.cpu().numpy().astype("<i8").tobytes())

    def add(l, rows, index):
        y = cur["y"]
        if rows.shape[0] != y.shape[0]:
            raise ValueError(f"layer '{plan.all_names[l]}', batch {index}: {rows.shape[0]} rows but {y.shape[0]} labels")
        if rows.shape[1] != means[l].shape[1]:
            raise _mismatch(f"layer '{plan.all_names[l]}' has {rows.shape[1]} features in batch {index} but {means[l].shape[1]} in pass 1")
        for s, f in _chunks(rows, dtype, copy=True):
            yc = y[s:s + f.shape[0]].to(f.device)
            if l == last and classifier is not None:
                logits = f @ w.T
                if bias is not None:
                    logits += bias
                clf = logits.argmax(1)
                ncc = (mean_sq - 2.0 * (f @ means[l].T)).argmin(1)
                agreement.add_(torch.stack([
                    torch.tensor(f.shape[0], device=dev), (clf != ncc).sum(), (clf == yc).sum(), (ncc == yc).sum()
                ]))
            z = f.sub_(means[l].index_select(0, yc))
            zq = z @ qs[l]
            scatter[l].addmm_(zq.T, zq)
            drift[l].index_add_(0, yc, zq)
            flat = z.reshape(-1)
            sumsq[l].add_(flat @ flat)

    def end(index):
        if not bool(torch.isfinite(torch.stack(sumsq)).all()):
            bad = next(l for l, s in enumerate(sumsq) if not bool(torch.isfinite(s)))
            raise ValueError(f"layer '{plan.all_names[bad]}', batch {index}: a NaN or Inf activation in pass 2")

    plan.run(loader, "layerlaw pass 2/2", progress, begin, add, end)
    own = h.hexdigest()
    _all_reduce([counts, agreement] + scatter + sumsq + drift)
    want = np.asarray(state.pass1[0].counts)
    got = counts.cpu().numpy()
    # A shard of a merged pass 1 sees part of the data: its counts are checked by finish.
    if len(state.digests) == 1 and not np.array_equal(want, got):
        c = int(np.nonzero(want != got)[0][0])
        raise _mismatch(f"class {c} has {got[c]} samples in pass 2 but {want[c]} in pass 1")
    if own not in state.digests:
        raise _mismatch(
            "the class counts agree but the sequence of labels differs"
            if len(state.digests) == 1 else "this shard's label sequence matches no pass-1 shard"
        )
    if len(state.digests) == 1:
        _check_drift(plan.all_names, drift, scatter, got)
    bases = [p1.close(tol) for p1 in state.pass1]
    parts = [
        Pass2.from_parts(b, got, s.cpu().numpy().astype(np.float64), float(ss))
        for b, s, ss in zip(bases, scatter, sumsq)
    ]
    out = State(
        kind="pass2", names=state.names, pass1=state.pass1, settings=state.settings,
        digests=[own], pass2=parts, notes=list(state.notes),
    )
    if classifier is not None:
        out.agreement = [int(v) for v in agreement.tolist()]
        out.classifier = {
            "weight": torch.as_tensor(classifier[0]).double().cpu().tolist(),
            "minority": list(classifier[2] or []),
        }
    return out


#: Largest accepted sum_k ||sum_{i in k} Q^T(x_i - mu_k)||^2 / n_k relative to the projected
#: within-class scatter's trace. The same rows give ~1e-30 (rounding), nondeterministic GPU
#: kernels far below 1e-6, fresh random augmentations about 2K/n.
DRIFT_TOLERANCE = 1e-6


def _check_drift(names, drift, scatter, counts) -> None:
    """Pass 2 must find the class means of pass 1: the projected residuals of each class sum
    to zero when the loader repeats its examples (random augmentation breaks this)."""
    n_k = torch.as_tensor(counts, dtype=drift[0].dtype, device=drift[0].device).clamp(min=1)
    for name, d, w in zip(names, drift, scatter):
        stat = float(((d * d).sum(1) / n_k).sum())
        trace = float(torch.trace(w))
        if stat > DRIFT_TOLERANCE * trace:
            raise _mismatch(
                f"layer '{name}': the class means of pass 2 differ from pass 1's by "
                f"{stat / max(trace, 1e-300):.1e} of the within-class scatter, so the examples "
                f"changed (random augmentation?)"
            )


def _resolve_classifier(classifier, modules, infos, names, k, p_last, minority):
    """(W, b, minority) from a module name, an ``nn.Linear``, a weight or ``(W, b)``; with
    ``None`` the model's logits layer when it is an ``nn.Linear`` from the last measured
    layer's dimension to K; ``False`` for none."""
    if classifier is False:
        return None
    if classifier is None:
        linear = [i for i in infos if getattr(i, "_logits", False) and isinstance(modules[i.name], nn.Linear)]
        if not linear:
            return None
        m = modules[linear[-1].name]
        if m.out_features != k or m.in_features != p_last:
            return None
        return m.weight.detach(), None if m.bias is None else m.bias.detach(), minority
    if isinstance(classifier, str):
        if classifier not in modules or not isinstance(modules[classifier], nn.Linear):
            raise ValueError(f"classifier {classifier!r} is not an nn.Linear module of the model")
        classifier = modules[classifier]
    if isinstance(classifier, nn.Linear):
        w, b = classifier.weight.detach(), None if classifier.bias is None else classifier.bias.detach()
    elif isinstance(classifier, (tuple, list)):
        w, b = torch.as_tensor(classifier[0]), None if classifier[1] is None else torch.as_tensor(classifier[1])
    else:
        w, b = torch.as_tensor(classifier), None
    if tuple(w.shape) != (k, p_last):
        raise ValueError(f"classifier weight has shape {tuple(w.shape)}, expected (K, p) = ({k}, {p_last}) for layer '{names[-1]}'")
    return w, b, minority


def _plan(model, loader, layers, input_layer, output, sequence, device, unpack):
    device = _device_of(model, device)
    try:
        first = next(iter(loader))
    except StopIteration:
        raise ValueError("the loader yielded no batch") from None
    batch = unpack_batch(first, device, unpack)
    infos, _, modules = discover(model, batch, output)
    names = select_layers(model, infos, modules, layers)
    # Token ids are no features: without a floating-point input there is no layer 0.
    has_input = bool(input_layer) and input_tensor(batch.inputs) is not None
    if not names and not has_input:
        raise ValueError("found no layer to measure; name them with layers=[...] (see layerlaw.torch.layers)")
    if sequence is None and batch.labels.dim() == 2:
        sequence = "tokens"
    return _Plan(model, device, names, modules, has_input, output, sequence, unpack), infos, modules


def layers(model: nn.Module, sample_batch: Any, *, output: Any = None, device: Any = None, unpack: Optional[Callable] = None) -> List[LayerInfo]:
    """Every module that runs on ``sample_batch`` (a loader batch), in order of execution, with
    its output shape, feature dimension and whether ``measure(layers=None)`` measures it."""
    dev = _device_of(model, device)
    batch = unpack_batch(sample_batch, dev, unpack)
    with _mode(model, "eval"):
        infos, _, modules = discover(model, batch, output)
        chosen = set(select_layers(model, infos, modules, None))
    for i in infos:
        i.default = i.name in chosen
    return infos


def pass1(model: nn.Module, loader: Any, layers: Any = None, *, num_classes: Optional[int] = None,
          input_layer: bool = True, output: Any = None, sequence: Optional[str] = None,
          device: Any = None, progress: bool = True, batchnorm: str = "eval",
          unpack: Optional[Callable] = None, rank_tolerance: float = 1e-6) -> State:
    """Pass 1 over ``loader`` (one shard or all data): a ``State`` to ``save``, ``merge`` and
    give to :func:`pass2`. Give ``num_classes`` when shards may miss classes."""
    with _mode(model, batchnorm):
        plan, _, _ = _plan(model, loader, layers, input_layer, output, sequence, device, unpack)
        state = _pass1(plan, loader, num_classes, progress)
    state.settings = {
        "layers": plan.names, "input_layer": plan.input_layer, "output": output,
        "sequence": plan.sequence, "batchnorm": batchnorm, "rank_tolerance": rank_tolerance,
    }
    return state


def pass2(model: nn.Module, loader: Any, state: Union[State, str], *, classifier: Any = None,
          minority: Optional[Sequence[int]] = None, device: Any = None, progress: bool = True,
          unpack: Optional[Callable] = None) -> State:
    """Pass 2 over ``loader`` (a shard, or all data) for a merged pass-1 ``state`` (or its
    file); layers and settings are those of pass 1."""
    if isinstance(state, str):
        state = load(state)
    if state.kind != "pass1":
        raise ValueError("pass2 needs a pass-1 state")
    st = state.settings
    with _mode(model, st.get("batchnorm", "eval")):
        plan, infos, modules = _plan(model, loader, st["layers"], st["input_layer"], st["output"], st["sequence"], device, unpack)
        if plan.all_names != state.names:
            raise ValueError(f"the model's layers {plan.all_names} differ from the pass-1 state's {state.names}")
        k, p_last = state.pass1[-1].num_classes, state.pass1[-1].dim
        clf = _resolve_classifier(classifier, modules, infos, state.names, k, p_last, minority)
        return _pass2(plan, loader, state, clf, progress)


def measure(model: nn.Module, loader: Any, layers: Any = None, *, num_classes: Optional[int] = None,
            classifier: Any = None, input_layer: bool = True, passes: int = 2, device: Any = None,
            progress: bool = True, output: Any = None, sequence: Optional[str] = None,
            minority: Optional[Sequence[int]] = None, batchnorm: str = "eval",
            unpack: Optional[Callable] = None, fit_layers: Any = None) -> Report:
    """Measures every layer of ``model`` over ``loader`` and fits the law over them, in order.

    Returns the ``Report`` of ``layerlaw.measure``: D, NC1 (both conventions are named in
    ``report.definitions``), NC2, the law fit, and NC3/NC4 with the classifier geometry when
    a classifier is named (module name, ``nn.Linear``, weight or ``(W, b)``) or found (the
    logits ``nn.Linear`` from the last measured layer; ``classifier=False`` for none).

    * ``layers``: module names of ``model.named_modules()``, glob patterns (``"layer*.*"``)
      or ``None`` for the paper's layers: the input, then every block (children of an
      ``nn.Sequential``, ResNet ``BasicBlock``/``Bottleneck`` with the stem and the pooled
      features, VGG BN->ReLU units, transformer encoder layers), logits excluded. See
      :func:`layers` for the candidates.
    * batches are ``(inputs, labels)`` or dicts with ``labels`` (the rest are keyword inputs;
      ``attention_mask`` marks real tokens); ``unpack(batch) -> (inputs, labels[, mask])``
      handles any other format.
    * ``output``: which tensor of a tuple/list/dict/``ModelOutput`` output (index or key, or
      a dict per layer); conv maps are flattened C*H*W.
    * ``sequence``: ``"tokens"`` (one row per real token, labels per token, -100 ignored) or
      ``"mean"``/``"first"``/``"last"`` pooling (labels per sequence) for ``(b, T, d)``
      outputs; ``None`` flattens.
    * ``passes=2`` (exact, O(pK) memory, the loader must repeat itself exactly) or ``1`` (the
      p x p ``layerlaw.Accumulator``, any loader, p <= 4096, needs ``num_classes``, no
      classifier metrics).
    * eval mode and ``torch.no_grad()``; ``batchnorm="train"`` normalises with batch
      statistics as the paper's official measurement (running statistics are restored).
    * ``fit_layers``: the layers of the law fit (``None`` for all, ``"1.."``, ``"0,2..5"`` or
      a list of indices into the measured layers), as in :func:`layerlaw.measure`;
      ``report.law.residuals`` holds every layer's residual.
    """
    _check_fit_layers(fit_layers)
    if passes == 1:
        report = _measure_one_pass(model, loader, layers, num_classes, input_layer, output, sequence, device, progress, batchnorm, unpack)
        return report if fit_layers is None else _refit(report, fit_layers)
    if passes != 2:
        raise ValueError(f"passes must be 1 or 2, got {passes!r}")
    st1 = pass1(model, loader, layers, num_classes=num_classes, input_layer=input_layer, output=output,
                sequence=sequence, device=device, progress=progress, batchnorm=batchnorm, unpack=unpack)
    st2 = pass2(model, loader, st1, classifier=classifier, minority=minority, device=device, progress=progress, unpack=unpack)
    report = finish(st2)
    return report if fit_layers is None else _refit(report, fit_layers)


def _measure_one_pass(model, loader, layers, num_classes, input_layer, output, sequence, device, progress, batchnorm, unpack) -> Report:
    if num_classes is None:
        raise ValueError("passes=1 needs num_classes (the p x p accumulator is sized before the first batch)")
    with _mode(model, batchnorm):
        plan, _, _ = _plan(model, loader, layers, input_layer, output, sequence, device, unpack)
        acc = Accumulator(plan.all_names, classes=num_classes)
        cur = {"y": None}

        def begin(index, y):
            _check_labels(y, num_classes, index)
            cur["y"] = y.cpu().numpy()

        def add(l, rows, index):
            rows = rows if rows.dtype in (torch.float32, torch.float64) else rows.float()
            try:
                acc.update(l, rows.cpu().numpy(), cur["y"])
            except ValueError as e:
                if "accumulator limit" in str(e):
                    raise ValueError(
                        f"{e}; passes=1 keeps a p x p matrix per layer: use passes=2 (the default, "
                        f"O(pK) memory) for layer '{plan.all_names[l]}'"
                    ) from None
                raise ValueError(f"batch {index}: {e}") from None

        plan.run(loader, "layerlaw (one pass)", progress, begin, add, lambda index: None)
    d = _dist()
    if d is not None:
        gathered = [None] * d.get_world_size()
        d.all_gather_object(gathered, acc)
        acc = gathered[0]
        for other in gathered[1:]:
            acc.merge(other)
    return acc.result()


from ._torch_next_token import measure_next_token  # noqa: E402  (layerlaw.torch.measure_next_token)
