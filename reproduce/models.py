"""The networks of both papers' experiments, in PyTorch, as their official code defines them.

Paper 1 (He & Su, "A law of data separation in deep learning", PNAS 2023), official code
``HornHehhf/Equi-Separation``:

* :class:`GFNN`: ``Linear -> BatchNorm1d -> ReLU`` blocks (input block plus ``layer_num`` hidden
  blocks) and a linear classifier; the law is measured at the input and every block's output.
* :class:`VGG13Mod`: VGG13's layout with **5x5** convolutions (padding 2), BatchNorm2d and ReLU,
  the input repeated x16 along channels, then ``fc1`` 512->4096 and ``fc2`` 4096->4096 (each with
  BatchNorm1d and ReLU) and the classifier; measured after every convolution's ReLU (before
  max-pooling) and after fc1 and fc2.
* :class:`AlexNetMod`: five 5x5 convolutions (64, 192, 384, 256, 256 channels) with BatchNorm2d
  and ReLU, max-pooling (3, stride 2, padding 1) after the 1st, 2nd and 5th, the input repeated
  x32, fc1 256*4*4->4096 and fc2 4096->4096; measured after every convolution's ReLU, fc1, fc2.
* :class:`GResNet`: 8 planes throughout, stride 1 (no downsampling), the input repeated x8,
  ``BasicBlock`` (two 3x3 convolutions) or the modified ``Bottleneck`` (three 5x5 convolutions,
  expansion 1), classifier Linear(8*32*32, K); measured at every block's output (after the
  residual addition and ReLU), or also inside blocks (``features="layer"``).
* :class:`ResNetMix`: two bottleneck blocks, then two basic blocks (``ResNetMixV2``).

Paper 2 (Fang, He, Long & Su, "Exploring deep neural networks via layer-peeled model", PNAS
2021), official code ``HornHehhf/LPM`` (after ``kuangliu/pytorch-cifar``):

* :class:`VGG11`: 3x3 convolutions with BatchNorm2d and ReLU in VGG11's layout, then fc1
  512->4096 and fc2 4096->4096 (BatchNorm1d, ReLU) and the classifier (4096-dim features);
* :class:`ResNet18`: 3x3 stem, BasicBlock stages [2, 2, 2, 2] of 64/128/256/512 planes with
  strides 1/2/2/2, 4x4 average pooling, Linear(512, K).

``width`` scales every channel count and hidden width (1.0 is the papers' network; the quick
modes use small fractions). Every model has ``classifier`` (the last ``nn.Linear``) and
``law_layers()``, the ordered ``{name: module}`` whose outputs are the law's points after the
input; hooks on those modules see each point exactly once per forward pass.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

Cfg = Sequence[Union[int, str]]

VGG_CFG: Dict[str, List[Union[int, str]]] = {
    "VGG11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
}


def _scaled(c: int, width: float) -> int:
    return max(1, int(round(c * width)))


def _fc_block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU())


class GFNN(nn.Module):
    """Feedforward net of paper 1: input block + ``layer_num`` hidden blocks + classifier.

    ``batchnorm=False`` and ``relu=False`` give the paper's negative controls.
    """

    def __init__(self, input_size: int, hidden: int = 100, layer_num: int = 6, num_classes: int = 10,
                 batchnorm: bool = True, relu: bool = True):
        super().__init__()

        def block(n_in: int) -> nn.Sequential:
            mods: List[nn.Module] = [nn.Linear(n_in, hidden)]
            if batchnorm:
                mods.append(nn.BatchNorm1d(hidden))
            if relu:
                mods.append(nn.ReLU())
            return nn.Sequential(*mods)

        self.inputs = block(input_size)
        self.layers = nn.ModuleList([block(hidden) for _ in range(layer_num)])
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inputs(x.flatten(1))
        for layer in self.layers:
            out = layer(out)
        return self.classifier(out)

    def law_layers(self) -> "OrderedDict[str, nn.Module]":
        named = [("block1", self.inputs)] + [(f"block{i + 2}", m) for i, m in enumerate(self.layers)]
        return OrderedDict(named)


class _ConvStack(nn.Module):
    """Convolutions (each ``conv -> BN -> ReLU``) and max-pools from a VGG-style config."""

    def __init__(self, cfg: Cfg, in_channels: int, kernel: int, width: float):
        super().__init__()
        mods: List[nn.Module] = []
        self.relus: List[nn.Module] = []
        c_in = in_channels
        for item in cfg:
            if item == "M":
                mods.append(nn.MaxPool2d(2, 2))
                continue
            c_out = _scaled(int(item), width)
            relu = nn.ReLU()
            mods += [nn.Conv2d(c_in, c_out, kernel_size=kernel, padding=kernel // 2), nn.BatchNorm2d(c_out), relu]
            self.relus.append(relu)
            c_in = c_out
        self.out_channels = c_in
        self.body = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _VGGBase(nn.Module):
    def __init__(self, cfg: Cfg, in_channels: int, repeat: int, kernel: int, width: float, num_classes: int,
                 spatial: int):
        super().__init__()
        self.repeat = repeat
        self.features = _ConvStack(cfg, in_channels * repeat, kernel, width)
        pools = sum(1 for c in cfg if c == "M")
        flat = self.features.out_channels * (spatial // 2**pools) ** 2
        hidden = _scaled(4096, width)
        self.fc1 = _fc_block(flat, hidden)
        self.fc2 = _fc_block(hidden, hidden)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.repeat > 1:
            x = x.repeat(1, self.repeat, 1, 1)
        out = self.features(x).flatten(1)
        return self.classifier(self.fc2(self.fc1(out)))

    def law_layers(self) -> "OrderedDict[str, nn.Module]":
        named = [(f"conv{i + 1}", r) for i, r in enumerate(self.features.relus)]
        return OrderedDict(named + [("fc1", self.fc1), ("fc2", self.fc2)])


class VGG13Mod(_VGGBase):
    """Paper 1's modified VGG13 (5x5 convolutions, input repeated x16): 10 conv points + fc1, fc2."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 1.0, spatial: int = 32):
        super().__init__(VGG_CFG["VGG13"], in_channels, 16, 5, width, num_classes, spatial)


class VGG11(_VGGBase):
    """Paper 2's VGG11 (3x3 convolutions, kuangliu layout, fc1/fc2 of 4096 with BN)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 1.0, spatial: int = 32):
        super().__init__(VGG_CFG["VGG11"], in_channels, 1, 3, width, num_classes, spatial)


class AlexNetMod(nn.Module):
    """Paper 1's modified AlexNet (five 5x5 convolutions with BN, input repeated x32)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 1.0, spatial: int = 32):
        super().__init__()
        chans = [_scaled(c, width) for c in (64, 192, 384, 256, 256)]
        pool_after = {0, 1, 4}
        mods: List[nn.Module] = []
        self.relus: List[nn.Module] = []
        c_in = in_channels * 32
        for i, c in enumerate(chans):
            relu = nn.ReLU()
            mods += [nn.Conv2d(c_in, c, kernel_size=5, padding=2), nn.BatchNorm2d(c), relu]
            self.relus.append(relu)
            if i in pool_after:
                mods.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
            c_in = c
        self.features = nn.Sequential(*mods)
        side = spatial
        for _ in pool_after:
            side = (side + 2 - 3) // 2 + 1
        hidden = _scaled(4096, width)
        self.fc1 = _fc_block(c_in * side * side, hidden)
        self.fc2 = _fc_block(hidden, hidden)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.features(x.repeat(1, 32, 1, 1)).flatten(1)
        return self.classifier(self.fc2(self.fc1(out)))

    def law_layers(self) -> "OrderedDict[str, nn.Module]":
        named = [(f"conv{i + 1}", r) for i, r in enumerate(self.relus)]
        return OrderedDict(named + [("fc1", self.fc1), ("fc2", self.fc2)])


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BN; ``relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))``."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    def inner(self) -> List[nn.Module]:
        """The modules whose outputs are this block's intra-block points."""
        return [self.relu1]


class Bottleneck(nn.Module):
    """Paper 1's modified bottleneck: three 5x5 convolutions with BN, expansion 1."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 5, stride=1, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 5, stride=stride, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(planes, planes, 5, stride=1, padding=2, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))

    def inner(self) -> List[nn.Module]:
        """The modules whose outputs are this block's intra-block points."""
        return [self.relu1, self.relu2]


def _block_points(blocks: Sequence[nn.Module], features: str, first: int = 1) -> "OrderedDict[str, nn.Module]":
    if features not in ("block", "layer"):
        raise ValueError(f"features must be 'block' or 'layer', got {features!r}")
    out: "OrderedDict[str, nn.Module]" = OrderedDict()
    for i, b in enumerate(blocks, start=first):
        if features == "layer":
            for j, m in enumerate(b.inner(), start=1):  # type: ignore[operator]
                out[f"block{i}.relu{j}"] = m
        out[f"block{i}"] = b
    return out


class GResNet(nn.Module):
    """Paper 1's residual net: ``num_blocks`` blocks of 8 planes at full resolution."""

    def __init__(self, block: str = "basic", num_blocks: int = 4, in_channels: int = 1, num_classes: int = 10,
                 planes: int = 8, spatial: int = 32):
        super().__init__()
        kinds = {"basic": BasicBlock, "bottleneck": Bottleneck}
        if block not in kinds:
            raise ValueError(f"block must be 'basic' or 'bottleneck', got {block!r}")
        self.repeat = planes // in_channels if planes % in_channels == 0 else 1
        c_in = in_channels * self.repeat
        blocks = []
        for _ in range(num_blocks):
            blocks.append(kinds[block](c_in, planes))
            c_in = planes
        self.layer1 = nn.Sequential(*blocks)
        self.classifier = nn.Linear(planes * spatial * spatial, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer1(x.repeat(1, self.repeat, 1, 1))
        return self.classifier(out.flatten(1))

    def law_layers(self, features: str = "block") -> "OrderedDict[str, nn.Module]":
        return _block_points(list(self.layer1), features)


class ResNetMix(nn.Module):
    """Paper 1's mixed residual net (``ResNetMixV2``): bottleneck blocks, then basic blocks."""

    def __init__(self, num_blocks: int = 4, in_channels: int = 1, num_classes: int = 10, planes: int = 8,
                 spatial: int = 32):
        super().__init__()
        if num_blocks % 2:
            raise ValueError(f"num_blocks must be even (half bottleneck, half basic), got {num_blocks}")
        self.repeat = planes // in_channels if planes % in_channels == 0 else 1
        c_in = in_channels * self.repeat
        first = [Bottleneck(c_in, planes)] + [Bottleneck(planes, planes) for _ in range(num_blocks // 2 - 1)]
        self.layer1 = nn.Sequential(*first)
        self.layer2 = nn.Sequential(*[BasicBlock(planes, planes) for _ in range(num_blocks // 2)])
        self.classifier = nn.Linear(planes * spatial * spatial, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer2(self.layer1(x.repeat(1, self.repeat, 1, 1)))
        return self.classifier(out.flatten(1))

    def law_layers(self, features: str = "block") -> "OrderedDict[str, nn.Module]":
        return _block_points(list(self.layer1) + list(self.layer2), features)

    def segment_break(self, features: str = "block") -> int:
        """Index (in the points input, then ``law_layers``) of the last bottleneck point: the
        piecewise fit runs over points 0..break and break..end."""
        per_block = 3 if features == "layer" else 1
        return len(self.layer1) * per_block


class ResNet18(nn.Module):
    """Paper 2's ResNet18 (kuangliu): 3x3 stem, [2, 2, 2, 2] basic blocks, 4x4 average pool."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 1.0):
        super().__init__()
        c = _scaled(64, width)
        self.conv1 = nn.Conv2d(in_channels, c, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.stem = nn.ReLU()
        stages = []
        c_in = c
        for i, stride in enumerate((1, 2, 2, 2)):
            planes = _scaled(64 * 2**i, width)
            stages.append(nn.Sequential(BasicBlock(c_in, planes, stride), BasicBlock(planes, planes, 1)))
            c_in = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.Flatten()
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stem(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = self.pool(F.avg_pool2d(out, 4))
        return self.classifier(out)

    def law_layers(self) -> "OrderedDict[str, nn.Module]":
        named = [("stem", self.stem)]
        for i, stage in enumerate((self.layer1, self.layer2, self.layer3, self.layer4), start=1):
            named += [(f"layer{i}.{j}", b) for j, b in enumerate(stage)]
        return OrderedDict(named + [("features", self.pool)])
