"""Pass1 / Basis / Pass2 on NumPy batches equal layerlaw.measure; states merge, pickle and
refuse bad batches naming the batch."""

import pickle

import numpy as np
import pytest

import layerlaw
from layerlaw._layerlaw import Pass1, Pass2, _centre_agreement, _measure_statistics
from layerlaw._reports import Report
import reference


def two_pass(x, y, k, batch):
    p1 = Pass1(k, x.shape[1])
    for s in range(0, len(y), batch):
        p1.update(x[s:s + batch], y[s:s + batch])
    basis = p1.close()
    p2 = Pass2(basis)
    for s in range(0, len(y), batch):
        p2.update(basis, x[s:s + batch], y[s:s + batch])
    return p1, basis, p2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_batches_equal_measure(dtype):
    x, y = reference.clustered(0, 9, 5, seed=4, dtype=dtype, counts=[70, 20, 45, 9, 33])
    p1, basis, p2 = two_pass(x, y, 5, batch=17)
    got = _measure_statistics(["x"], [basis], [p2])
    assert isinstance(got, Report)
    want = layerlaw.measure({"x": x}, y)
    assert got.layers[0].fuzziness == pytest.approx(want.layers[0].fuzziness, rel=1e-12)
    assert got.layers[0].nc1 == pytest.approx(want.layers[0].nc1, rel=1e-12)
    assert got.class_counts == want.class_counts == [70, 20, 45, 9, 33]
    np.testing.assert_allclose(basis.means, reference.class_means(x, y, 5), rtol=1e-12)
    q = basis.q
    np.testing.assert_allclose(q.T @ q, np.eye(basis.rank), atol=1e-12)
    assert basis.rank == 4 and p1.num_samples == len(y) and p1.batches == 11


def test_merge_pickle_and_parts():
    x, y = reference.clustered(300, 6, 3, seed=2)
    a, b = Pass1(3, 6), Pass1(3, 6)
    a.update(x[:100], y[:100])
    b.update(x[100:], y[100:])
    a.merge(b)
    whole, basis, p2 = two_pass(x, y, 3, batch=300)
    assert a.counts == whole.counts
    np.testing.assert_allclose(a.sums, whole.sums, rtol=1e-13)
    parts = Pass1.from_parts(np.array(a.counts), a.sums)
    assert parts.close().fingerprint == Pass1.from_parts(a.counts, a.sums).close().fingerprint
    assert pickle.loads(pickle.dumps(whole)) == whole
    assert pickle.loads(pickle.dumps(p2)) == p2
    again = Pass2.from_parts(basis, p2.counts, p2.scatter, p2.sum_squares)
    assert again.counts == p2.counts and again.sum_squares == p2.sum_squares
    np.testing.assert_array_equal(again.scatter, p2.scatter)
    # NC4 counted on NumPy batches equals layerlaw.measure with the classifier.
    w = np.random.default_rng(0).normal(size=(3, 6))
    counts = _centre_agreement(basis, (0, 0, 0, 0), x, y, w)
    got = _measure_statistics(["x"], [basis], [p2], w, counts)
    want = layerlaw.measure({"x": x}, y, classifier_weight=w)
    assert got.classifier.nc4 == want.classifier.nc4
    assert got.classifier.nc3 == pytest.approx(want.classifier.nc3, rel=1e-12)


def test_errors_name_the_batch():
    x, y = reference.clustered(60, 4, 2, seed=1)
    p1 = Pass1(2, 4)
    p1.update(x[:30], y[:30])
    bad = x[30:].copy()
    bad[2, 3] = np.inf
    with pytest.raises(ValueError, match=r"batch 1: feature at row 2, column 3 is not finite"):
        p1.update(bad, y[30:])
    with pytest.raises(ValueError, match=r"batch 1: label at row 0 is 7"):
        p1.update(x[30:], np.full(30, 7))
    with pytest.raises(ValueError, match=r"batch 1: shape mismatch for batch features"):
        p1.update(x[30:, :3], y[30:])
    p1.update(x[30:], y[30:])
    basis = p1.close()
    p2 = Pass2(basis)
    p2.update(basis, x[:59], y[:59])
    with pytest.raises(ValueError, match=r"pass 2 saw \d+ samples of class \d but pass 1 saw"):
        _measure_statistics(["x"], [basis], [p2])
    with pytest.raises(ValueError, match="corrupt"):
        Pass1.from_bytes(b"LLGEOPS1" + bytes(40))
    with pytest.raises(ValueError, match="class 1 has no samples"):
        Pass1.from_parts([3, 0], np.ones((2, 4))).close()
