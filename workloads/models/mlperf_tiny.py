"""MLPerf Tiny's image models: ResNet-8 (CIFAR-10) and MobileNetV1 0.25x (visual wake words).

Both follow the MLPerf Tiny reference models (the EEMBC Keras definitions of the benchmark's
training code, v0.5+); the module names follow its PyTorch port of ResNet-8 where there is one.
Weights are seeded (:func:`workloads.models.init_weights`).

* ResNet-8 v1 (``resnet_v1_eembc`` with 16 filters): a 3x3 convolution 3 -> 16 with BatchNorm and
  ReLU, three residual stacks of 16, 32 and 64 channels (two 3x3 convolutions with BatchNorm, ReLU
  between them; stride 2 in the first convolution of stacks 2 and 3, whose shortcut is a 1x1
  stride-2 convolution without BatchNorm), ReLU after each add, a global average pool and
  Linear(64, 10). Convolutions have biases, as Keras's ``Conv2D`` does. 78,186 parameters (78,666 as Keras
  counts them, with BatchNorm's moving statistics).
* MobileNetV1 0.25x for 96x96 visual wake words (``mobilenet_v1`` of the benchmark, 2 classes): a
  3x3 stride-2 convolution to 8 channels, then 13 depthwise-separable blocks (a 3x3 depthwise
  convolution and a 1x1 pointwise convolution, each with BatchNorm and ReLU; stride 2 in blocks
  2, 4, 6 and 12) widening to 16, 32, 32, 64, 64, 128 (x6), 256, 256 channels, a global
  average pool and Linear(256, 2). As in the reference: biases in every convolution (Keras's
  default), plain ReLU (not ReLU6). Keras's ``padding="same"`` pads a stride-2 layer on an even
  map by one row and column after the map only; the torch layers here pad one on each side
  (same output sizes, the windows shifted by one pixel). 216,322 parameters (221,794 with
  BatchNorm's moving statistics, as Keras counts them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResNetBlock(nn.Module):
    """A ResNet-8 stack: ``block`` (conv 3x3, BN, ReLU, conv 3x3, BN) and ``residual`` (the
    identity, or a 1x1 convolution when the width changes); ReLU after the add."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride, bias=True),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=True),
            nn.BatchNorm2d(out_channels),
        )
        self.residual: nn.Module = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """relu(block(x) + residual(x))."""
        return F.relu(self.block(inputs) + self.residual(inputs))


class ResNet8(nn.Module):
    """MLPerf Tiny's ResNet-8 v1 for 32x32 CIFAR-10 images."""

    def __init__(self, num_classes: int = 10, filters: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, filters, kernel_size=3, padding=1, bias=True),
            nn.BatchNorm2d(filters),
            nn.ReLU(inplace=True),
        )
        self.first_stack = ResNetBlock(filters, filters, stride=1)
        self.second_stack = ResNetBlock(filters, 2 * filters, stride=2)
        self.third_stack = ResNetBlock(2 * filters, 4 * filters, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4 * filters, num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 32x32 RGB images."""
        x = self.stem(inputs)
        x = self.first_stack(x)
        x = self.second_stack(x)
        x = self.third_stack(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, groups=groups, bias=True),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class DepthwiseSeparable(nn.Sequential):
    """``0``-``2``: 3x3 depthwise convolution, BatchNorm, ReLU; ``3``-``5``: 1x1 pointwise
    convolution, BatchNorm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(
            *_conv_bn_relu(in_channels, in_channels, 3, stride, groups=in_channels),
            *_conv_bn_relu(in_channels, out_channels, 1, 1),
        )


#: MobileNetV1's 13 depthwise-separable blocks at width 1.0: (output channels, stride)
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


class MobileNetV1(nn.Module):
    """MobileNetV1 with width multiplier ``alpha`` (``features``, ``avgpool``, ``fc``)."""

    def __init__(self, num_classes: int = 2, alpha: float = 0.25) -> None:
        super().__init__()
        width = int(32 * alpha)
        layers: list[nn.Module] = [nn.Sequential(*_conv_bn_relu(3, width, 3, 2))]
        for channels, stride in MOBILENET_V1_BLOCKS:
            layers.append(DepthwiseSeparable(width, int(channels * alpha), stride))
            width = int(channels * alpha)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of RGB images (96x96 for visual wake words)."""
        x = self.avgpool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def resnet8(num_classes: int = 10) -> ResNet8:
    """MLPerf Tiny's ResNet-8 (16, 32, 64 channels) for CIFAR-10."""
    return ResNet8(num_classes)


def mobilenet_v1_025(num_classes: int = 2) -> MobileNetV1:
    """MLPerf Tiny's MobileNetV1 0.25x for 96x96 visual wake words (person / no person)."""
    return MobileNetV1(num_classes, alpha=0.25)
