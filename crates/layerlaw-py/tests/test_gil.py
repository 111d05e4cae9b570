"""The GIL is released during computation: another Python thread makes progress meanwhile."""

import threading
import time

import numpy as np

import layerlaw


def test_other_threads_run_during_a_long_update():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(15000, 600)).astype(np.float32)
    y = np.arange(15000) % 4
    acc = layerlaw.Accumulator(1, classes=4)
    window = {}

    def work():
        window["start"] = time.perf_counter()
        acc.update(0, x, y)  # one O(b p^2) GEMM, ~0.3-1 s on 2 cores
        window["end"] = time.perf_counter()

    t = threading.Thread(target=work)
    ticks = []
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    start, end = window["start"], window["end"]
    assert end - start > 0.05, "the call was too short to tell"
    # Ticks strictly inside the call (margins of 10% of it): with the GIL held there would be
    # none at all, since the main thread cannot run Python while the extension holds it.
    margin = 0.1 * (end - start)
    inside = [s for s in ticks if start + margin < s < end - margin]
    assert len(inside) > 100
    assert acc.num_samples(0) == 15000
