"""Small torch models in the pre-activation order (BatchNorm -> ReLU -> Conv) of DenseNet and
pre-activation ResNets, shared by the lowering, simulator and RTL tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DenseBlock(nn.Module):
    """torchvision's DenseNet order: a max-pooled stem, then layers that each read the
    concatenation of all the features so far through BatchNorm -> ReLU -> Conv, a transition
    (BN -> ReLU -> 1x1 conv -> average pooling) and a final BatchNorm."""

    def __init__(self, stem: int = 8, growth: int = 4, layers: int = 3) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, stem, 3, padding=1, bias=False)
        self.norm0 = nn.BatchNorm2d(stem)
        self.pool0 = nn.MaxPool2d(3, 2, 1)
        self.norms = nn.ModuleList(nn.BatchNorm2d(stem + i * growth) for i in range(layers))
        self.convs = nn.ModuleList(nn.Conv2d(stem + i * growth, growth, 3, padding=1, bias=False)
                                   for i in range(layers))
        channels = stem + layers * growth
        self.transition = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, 8, 1), nn.AvgPool2d(2))
        self.norm5 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.pool0(F.relu(self.norm0(self.conv0(x))))]
        for norm, conv in zip(self.norms, self.convs):
            features.append(conv(F.relu(norm(torch.cat(features, 1)))))
        y = F.relu(self.norm5(self.transition(torch.cat(features, 1))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class PreActivation(nn.Module):
    """A pre-activation residual block: the stem convolution's raw output is both the shortcut
    and the BatchNorm's input (so the BatchNorm is not folded into it), a BatchNorm after the add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv0(x)
        y = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        z = F.relu(self.bn(x + y))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(z, 1), 1))
