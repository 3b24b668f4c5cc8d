"""The built-in model architectures, one module per family.

Every model uses only operations the integer datapath and the accelerator implement:
``nn.Conv2d`` (any groups: grouped and depthwise; dilation 1), ``nn.BatchNorm2d``, ``nn.ReLU`` and
``nn.ReLU6``, ``nn.MaxPool2d`` (ceil mode too), ``nn.AvgPool2d``, adaptive average pooling of any
size, ``nn.Flatten`` / ``torch.flatten``, ``nn.Linear``, ``nn.Dropout``, the residual ``+`` and
``torch.cat`` on channels. Every ``forward`` is free of data-dependent control flow, so
``torch.fx.symbolic_trace`` traces each model with no custom leaf modules.
"""

from __future__ import annotations

from .alexnet import AlexNet, alexnet
from .digits import DigitsCNN, digits_cnn
from .imagenet import ImagenetVGG, vgg16_imagenet
from .init import init_weights
from .mlperf_tiny import MobileNetV1, ResNet8, mobilenet_v1_025, resnet8
from .resnet import BasicBlock, CifarResNet, resnet56, resnet110
from .torchvision_models import (
    VGG11_CFG,
    MobileNetV2,
    ResNet,
    SqueezeNet,
    mobilenet_v2,
    resnet18,
    resnet18_imagenet,
    squeezenet1_1,
    vgg11_bn,
)
from .vgg import VGG, VGG16_CFG, vgg16

__all__ = [
    "VGG",
    "VGG11_CFG",
    "VGG16_CFG",
    "AlexNet",
    "BasicBlock",
    "CifarResNet",
    "DigitsCNN",
    "ImagenetVGG",
    "MobileNetV1",
    "MobileNetV2",
    "ResNet",
    "ResNet8",
    "SqueezeNet",
    "alexnet",
    "digits_cnn",
    "init_weights",
    "mobilenet_v1_025",
    "mobilenet_v2",
    "resnet8",
    "resnet18",
    "resnet18_imagenet",
    "resnet56",
    "resnet110",
    "squeezenet1_1",
    "vgg11_bn",
    "vgg16",
    "vgg16_imagenet",
]
