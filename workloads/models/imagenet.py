"""ImageNet-size networks (224x224 RGB input, 1000 classes): VGG-16 here, and ResNet-18
(``resnet18_imagenet``: torchvision's ResNet-18, :mod:`workloads.models.torchvision_models`).

They exist to measure the tools on large layers (speed and memory of compression, lowering and
simulation); accelsim ships no ImageNet data, so they run with seeded weights.

* VGG-16 (Simonyan and Zisserman's configuration D) with BatchNorm after every convolution (as
  torchvision's ``vgg16_bn``, less the convolutions' biases, which the BatchNorm makes redundant:
  138.36 M parameters): the CIFAR variant's 13 convolutions 3x3 and five 2x2 max-pools, then
  the classifier Linear(512*7*7, 4096) + ReLU + Linear(4096, 4096) + ReLU + Linear(4096, classes)
  (no dropout, the identity in eval mode). Its first linear layer holds 102.8 M weights, 74% of
  the network's.
* ResNet-18 at 224x224 (``resnet18_imagenet``) is torchvision's ``resnet18()`` with 1000 classes,
  the same definition as the 10-class ``resnet18`` workload (64x64 inputs).
"""

from __future__ import annotations

import torch
from torch import nn

from .vgg import VGG16_CFG, conv_features


class ImagenetVGG(nn.Module):
    """VGG-16 with BatchNorm for 224x224 inputs: ``features``, ``flatten``, ``classifier``."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = conv_features(VGG16_CFG, in_channels=3)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 224x224 RGB images."""
        return self.classifier(self.flatten(self.features(x)))


def vgg16_imagenet(num_classes: int = 1000) -> ImagenetVGG:
    """VGG-16 with BatchNorm for 224x224 inputs (13 conv layers, 3 linear layers)."""
    return ImagenetVGG(num_classes)
