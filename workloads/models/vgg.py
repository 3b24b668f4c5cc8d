"""VGG-16 for CIFAR-10, as used by the filter-pruning literature.

The variant of Li et al. ("Pruning Filters for Efficient ConvNets", 2017) and Liu et al.
("Rethinking the Value of Network Pruning", 2019): 13 convolutions 3x3 (padding 1, no bias) each
followed by BatchNorm and ReLU, five 2x2 max-pools, then a small classifier
Linear(512, 512) + ReLU + Linear(512, classes). No dropout (it is the identity in eval mode and
would only add nodes to trace).
"""

from __future__ import annotations

import torch
from torch import nn

#: Output channels of each 3x3 convolution; ``"M"`` is a 2x2 max-pool with stride 2.
VGG16_CFG: tuple[int | str, ...] = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)


def conv_features(cfg: tuple[int | str, ...], in_channels: int) -> nn.Sequential:
    """Conv3x3 + BN + ReLU for each channel count in ``cfg``, a 2x2 max-pool for each ``"M"``."""
    layers: list[nn.Module] = []
    channels = in_channels
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            width = int(item)
            layers += [
                nn.Conv2d(channels, width, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
            ]
            channels = width
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """CIFAR VGG: convolutional ``features``, ``flatten``, then ``classifier``.

    Input (N, 3, 32, 32); output logits (N, num_classes).
    """

    def __init__(self, cfg: tuple[int | str, ...] = VGG16_CFG, num_classes: int = 10) -> None:
        super().__init__()
        width = [int(item) for item in cfg if item != "M"][-1]
        self.features = conv_features(cfg, in_channels=3)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(width, 512),
            nn.ReLU(),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 32x32 RGB images."""
        return self.classifier(self.flatten(self.features(x)))


def vgg16(num_classes: int = 10) -> VGG:
    """The CIFAR VGG-16 (13 conv layers, 2 linear layers)."""
    return VGG(VGG16_CFG, num_classes)
