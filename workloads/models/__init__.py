"""The built-in model architectures, one module per family.

Every model uses only layers the integer datapath and the accelerator implement:
``nn.Conv2d`` (groups=1, dilation=1), ``nn.BatchNorm2d``, ``nn.ReLU``, ``nn.MaxPool2d``,
``nn.AvgPool2d``, ``nn.Flatten``, ``nn.Linear`` and the residual ``+``. Every ``forward`` is free
of data-dependent control flow, so ``torch.fx.symbolic_trace`` traces each model with no custom
leaf modules.
"""

from __future__ import annotations

from .alexnet import AlexNet, alexnet
from .digits import DigitsCNN, digits_cnn
from .imagenet import (
    ImagenetVGG,
    ResNet18,
    resnet18,
    vgg16_imagenet,
)
from .init import init_weights
from .resnet import BasicBlock, CifarResNet, resnet56, resnet110
from .vgg import VGG, VGG16_CFG, vgg16

__all__ = [
    "VGG",
    "VGG16_CFG",
    "AlexNet",
    "BasicBlock",
    "CifarResNet",
    "DigitsCNN",
    "ImagenetVGG",
    "ResNet18",
    "alexnet",
    "digits_cnn",
    "init_weights",
    "resnet18",
    "resnet56",
    "resnet110",
    "vgg16",
    "vgg16_imagenet",
]
