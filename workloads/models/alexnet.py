"""AlexNet for CIFAR-10, after bearpaw/pytorch-classification (``models/cifar/alexnet.py``).

Five convolutions with bias and no BatchNorm (kernels 11, 5, 3, 3, 3; the first with stride 4),
three 2x2 max-pools, and a single Linear(256, classes). It gives the project kernels other than 3x3
and a stride other than 1 or 2. Shapes for a 32x32 input: 64x8x8 -> pool 64x4x4 -> 192x4x4 ->
pool 192x2x2 -> 384x2x2 -> 256x2x2 -> 256x2x2 -> pool 256x1x1.
"""

from __future__ import annotations

import torch
from torch import nn


class AlexNet(nn.Module):
    """CIFAR AlexNet: ``features``, ``flatten``, ``classifier``.

    Input (N, 3, 32, 32); output logits (N, num_classes).
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=5),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 32x32 RGB images."""
        return self.classifier(self.flatten(self.features(x)))


def alexnet(num_classes: int = 10) -> AlexNet:
    """The CIFAR AlexNet (5 conv layers, 1 linear layer)."""
    return AlexNet(num_classes)
