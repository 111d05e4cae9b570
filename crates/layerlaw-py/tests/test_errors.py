"""Every bad input raises the right exception with a message naming the problem."""

import numpy as np
import pytest

import layerlaw
from reference import clustered

X, Y = clustered(60, 5, 3, seed=11)


def nan_at(row, col):
    x = X.copy()
    x[row, col] = np.nan
    return x


@pytest.mark.parametrize(
    "x, y, kwargs, exc, pattern",
    [
        (X[:, 0], Y, {}, ValueError, r"2-D array .*shape \(60,\)"),
        (X[:50], Y, {}, ValueError, r"50 rows but there are 60 labels"),
        (nan_at(7, 3), Y, {}, ValueError, r"row 7, column 3 is not finite \(NaN\)"),
        (X, np.where(np.arange(60) == 4, -2, Y), {}, ValueError, r"row 4 is negative \(-2\)"),
        (X, Y, {"num_classes": 2}, ValueError, r"there are only 2 classes"),
        (X, Y, {"num_classes": 5}, ValueError, r"class 3 has no samples"),
        (X, np.where(Y == 1, 2, Y), {}, ValueError, r"class 1 has no samples"),
        (X, np.zeros(60, dtype=int), {}, ValueError, r"at least 2 classes"),
        (X, Y.astype(np.float64), {}, TypeError, r"integer dtype, got float64"),
        (X, Y.reshape(60, 1), {}, ValueError, r"1-D integer array"),
        (X.astype(np.complex128), Y, {}, TypeError, r"float32 or float64\), got dtype complex128"),
        (np.ones((60, 5)), Y, {}, ValueError, r"between-class scatter is zero"),
        (X[:, :0], Y, {}, ValueError, r"zero columns"),
        (X, Y, {"num_classes": -1}, ValueError, r"num_classes must be >= 0"),
        (X, np.where(np.arange(60) == 9, 2**63 + 5, Y).astype(np.uint64), {}, ValueError, r"row 9 does not fit"),
    ],
)
def test_fuzziness_errors(x, y, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        layerlaw.fuzziness(x, y, **kwargs)


def test_measure_names_the_layer():
    with pytest.raises(ValueError, match=r"layer 'b': feature at row 2, column 1 is not finite \(inf\)"):
        x = X.copy()
        x[2, 1] = np.inf
        layerlaw.measure({"a": X, "b": x}, Y)
    with pytest.raises(ValueError, match="layers is empty"):
        layerlaw.measure({}, Y)
    with pytest.raises(TypeError, match=r"layers\[0\] must be a \(name, X\) pair"):
        layerlaw.measure([X], Y)
    with pytest.raises(TypeError, match="dict"):
        layerlaw.measure(3, Y)


def test_measure_classifier_errors():
    with pytest.raises(ValueError, match=r"classifier against layer 'a'.*expected 3x5, got 3x4"):
        layerlaw.measure({"a": X}, Y, classifier_weight=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"classifier bias: expected 3x1, got 2x1"):
        layerlaw.measure({"a": X}, Y, classifier_weight=np.ones((3, 5)), classifier_bias=np.ones(2))
    with pytest.raises(ValueError, match="minority: class index 7 is out of range"):
        layerlaw.measure({"a": X}, Y, classifier_weight=np.ones((3, 5)), minority=[7])
    with pytest.raises(ValueError, match="need classifier_weight"):
        layerlaw.measure({"a": X}, Y, minority=[1])
    w = np.ones((3, 5))
    w[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"non-finite entry at \(1, 2\)"):
        layerlaw.measure({"a": X}, Y, classifier_weight=w)


def test_law_errors():
    with pytest.raises(ValueError, match="need at least 2 layers .* got 1"):
        layerlaw.fit_law([1.0])
    with pytest.raises(ValueError, match="D at layer 1 is 0"):
        layerlaw.fit_law([1.0, 0.0, 0.5])
    with pytest.raises(ValueError, match="D at layer 2 is NaN"):
        layerlaw.fit_law([1.0, 0.3, float("nan")])


def test_measure_notes_an_impossible_law_instead_of_failing():
    collapsed = np.eye(3)[Y] * 2.0  # every sample at its class mean: D = 0
    rep = layerlaw.measure({"a": X, "collapsed": collapsed}, Y)
    assert rep.layers[1].fuzziness == 0.0 and rep.law is None
    assert any("law not fitted" in n and "layer 1" in n for n in rep.notes)


def test_accumulator_errors():
    with pytest.raises(ValueError, match="at least 2 classes, got 1"):
        layerlaw.Accumulator(["a"], classes=1)
    with pytest.raises(ValueError, match="'a' is given twice"):
        layerlaw.Accumulator(["a", "a"], classes=3)
    with pytest.raises(ValueError, match="at least one layer"):
        layerlaw.Accumulator([], classes=3)
    acc = layerlaw.Accumulator(["a", "b"], classes=3, max_dim=8)
    with pytest.raises(ValueError, match=r"unknown layer 'c'"):
        acc.update("c", X, Y)
    with pytest.raises(ValueError, match="layer 5 is out of range"):
        acc.update(5, X, Y)
    with pytest.raises(TypeError, match="layer name"):
        acc.update(1.5, X, Y)
    acc.update("a", X, Y)
    with pytest.raises(ValueError, match=r"layer 'a'.*dimension 4 differs from the first batch's 5"):
        acc.update("a", X[:, :4], Y)
    with pytest.raises(ValueError, match=r"layer 'a'.*label at batch row 0 is 3, but there are 3 classes"):
        acc.update("a", X[:2], np.array([3, 0]))
    with pytest.raises(ValueError, match=r"layer 'a'.*row 1 is negative \(-1\)"):
        acc.update("a", X[:2], np.array([0, -1]))
    with pytest.raises(ValueError, match=r"layer 'b'.*dimension 9 exceeds the accumulator limit 8"):
        acc.update("b", np.ones((3, 9)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"layer 'a'.*row 7, column 3 is not finite"):
        acc.update("a", nan_at(7, 3), Y)
    # Failed updates changed nothing.
    assert acc.num_samples("a") == 60 and acc.class_counts("a") == [20, 20, 20]
    with pytest.raises(ValueError, match="layer 'b'.*received no data"):
        acc.result()
    with pytest.raises(ValueError, match="different layers"):
        acc.merge(layerlaw.Accumulator(["a", "c"], classes=3))
    with pytest.raises(ValueError, match="cannot merge accumulators: 3 classes x 2 layers vs 4 classes x 2 layers"):
        acc.merge(layerlaw.Accumulator(["a", "b"], classes=4))
    with pytest.raises(TypeError, match="another layerlaw.Accumulator"):
        acc.merge("not an accumulator")


def test_corrupt_bytes():
    acc = layerlaw.Accumulator(["a"], classes=3)
    acc.update("a", X, Y)
    good = acc.to_bytes()
    with pytest.raises(ValueError, match="bad magic"):
        layerlaw.Accumulator.from_bytes(b"x" * len(good))
    with pytest.raises(ValueError, match="corrupt accumulator bytes at offset"):
        layerlaw.Accumulator.from_bytes(good[:-9])
    flipped = bytearray(good)
    flipped[-20] ^= 0xFF  # inside the geometry section: its checksum catches it
    with pytest.raises(ValueError, match="corrupt accumulator bytes"):
        layerlaw.Accumulator.from_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="trailing bytes"):
        layerlaw.Accumulator.from_bytes(good + b"\0")
