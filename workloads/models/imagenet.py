"""ImageNet-size networks (224x224 RGB input, 1000 classes): VGG-16 and ResNet-18.

They exist to measure the tools on large layers (speed and memory of compression, lowering and
simulation); accelsim ships no ImageNet data, so they run with seeded weights.

* VGG-16 (Simonyan and Zisserman's configuration D) with BatchNorm after every convolution (as
  torchvision's ``vgg16_bn``, less the convolutions' biases, which the BatchNorm makes redundant:
  138.36 M parameters): the CIFAR variant's 13 convolutions 3x3 and five 2x2 max-pools, then
  the classifier Linear(512*7*7, 4096) + ReLU + Linear(4096, 4096) + ReLU + Linear(4096, classes)
  (no dropout, the identity in eval mode). Its first linear layer holds 102.8 M weights, 74% of
  the network's.
* ResNet-18 (He et al. 2016, table 1): a 7x7 convolution with stride 2 (64 channels), a 3x3 max-pool
  with stride 2 and padding 1, four stages of two basic blocks (64, 128, 256, 512 channels; stride 2
  in the first block of stages 2-4 with option-B projection shortcuts), a 7x7 average pool and
  Linear(512, classes). The global pool is ``nn.AvgPool2d(7)``, fixed for 224x224 inputs.
"""

from __future__ import annotations

import torch
from torch import nn

from .resnet import BasicBlock
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


class ResNet18(nn.Module):
    """ResNet-18 for 224x224 inputs (four stages of two basic blocks)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256, 1))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512, 1))
        self.avgpool = nn.AvgPool2d(kernel_size=7)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of 224x224 RGB images."""
        out = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.fc(self.flatten(self.avgpool(out)))


def vgg16_imagenet(num_classes: int = 1000) -> ImagenetVGG:
    """VGG-16 with BatchNorm for 224x224 inputs (13 conv layers, 3 linear layers)."""
    return ImagenetVGG(num_classes)


def resnet18(num_classes: int = 1000) -> ResNet18:
    """ResNet-18 for 224x224 inputs."""
    return ResNet18(num_classes)
