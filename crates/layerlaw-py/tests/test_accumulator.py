"""Streaming Accumulator: batches, merge, bytes and pickle against the batch `measure`."""

import copy
import pickle

import numpy as np
import pytest

import layerlaw
from reference import clustered, fuzziness_pinv


def _layers(seed):
    x, y = clustered(0, 12, 3, seed=seed, counts=[80, 50, 30])
    h = np.maximum(x @ np.random.default_rng(seed).normal(size=(12, 9)), 0.0).astype(np.float32)
    return {"input": x, "relu": h}, y


def _feed(acc, layers, y, rows):
    for name, feats in layers.items():
        acc.update(name, feats[rows], y[rows])


def _close(a, b, rel):
    da, db = a.to_dict(), b.to_dict()
    for la, lb in zip(da["layers"], db["layers"]):
        for key in ["fuzziness", "nc1", "trace_within", "trace_between", "equinorm", "etf_distance"]:
            assert la[key] == pytest.approx(lb[key], rel=rel), key
        assert la["rank"] == lb["rank"] and la["num_samples"] == lb["num_samples"]
    for key in ["slope", "intercept", "r2"]:
        assert da["law"][key] == pytest.approx(db["law"][key], rel=rel)
    assert (da["n"], da["class_counts"], da["balanced"]) == (db["n"], db["class_counts"], db["balanced"])


def test_batches_equal_the_whole_and_the_reference():
    layers, y = _layers(1)
    acc = layerlaw.Accumulator(list(layers), classes=3)
    for start in range(0, len(y), 37):
        _feed(acc, layers, y, slice(start, start + 37))
    whole = layerlaw.measure(layers, y)
    _close(acc.result(), whole, rel=1e-10)
    assert acc.result()["input"].fuzziness == pytest.approx(fuzziness_pinv(layers["input"], y, 3), rel=1e-9)
    np.testing.assert_allclose(acc.result()["relu"].class_means, whole["relu"].class_means, rtol=1e-12)
    assert acc.class_counts("input") == [80, 50, 30] and acc.num_samples(1) == 160


def test_merge_equals_whole():
    layers, y = _layers(2)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    parts = np.array_split(order, 3)
    accs = []
    for part in parts:
        a = layerlaw.Accumulator(["input", "relu"], classes=3)
        _feed(a, layers, y, part)
        accs.append(a)
    merged = accs[0]
    merged.merge(accs[1])
    merged.merge(accs[2])
    single = layerlaw.Accumulator(["input", "relu"], classes=3)
    _feed(single, layers, y, slice(None))
    _close(merged.result(), single.result(), rel=1e-10)


def test_integer_layers_and_index_updates():
    layers, y = _layers(3)
    acc = layerlaw.Accumulator(2, classes=3)
    assert acc.layers == ["0", "1"]
    acc.update(0, layers["input"], y)
    acc.update("1", layers["relu"], y.astype(np.uint8))
    _close(acc.result(), layerlaw.measure({"0": layers["input"], "1": layers["relu"]}, y), rel=1e-10)


def test_bytes_and_pickle_round_trip():
    layers, y = _layers(4)
    acc = layerlaw.Accumulator(["input", "relu"], classes=3)
    _feed(acc, layers, y, slice(0, 100))
    back = pickle.loads(pickle.dumps(acc))
    assert back == acc
    assert back.result().to_dict() == acc.result().to_dict()
    assert layerlaw.Accumulator.from_bytes(acc.to_bytes()) == acc
    assert copy.deepcopy(acc) == acc
    # The copy keeps working independently: feeding the rest to both gives equal results.
    _feed(acc, layers, y, slice(100, None))
    _feed(back, layers, y, slice(100, None))
    assert back == acc and back.result().to_dict() == acc.result().to_dict()


def test_merging_a_pickled_remote_accumulator():
    # What a torch.distributed gather or a Ray worker does: bytes travel, then merge.
    layers, y = _layers(5)
    local = layerlaw.Accumulator(["input", "relu"], classes=3)
    remote = layerlaw.Accumulator(["input", "relu"], classes=3)
    _feed(local, layers, y, slice(0, 70))
    _feed(remote, layers, y, slice(70, None))
    local.merge(pickle.loads(pickle.dumps(remote)))
    _close(local.result(), layerlaw.measure(layers, y), rel=1e-10)


def test_self_merge_doubles_every_sample():
    layers, y = _layers(6)
    acc = layerlaw.Accumulator(["input", "relu"], classes=3)
    _feed(acc, layers, y, slice(None))
    acc.merge(acc)
    doubled = layerlaw.measure({k: np.concatenate([v, v]) for k, v in layers.items()}, np.concatenate([y, y]))
    _close(acc.result(), doubled, rel=1e-10)


def test_layers_seeing_different_samples_are_noted():
    layers, y = _layers(7)
    acc = layerlaw.Accumulator(["input", "relu"], classes=3)
    acc.update("input", layers["input"], y)
    acc.update("relu", layers["relu"][:150], y[:150])
    rep = acc.result()
    assert rep.n == 160 and any("relu" in note for note in rep.notes)
