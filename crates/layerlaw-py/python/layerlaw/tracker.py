"""The law of equi-separation during training: :class:`LawTracker`, a callback for any PyTorch loop.

Every ``every`` epochs (or steps) the tracker runs a fixed probe set through the model, records
the outputs of the chosen layers with forward hooks and measures them with
:func:`layerlaw.measure`: He & Su's separation fuzziness D_l = Tr(SS_w SS_b^+) of every layer,
Papyan's NC1 and NC2 (and NC3/NC4 when a classifier is given) and the law fit
ln D_l = ln D_0 + l ln(rho) with its R^2 and Pearson r (He & Su, PNAS 2023). The history is a
list of dicts that saves to JSON and CSV and draws the emergence of the law (matplotlib)::

    tracker = LawTracker(model, probe_loader, every=10, num_classes=10)
    for epoch in range(1, epochs + 1):
        train_one_epoch(model)
        tracker.step(epoch, train_acc=acc)          # measures at epochs 10, 20, ...
    tracker.save_json("law.json"); tracker.save_csv("law.csv")
    tracker.plot_emergence("emergence.png"); tracker.plot_heatmap("heatmap.png")

The model is measured in ``eval()`` mode by default and every module's previous mode is restored
afterwards. ``bn="train"`` measures with BatchNorm in training mode (batch statistics, as the
official code of the paper does) and restores all buffers (running statistics) afterwards, so
training is not affected either way. Gradients are never recorded.

Adapters: :class:`LightningLawCallback` (PyTorch Lightning ``Callback``) and
:class:`HFLawCallback` (Hugging Face ``transformers.TrainerCallback``) exist only when those
packages are importable; accessing them otherwise raises ``ImportError``.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import measure as _measure

__all__ = ["LawTracker", "load_history", "plot_emergence", "plot_heatmap"]

#: Columns of :meth:`LawTracker.save_csv`, one row per (measurement, layer).
CSV_COLUMNS = [
    "unit", "index", "layer_index", "layer", "fuzziness", "ln_fuzziness", "nc1", "nc2",
    "rho", "slope", "intercept", "r2", "pearson_r", "nc3", "nc4", "train_acc", "test_acc", "seconds",
]
_ROW_SCALARS = ["rho", "slope", "intercept", "r2", "pearson_r", "nc3", "nc4", "train_acc", "test_acc", "seconds"]


def _torch():
    try:
        return importlib.import_module("torch")
    except ImportError as e:  # pragma: no cover - the tracker is for torch models
        raise ImportError("LawTracker needs PyTorch (pip install torch)") from e


def _resolve_layers(model: Any, layers: Any) -> "OrderedDict[str, Any]":
    """``{name: module}`` from None, a mapping, or a sequence of submodule names / modules."""
    nn = _torch().nn
    if layers is None:
        if hasattr(model, "law_layers"):
            return OrderedDict(model.law_layers())
        children = list(model.named_children())
        if len(children) < 2:
            raise ValueError("layers=None needs a model with law_layers() or at least two child modules "
                             "(every child but the last, the classifier, is measured); pass layers=[...]")
        return OrderedDict(children[:-1])
    if isinstance(layers, Mapping):
        out = OrderedDict(layers.items())
    else:
        out = OrderedDict()
        by_id = {id(m): n for n, m in model.named_modules()}
        for item in layers:
            if isinstance(item, str):
                try:
                    out[item] = model.get_submodule(item)
                except AttributeError as e:
                    raise ValueError(f"layers: the model has no submodule {item!r}") from e
            elif isinstance(item, nn.Module):
                name = by_id.get(id(item))
                if name is None:
                    raise ValueError(f"layers: module {type(item).__name__} is not part of the model")
                out[name or type(item).__name__] = item
            else:
                raise TypeError(f"layers: expected submodule names or modules, got {type(item).__name__}")
    for name, m in out.items():
        if not isinstance(m, nn.Module):
            raise TypeError(f"layers[{name!r}]: expected a torch.nn.Module, got {type(m).__name__}")
    if not out:
        raise ValueError("layers: no layer to measure")
    return out


def _batches(probe: Any, batch_size: int = 100) -> Iterable[Tuple[Any, Any]]:
    """Probe batches: a DataLoader / iterable of (x, y), or one (X, y) pair split into batches."""
    torch = _torch()
    if isinstance(probe, tuple) and len(probe) == 2 and isinstance(probe[0], torch.Tensor):
        x, y = probe
        return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return probe


class LawTracker:
    """Measures the law of equi-separation on a fixed probe set every ``every`` epochs or steps.

    Parameters
    ----------
    model: the ``torch.nn.Module`` being trained.
    probe_loader: a DataLoader (or any re-iterable of ``(x, y)`` batches), or a pair of tensors
        ``(X, y)`` cut into batches of 100; the same examples every time (do not shuffle it when
        ``bn="train"``, whose batch statistics depend on the batches).
    every: measure when ``index % every == 0`` (``index`` is what :meth:`step` is given).
    layers: ``None`` (the model's ``law_layers()`` if it has one, else every child module but the
        last), a ``{name: module}`` mapping, or a sequence of submodule names or modules. Their
        outputs, flattened, are the points l = 1, 2, ...; ``input_layer=True`` adds the input as l = 0.
    unit: ``"epoch"`` or ``"step"``, the name of the index in the history and the files.
    num_classes: K (default: max label + 1); every class must occur in the probe set.
    classifier: optional last ``nn.Linear`` (K x p_last): adds NC3, NC4 and, with ``minority``,
        the minority/majority classifier geometry.
    bn: ``"eval"`` (default) or ``"train"`` (BatchNorm batch statistics; buffers restored).
    device: where to run the probe (default: the device of the model's first parameter).
    engine: ``"features"`` (default: one pass over the probe set, its features kept in memory,
        n x sum(p_l) float32, then :func:`layerlaw.measure`) or ``"streaming"``
        (:func:`layerlaw.torch.measure`: two passes, O(p K) memory per layer, on the device).
    """

    def __init__(self, model: Any, probe_loader: Any, every: int = 10, layers: Any = None, *,
                 unit: str = "epoch", num_classes: Optional[int] = None, input_layer: bool = True,
                 classifier: Any = None, minority: Optional[Sequence[int]] = None, bn: str = "eval",
                 device: Any = None, engine: str = "features"):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        if unit not in ("epoch", "step"):
            raise ValueError(f"unit must be 'epoch' or 'step', got {unit!r}")
        if bn not in ("eval", "train"):
            raise ValueError(f"bn must be 'eval' or 'train', got {bn!r}")
        if engine not in ("features", "streaming"):
            raise ValueError(f"engine must be 'features' or 'streaming', got {engine!r}")
        self.engine = engine
        self.model = model
        self.probe = probe_loader
        self.every = every
        self.unit = unit
        self.num_classes = num_classes
        self.input_layer = input_layer
        self.classifier = classifier
        self.minority = None if minority is None else [int(c) for c in minority]
        self.bn = bn
        self.device = device
        self.layers = _resolve_layers(model, layers)
        self.history: List[Dict[str, Any]] = []
        #: Total seconds spent measuring (probe forward passes + statistics).
        self.seconds = 0.0
        self.last_report = None

    # ----------------------------------------------------------------- measuring
    @property
    def layer_names(self) -> List[str]:
        """Names of the measured points, in order (``"input"`` first when ``input_layer``)."""
        return (["input"] if self.input_layer else []) + list(self.layers)

    def probe_features(self) -> Tuple["OrderedDict[str, np.ndarray]", np.ndarray]:
        """Runs the probe set once and returns ``({name: n x p float32 array}, labels)``.

        The model's modes (and, with ``bn="train"``, its buffers) are restored afterwards.
        """
        torch = _torch()
        model = self.model
        device = self.device
        if device is None:
            first = next(iter(model.parameters()), None)
            device = first.device if first is not None else torch.device("cpu")
        modes = [(m, m.training) for m in model.modules()]
        saved = [(b, b.detach().clone()) for b in model.buffers()] if self.bn == "train" else []
        chunks: Dict[str, List[np.ndarray]] = {name: [] for name in self.layer_names}
        labels: List[np.ndarray] = []
        seen: Dict[str, int] = {}

        def hook(name: str):
            def record(module, args, output):
                if isinstance(output, (tuple, list)):
                    output = output[0]
                seen[name] = seen.get(name, 0) + 1
                chunks[name].append(output.detach().flatten(1).to("cpu", torch.float32).numpy().copy())
            return record

        handles = [m.register_forward_hook(hook(name)) for name, m in self.layers.items()]
        try:
            model.train(self.bn == "train")
            with torch.no_grad():
                for b, batch in enumerate(_batches(self.probe)):
                    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                        raise ValueError(f"probe batch {b}: expected (x, y), got {type(batch).__name__}")
                    x, y = batch[0], batch[1]
                    seen.clear()
                    if self.input_layer:
                        chunks["input"].append(x.detach().flatten(1).to("cpu", torch.float32).numpy().copy())
                    model(x.to(device))
                    for name in self.layers:
                        if seen.get(name, 0) != 1:
                            raise ValueError(f"probe batch {b}: layer {name!r} produced {seen.get(name, 0)} "
                                             "outputs in one forward pass (expected exactly 1)")
                    labels.append(np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y))
        finally:
            for h in handles:
                h.remove()
            for m, mode in modes:
                m.training = mode
            for b, value in saved:
                b.copy_(value)
        if not labels:
            raise ValueError("the probe set is empty")
        feats = OrderedDict((name, np.concatenate(parts)) for name, parts in chunks.items())
        return feats, np.concatenate(labels).astype(np.int64)

    def measure(self, index: int, train_acc: Optional[float] = None, test_acc: Optional[float] = None,
                **extra: Any) -> Dict[str, Any]:
        """Measures now (whatever ``every`` says), appends a history row and returns it."""
        t0 = time.perf_counter()
        report = self._streaming_report(index) if self.engine == "streaming" else self._features_report(index)
        seconds = time.perf_counter() - t0
        self.seconds += seconds
        self.last_report = report
        law = report.law
        names = [layer.name for layer in report.layers]
        if self.engine == "streaming":  # the torch front end names layers by module path
            names[:len(self.layer_names)] = list(self.layer_names)[:len(names)]
        row: Dict[str, Any] = {
            self.unit: int(index),
            "layers": names,
            "fuzziness": [layer.fuzziness for layer in report.layers],
            "nc1": [layer.nc1 for layer in report.layers],
            "nc2": [layer.etf_distance for layer in report.layers],
            "rho": None if law is None else law.rho,
            "slope": None if law is None else law.slope,
            "intercept": None if law is None else law.intercept,
            "r2": None if law is None else law.r2,
            "pearson_r": None if law is None else law.pearson_r,
            "nc3": None if report.classifier is None else report.classifier.nc3,
            "nc4": None if report.classifier is None else report.classifier.nc4,
            "train_acc": None if train_acc is None else float(train_acc),
            "test_acc": None if test_acc is None else float(test_acc),
            "seconds": seconds,
        }
        if report.classifier is not None and self.minority:
            row["classifier_groups"] = report.classifier.groups
        for key, value in extra.items():
            row[key] = value
        self.history.append(row)
        return row

    def _features_report(self, index: int) -> Any:
        feats, y = self.probe_features()
        weight = bias = None
        if self.classifier is not None:
            weight = self.classifier.weight.detach().cpu().double().numpy()
            if getattr(self.classifier, "bias", None) is not None:
                bias = self.classifier.bias.detach().cpu().double().numpy()
        try:
            report = _measure(list(feats.items()), y, self.num_classes, weight, bias,
                              self.minority if weight is not None else None)
        except ValueError as e:
            raise ValueError(f"{self.unit} {index}: {e}") from e
        return report

    def _streaming_report(self, index: int) -> Any:
        from . import torch as layerlaw_torch

        paths = {id(m): n for n, m in self.model.named_modules()}
        names = [paths[id(m)] for m in self.layers.values()]
        try:
            report = layerlaw_torch.measure(
                self.model, list(_batches(self.probe)), names, num_classes=self.num_classes,
                classifier=self.classifier if self.classifier is not None else False,
                input_layer=self.input_layer, passes=2, device=self.device, progress=False,
                minority=self.minority if self.classifier is not None else None, batchnorm=self.bn)
        except ValueError as e:
            raise ValueError(f"{self.unit} {index}: {e}") from e
        return report

    def step(self, index: int, train_acc: Optional[float] = None, test_acc: Optional[float] = None,
             **extra: Any) -> Optional[Dict[str, Any]]:
        """Call once per epoch (or step) with its number; measures when ``index % every == 0``.

        Returns the new history row, or None when this index is not measured. Extra keyword
        values (JSON-serialisable) are stored in the row.
        """
        if int(index) % self.every != 0:
            return None
        return self.measure(index, train_acc, test_acc, **extra)

    on_epoch_end = step

    # ------------------------------------------------------------------- output
    def to_dict(self) -> Dict[str, Any]:
        """``{"unit", "every", "layers", "history"}``: what :meth:`save_json` writes."""
        return {"unit": self.unit, "every": self.every, "layers": self.layer_names, "history": self.history}

    def save_json(self, path: Union[str, Path]) -> None:
        """Writes :meth:`to_dict` as JSON (NaN/inf are written as null)."""
        Path(path).write_text(json.dumps(_finite(self.to_dict()), indent=1) + "\n")

    def save_csv(self, path: Union[str, Path]) -> None:
        """Writes one row per (measurement, layer) with the columns :data:`CSV_COLUMNS`."""
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for row in self.history:
                for l, name in enumerate(row["layers"]):
                    d = row["fuzziness"][l]
                    values = {
                        "unit": self.unit, "index": row[self.unit], "layer_index": l, "layer": name,
                        "fuzziness": d, "ln_fuzziness": math.log(d) if d > 0 else None,
                        "nc1": row["nc1"][l], "nc2": row["nc2"][l],
                        **{k: row.get(k) for k in _ROW_SCALARS},
                    }
                    w.writerow(["" if values[c] is None else repr(values[c]) if isinstance(values[c], float)
                                else values[c] for c in CSV_COLUMNS])

    def plot_emergence(self, path: Union[str, Path, None] = None, indices: Optional[Sequence[int]] = None,
                       ax: Any = None) -> Any:
        """ln D_l against l for selected measurements (see :func:`plot_emergence`)."""
        return plot_emergence(self.history, path, indices=indices, unit=self.unit, ax=ax)

    def plot_heatmap(self, path: Union[str, Path, None] = None, ax: Any = None) -> Any:
        """Layer x measurement heatmap of ln D_l (see :func:`plot_heatmap`)."""
        return plot_heatmap(self.history, path, unit=self.unit, ax=ax)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def load_history(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Reads a history written by :meth:`LawTracker.save_json` or :meth:`LawTracker.save_csv`.

    A CSV gives back, per measurement, the index under its unit's name, ``layers``,
    ``fuzziness``, ``nc1``, ``nc2`` and the row scalars (the same values: floats are written
    with ``repr``); classifier groups and extra keys are only in the JSON.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        return json.loads(path.read_text())["history"]
    rows: "OrderedDict[Tuple[str, int], Dict[str, Any]]" = OrderedDict()
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not a LawTracker CSV (missing columns {missing})")
        for line_no, rec in enumerate(reader, start=2):
            try:
                key = (rec["unit"], int(rec["index"]))
                row = rows.get(key)
                if row is None:
                    row = {rec["unit"]: key[1], "layers": [], "fuzziness": [], "nc1": [], "nc2": []}
                    for k in _ROW_SCALARS:
                        row[k] = None if rec[k] == "" else float(rec[k])
                    rows[key] = row
                row["layers"].append(rec["layer"])
                for k in ("fuzziness", "nc1", "nc2"):
                    row[k].append(float(rec[k]))
            except ValueError as e:
                raise ValueError(f"{path}, line {line_no}: {e}") from e
    return list(rows.values())


# --------------------------------------------------------------------- plots
def _figure(ax: Any):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("LawTracker plots need matplotlib (pip install matplotlib); "
                          "the history, JSON and CSV work without it") from e
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    return fig, fig.add_subplot()


def _unit_of(history: Sequence[Mapping[str, Any]], unit: Optional[str]) -> str:
    if unit is not None:
        return unit
    return "step" if history and "step" in history[0] else "epoch"


def _spread(n: int, k: int) -> List[int]:
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def plot_emergence(history: Sequence[Mapping[str, Any]], path: Union[str, Path, None] = None,
                   indices: Optional[Sequence[int]] = None, unit: Optional[str] = None, ax: Any = None) -> Any:
    """ln D_l against the layer index l for selected measurements, the last with its law fit.

    ``indices`` are epoch (or step) numbers of the history; default: up to six spread from the
    first to the last. Writes ``path`` (any matplotlib format) when given; returns the Figure.
    """
    if not history:
        raise ValueError("plot_emergence: the history is empty")
    unit = _unit_of(history, unit)
    by_index = {int(r[unit]): r for r in history}
    if indices is None:
        chosen = [history[i] for i in _spread(len(history), 6)]
    else:
        missing = [i for i in indices if int(i) not in by_index]
        if missing:
            raise ValueError(f"plot_emergence: no measurement at {unit} {missing} (have {sorted(by_index)})")
        chosen = [by_index[int(i)] for i in indices]
    fig, ax = _figure(ax)
    cmap = _colormap("viridis")
    for j, row in enumerate(chosen):
        d = np.asarray(row["fuzziness"], dtype=np.float64)
        l = np.arange(len(d))
        color = cmap(j / max(1, len(chosen) - 1))
        r = row.get("pearson_r")
        label = f"{unit} {row[unit]}" + ("" if r is None else f" (r = {r:.3f})")
        ax.plot(l, np.log(d), "o-", color=color, label=label, ms=4)
        if j == len(chosen) - 1 and row.get("slope") is not None:
            ax.plot(l, row["intercept"] + row["slope"] * l, "--", color=color, lw=1,
                    label=f"fit, rho = {row['rho']:.3f}")
    ax.set_xlabel("layer l")
    ax.set_ylabel("ln D_l")
    names = chosen[-1]["layers"]
    if len(names) <= 14:
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_title("Emergence of the law of equi-separation")
    ax.legend(fontsize=7)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_heatmap(history: Sequence[Mapping[str, Any]], path: Union[str, Path, None] = None,
                 unit: Optional[str] = None, ax: Any = None) -> Any:
    """Heatmap of ln D_l: layers on the vertical axis, measurements (epochs or steps) across."""
    if not history:
        raise ValueError("plot_heatmap: the history is empty")
    unit = _unit_of(history, unit)
    width = {len(r["fuzziness"]) for r in history}
    if len(width) != 1:
        raise ValueError(f"plot_heatmap: the measurements have different layer counts {sorted(width)}")
    grid = np.log(np.array([r["fuzziness"] for r in history], dtype=np.float64)).T
    fig, ax = _figure(ax)
    image = ax.imshow(grid, aspect="auto", origin="lower", cmap="magma", interpolation="nearest")
    ticks = _spread(len(history), 8)
    ax.set_xticks(ticks, [str(history[i][unit]) for i in ticks])
    names = history[-1]["layers"]
    if len(names) <= 24:
        ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel(unit)
    ax.set_ylabel("layer")
    fig.colorbar(image, ax=ax, label="ln D_l")
    ax.set_title("ln D_l over training")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _colormap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


# ------------------------------------------------------------------ adapters
def _lightning_callback():
    try:
        pl = importlib.import_module("lightning.pytorch")
    except ImportError:
        try:
            pl = importlib.import_module("pytorch_lightning")
        except ImportError as e:
            raise ImportError("LightningLawCallback needs PyTorch Lightning (lightning or pytorch_lightning)") from e

    class LightningLawCallback(pl.Callback):
        """Calls ``tracker.step`` at the end of every training epoch (or batch, for unit="step").

        Accuracies are read from ``trainer.callback_metrics`` under ``train_key`` / ``test_key``
        when the LightningModule logs them.
        """

        def __init__(self, tracker: LawTracker, train_key: str = "train_acc", test_key: str = "val_acc"):
            super().__init__()
            self.tracker, self.train_key, self.test_key = tracker, train_key, test_key

        def _metric(self, trainer: Any, key: str) -> Optional[float]:
            value = trainer.callback_metrics.get(key)
            return None if value is None else float(value)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.tracker.unit == "epoch":
                self.tracker.step(trainer.current_epoch + 1, self._metric(trainer, self.train_key),
                                  self._metric(trainer, self.test_key))

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            if self.tracker.unit == "step":
                self.tracker.step(trainer.global_step)

    return LightningLawCallback


def _hf_callback():
    try:
        transformers = importlib.import_module("transformers")
    except ImportError as e:
        raise ImportError("HFLawCallback needs Hugging Face transformers") from e

    class HFLawCallback(transformers.TrainerCallback):
        """Calls ``tracker.step`` at every epoch end (``state.epoch``) or step end (``state.global_step``)."""

        def __init__(self, tracker: LawTracker):
            self.tracker = tracker

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.tracker.unit == "epoch":
                self.tracker.step(int(round(state.epoch or 0)))

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.tracker.unit == "step":
                self.tracker.step(state.global_step)

    return HFLawCallback


_ADAPTERS = {"LightningLawCallback": _lightning_callback, "HFLawCallback": _hf_callback}
_made: Dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name in _ADAPTERS:
        if name not in _made:
            _made[name] = _ADAPTERS[name]()
        return _made[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
