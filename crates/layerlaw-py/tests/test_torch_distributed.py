"""Two ranks (gloo, CPU) and shard jobs (save, merge, pass 2, merge, finish) equal one process."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="layerlaw.torch needs torch (pip install torch)")

from torch.utils.data import DataLoader, Subset, TensorDataset  # noqa: E402

import layerlaw.torch as lt  # noqa: E402
import torch_models as tm  # noqa: E402

K, N = 4, 240


def data():
    return TensorDataset(*tm.clustered(N, K, 6, seed=5))


def _rank(rank, world, init, out):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        ds = data()
        sampler = torch.utils.data.distributed.DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=False)
        report = lt.measure(tm.mlp(6, K), DataLoader(ds, batch_size=25, sampler=sampler), progress=False)
        np.save(os.path.join(out, f"rank{rank}.npy"), np.array(
            list(report.fuzziness) + list(report.layers[-1].class_means.ravel()) + [report.n, report.classifier.nc4]))
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_equal_one_process(tmp_path):
    import torch.multiprocessing as mp

    init = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_rank, args=(2, init, str(tmp_path)), nprocs=2, join=True)
    one = lt.measure(tm.mlp(6, K), DataLoader(data(), batch_size=25), progress=False)
    want = np.array(list(one.fuzziness) + list(one.layers[-1].class_means.ravel()) + [one.n, one.classifier.nc4])
    for rank in range(2):
        got = np.load(tmp_path / f"rank{rank}.npy")
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=f"rank {rank}")
    assert want[-2] == N


def test_shard_jobs_save_merge_and_finish(tmp_path):
    ds, model = data(), tm.mlp(6, K)
    shards = [Subset(ds, range(s, min(s + 90, N))) for s in range(0, N, 90)]
    loaders = [DataLoader(s, batch_size=32) for s in shards]
    # 1. pass 1 on every shard
    for i, loader in enumerate(loaders):
        lt.pass1(model, loader, num_classes=K, progress=False).save(str(tmp_path / f"p1-{i}"))
    # 2. merge, then pass 2 on every shard with the merged state
    lt.merge([str(tmp_path / f"p1-{i}") for i in range(len(loaders))]).save(str(tmp_path / "p1"))
    for i, loader in enumerate(loaders):
        lt.pass2(model, loader, str(tmp_path / "p1"), progress=False).save(str(tmp_path / f"p2-{i}"))
    # 3. merge and finish
    report = lt.finish(lt.merge([str(tmp_path / f"p2-{i}") for i in reversed(range(len(loaders)))]))
    one = lt.measure(model, DataLoader(ds, batch_size=32), progress=False)
    np.testing.assert_allclose(report.fuzziness, one.fuzziness, rtol=1e-10)
    assert report.classifier.nc4 == one.classifier.nc4
    assert [layer.name for layer in report.layers] == [layer.name for layer in one.layers]

    # A shard's pass 2 with data that pass 1 never saw, pass-2 states of another pass 1,
    # and a corrupt file are refused.
    with pytest.raises(lt.LoaderMismatchError, match="matches no pass-1 shard"):
        lt.pass2(model, DataLoader(Subset(ds, range(5, 95)), batch_size=32), str(tmp_path / "p1"), progress=False)
    lt.pass1(model, loaders[0], num_classes=K, progress=False).save(str(tmp_path / "other"))
    lt.pass2(model, loaders[0], str(tmp_path / "other"), progress=False).save(str(tmp_path / "p2-other"))
    with pytest.raises(ValueError, match="different pass-1 states"):
        lt.merge([str(tmp_path / "p2-0"), str(tmp_path / "p2-other")])
    raw = bytearray((tmp_path / "p2-0").read_bytes())
    raw[-20] ^= 0xFF
    (tmp_path / "bad").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum"):
        lt.load(str(tmp_path / "bad"))
    with pytest.raises(ValueError, match="needs a pass-2 state"):
        lt.finish(str(tmp_path / "p1"))
