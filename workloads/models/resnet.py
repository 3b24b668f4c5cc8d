"""ResNet-56 and ResNet-110 for CIFAR-10 (He et al., "Deep Residual Learning", 2016, section 4.2).

A 3x3 convolution 3 -> 16 with BN and ReLU, three stages of ``n`` basic blocks with 16, 32 and 64
channels (depth 6n + 2: n = 9 for ResNet-56, n = 18 for ResNet-110), stride 2 in the first block
of stages 2 and 3, an 8x8 average pool, and Linear(64, classes).

Shortcuts use He et al.'s OPTION B on the two downsampling blocks: a 1x1 convolution with stride 2
followed by BatchNorm (projection); every other shortcut is the identity. Option A (stride-2
subsampling and zero-padding of the extra channels) is not a standard layer; with option B every
operation of the network is a convolution, BatchNorm, ReLU, pooling, linear layer or residual add,
which is exactly what the integer datapath and the accelerator implement. The projections add
2 x (16*32 + 32*64) = 5,120 weights (0.6% of ResNet-56).

The global pool is ``nn.AvgPool2d(8)`` rather than an adaptive pool: the 8x8 window is explicit,
and dividing the window sum by 64 is a 6-bit shift in the integer datapath.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers and a shortcut; ReLU after the first BN and after the add.

    ``downsample`` is the option-B projection (1x1 conv, stride 2, + BN) when the block changes
    resolution or width, otherwise ``None`` (identity shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + shortcut)


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet of depth ``6 * blocks_per_stage + 2``.

    Input (N, 3, 32, 32); output logits (N, num_classes).
    """

    def __init__(self, blocks_per_stage: int, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = self._stage(16, 16, blocks_per_stage, stride=1)
        self.layer2 = self._stage(16, 32, blocks_per_stage, stride=2)
        self.layer3 = self._stage(32, 64, blocks_per_stage, stride=2)
        self.avgpool = nn.AvgPool2d(kernel_size=8)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, num_classes)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
        """``blocks`` basic blocks; only the first one has the given stride."""
        layers = [BasicBlock(in_channels, out_channels, stride)]
        layers += [BasicBlock(out_channels, out_channels, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 32x32 RGB images."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(self.flatten(self.avgpool(out)))


def resnet56(num_classes: int = 10) -> CifarResNet:
    """ResNet-56: 9 basic blocks per stage."""
    return CifarResNet(9, num_classes)


def resnet110(num_classes: int = 10) -> CifarResNet:
    """ResNet-110: 18 basic blocks per stage."""
    return CifarResNet(18, num_classes)
