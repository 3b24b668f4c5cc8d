"""A user model for ``accelsim compress --workload examples.user_model:build --input-shape 3,32,32``.

Any module whose ``factory()`` returns a ``torch.nn.Module`` CNN can be compressed by its import
spec ``module:factory``; ``--input-shape`` gives its input (C, H, W). The .krp file records that
shape and the model's architecture (standard torch modules), so every other command reads the
file alone. Run from the repository root with ``python -m accelsim`` (which puts the current
folder on ``sys.path``), or put this folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SmallResNet(nn.Module):
    """A stem, one residual block, ceil-mode max pooling, global average pooling and a classifier."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.head = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(y)) + x)
        x = self.head(self.pool(x))
        return self.fc(x.view(x.size(0), -1))


def build() -> nn.Module:
    """The factory ``examples.user_model:build`` names."""
    return SmallResNet()
