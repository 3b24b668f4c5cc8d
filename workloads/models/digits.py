"""A small CNN for the 8x8 handwritten digits of scikit-learn (``sklearn.datasets.load_digits``).

It is the project's fast end-to-end workload: it trains in seconds on a CPU, yet has every layer
kind of the CIFAR networks except the residual add. Shapes: 1x8x8 -> 16x8x8 -> 32x8x8 -> pool
32x4x4 -> 32x4x4 -> pool 32x2x2 -> flatten 128 -> 64 -> classes.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    """A 3x3 convolution (padding 1, no bias), BatchNorm and ReLU."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]


class DigitsCNN(nn.Module):
    """Three conv + BN + ReLU layers, two 2x2 max-pools, two linear layers.

    Input (N, 1, 8, 8); output logits (N, num_classes).
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv_bn_relu(1, 16),
            *_conv_bn_relu(16, 32),
            nn.MaxPool2d(kernel_size=2, stride=2),
            *_conv_bn_relu(32, 32),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 8x8 grey-level digits."""
        return self.classifier(self.flatten(self.features(x)))


def digits_cnn(num_classes: int = 10) -> DigitsCNN:
    """The digits CNN."""
    return DigitsCNN(num_classes)
