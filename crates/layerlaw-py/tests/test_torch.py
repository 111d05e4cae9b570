"""Forward hooks over a DataLoader feed the Accumulator (skipped when torch is not installed)."""

import numpy as np
import pytest

import layerlaw

torch = pytest.importorskip("torch")


def test_hooks_over_a_dataloader_equal_measure():
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    k = 4
    x = torch.randn(600, 8) + 2.0 * torch.randn(k, 8)[torch.arange(600) % k]
    y = torch.arange(600) % k
    model = nn.Sequential(nn.Sequential(nn.Linear(8, 16), nn.ReLU()), nn.Sequential(nn.Linear(16, 16), nn.Tanh()))
    acc = layerlaw.Accumulator(["0", "1"], classes=k)
    labels = {}
    handles = [
        model[i].register_forward_hook(lambda m, a, out, i=i: acc.update(i, out.detach().numpy(), labels["y"]))
        for i in range(2)
    ]
    with torch.no_grad():
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=64):
            labels["y"] = yb.numpy()
            model(xb)
    for h in handles:
        h.remove()
    with torch.no_grad():
        h0 = model[0](x)
        h1 = model[1](h0)
    # Tensors go straight in (numpy.asarray), int64 torch labels too.
    whole = layerlaw.measure({"0": h0, "1": h1}, y)
    streamed = acc.result()
    np.testing.assert_allclose(streamed.fuzziness, whole.fuzziness, rtol=1e-10)
    assert streamed.class_counts == whole.class_counts == [150] * 4
