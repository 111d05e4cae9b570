"""layerlaw.torch refuses bad input with messages that name the layer, batch, row or class."""

import pytest

torch = pytest.importorskip("torch", reason="layerlaw.torch needs torch (pip install torch)")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import layerlaw.torch as lt  # noqa: E402
import torch_models as tm  # noqa: E402


def loader_of(n=120, k=3, p=5, batch=20, seed=0):
    x, y = tm.clustered(n, k, p, seed=seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch)


def test_unknown_layer_lists_close_names():
    model = tm.TinyResNet(3)
    loader = DataLoader(TensorDataset(*tm.fashion_mnist_slice(30)), batch_size=10)
    with pytest.raises(ValueError, match=r"unknown layer 'layer1\.0\.conv'.*close names: .*layer1\.0\.conv1"):
        lt.measure(model, loader, ["layer1.0.conv"], progress=False)
    with pytest.raises(ValueError, match=r"runs 2 times per forward pass"):
        lt.measure(model, loader, ["layer1.0.relu"], progress=False)
    with pytest.raises(ValueError, match="matches no module"):
        lt.measure(model, loader, ["decoder.*"], progress=False)


class NaNAfter(nn.Module):
    """Passes its input through, except for a NaN in batch ``bad`` (counted per call)."""

    def __init__(self, bad):
        super().__init__()
        self.calls, self.bad = 0, bad

    def forward(self, x):
        self.calls += 1
        if self.calls == self.bad + 2:  # one discovery forward, then batches 0, 1, ...
            x = x.clone()
            x[3, 1] = float("nan")
        return x


def test_nan_activation_names_layer_and_batch():
    model = nn.Sequential(nn.Linear(5, 4), NaNAfter(bad=2), nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"layer '1', batch 2: a NaN or Inf activation"):
        lt.measure(model, loader_of(), ["0", "1"], progress=False)


def test_labels_out_of_range_negative_and_absent_class():
    with pytest.raises(ValueError, match=r"batch 0: label at row 1 is 4, but there are only 3 classes"):
        x, y = tm.clustered(60, 3, 5)
        y[1] = 4
        lt.measure(nn.Sequential(nn.Linear(5, 3)), DataLoader(TensorDataset(x, y), batch_size=20), num_classes=3, progress=False)
    with pytest.raises(ValueError, match=r"batch 2: label at row 5 is -1"):
        x, y = tm.clustered(60, 3, 5)
        y[45] = -1
        lt.measure(nn.Sequential(nn.Linear(5, 3)), DataLoader(TensorDataset(x, y), batch_size=20), progress=False)
    with pytest.raises(ValueError, match=r"layer 'input': class 3 has no samples"):
        lt.measure(nn.Sequential(nn.Linear(5, 3)), loader_of(), num_classes=4, progress=False)
    with pytest.raises(ValueError, match=r"need at least 2 classes"):
        x, _ = tm.clustered(40, 2, 5)
        lt.measure(nn.Sequential(nn.Linear(5, 3)), DataLoader(TensorDataset(x, torch.zeros(40, dtype=torch.long)), batch_size=20), progress=False)
    with pytest.raises(TypeError, match="labels must be integers"):
        x, y = tm.clustered(40, 2, 5)
        lt.measure(nn.Sequential(nn.Linear(5, 3)), DataLoader(TensorDataset(x, y.float()), batch_size=20), progress=False)


class Transposed(nn.Module):
    def forward(self, x):
        return x.T


def test_layer_whose_batch_size_differs_from_the_labels():
    model = nn.Sequential(nn.Linear(5, 7), Transposed(), nn.Flatten(0))
    with pytest.raises(ValueError, match=r"layer '1', batch 0: the output has 7 rows .* but the batch has 20 labels"):
        lt.measure(model, loader_of(), ["1"], progress=False)


def test_shuffled_loader_is_detected():
    x, y = tm.clustered(200, 4, 5)
    model = tm.mlp(5, 4)
    torch.manual_seed(1)
    shuffled = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    with pytest.raises(lt.LoaderMismatchError, match=r"turn off shuffling .* or use passes=1"):
        lt.measure(model, shuffled, progress=False)
    # Another subset in pass 2: the class counts differ.
    st = lt.pass1(model, DataLoader(TensorDataset(x, y), batch_size=32), progress=False)
    with pytest.raises(lt.LoaderMismatchError, match=r"class 0 has 49 samples in pass 2 but 50 in pass 1"):
        lt.pass2(model, DataLoader(TensorDataset(x[1:], y[1:]), batch_size=32), st, progress=False)


class Augmented(torch.utils.data.Dataset):
    """Random noise added to each example every time it is read."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i] + 0.05 * torch.randn(self.x.shape[1]), self.y[i]


def test_random_augmentation_is_detected():
    x, y = tm.clustered(400, 4, 5)
    torch.manual_seed(2)
    loader = DataLoader(Augmented(x, y), batch_size=50)
    with pytest.raises(lt.LoaderMismatchError, match=r"layer 'input': the class means of pass 2 differ .* random augmentation"):
        lt.measure(tm.mlp(5, 4), loader, progress=False)


def test_bad_options():
    with pytest.raises(ValueError, match="passes must be 1 or 2"):
        lt.measure(nn.Sequential(nn.Linear(5, 3)), loader_of(), passes=3, progress=False)
    with pytest.raises(ValueError, match="passes=1 needs num_classes"):
        lt.measure(nn.Sequential(nn.Linear(5, 3)), loader_of(), passes=1, progress=False)
    with pytest.raises(ValueError, match="a batch must be"):
        lt.measure(nn.Sequential(nn.Linear(5, 3)), [torch.zeros(4, 5)], progress=False)
    with pytest.raises(ValueError, match="classifier weight has shape"):
        lt.measure(tm.mlp(5, 3), loader_of(), classifier=torch.zeros(3, 7), progress=False)
    with pytest.raises(ValueError, match="batchnorm must be"):
        lt.measure(tm.mlp(5, 3), loader_of(), batchnorm="frozen", progress=False)


def test_import_layerlaw_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, layerlaw; assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
