"""torchvision's ResNet-18, MobileNetV2, SqueezeNet 1.1 and VGG-11 with BatchNorm, defined here.

Each class has torchvision's exact layer structure, module names and ``forward`` (torchvision
0.28: ``torchvision.models.resnet18``, ``mobilenet_v2``, ``squeezenet1_1``, ``vgg11_bn``), so a
state dict saved from torchvision loads into it unchanged and the traced graphs are the same, but
accelsim does not import torchvision: the definitions are written out below, and the weights are
seeded (:func:`workloads.models.init_weights`), never downloaded. Only torchvision's own
initialization differs (accelsim initializes every built-in model from one seeded generator).
``tests/test_workloads_new.py`` compares the definitions with torchvision's when it is installed.

* ResNet-18 (He et al. 2016): 7x7 stride-2 stem, 3x3 stride-2 max pool, four stages of two basic
  blocks (64, 128, 256, 512 channels; 1x1 projection shortcuts when downsampling), adaptive
  average pool to 1x1, ``fc``.
* MobileNetV2 (Sandler et al. 2018), width 1.0: inverted residual blocks (1x1 expansion, 3x3
  depthwise convolution, 1x1 linear projection; ReLU6 after the first two; a residual add when the
  stride is 1 and the width unchanged), a 1x1 convolution to 1280 channels, a global average
  pool (functional), dropout 0.2 and ``classifier.1``.
* SqueezeNet 1.1 (Iandola et al. 2016): a 3x3 stride-2 convolution, three ceil-mode 3x3 max
  pools, eight Fire modules (1x1 squeeze, then 1x1 and 3x3 expands concatenated on channels), and
  the classifier dropout, 1x1 convolution to the classes, ReLU and a global average pool.
* VGG-11 with BatchNorm (configuration A): eight 3x3 convolutions with BatchNorm and ReLU, five
  2x2 max pools, ``AdaptiveAvgPool2d((7, 7))`` and the classifier
  Linear(25088, 4096) + ReLU + Dropout + Linear(4096, 4096) + ReLU + Dropout + Linear(4096, classes).
  On a 32x32 input the last map is 1x1, and the adaptive pool replicates it to 7x7.
"""

from __future__ import annotations

import torch
from torch import nn


def _make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's channel rounding: the nearest multiple of ``divisor``, at least 90% of ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


# ---- ResNet-18 ------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: ``conv1``, ``bn1``, ``relu`` (used twice), ``conv2``,
    ``bn2``, ``downsample`` (a 1x1 convolution and BatchNorm, or None)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)."""
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    """torchvision's ResNet with basic blocks (``layers`` blocks per stage)."""

    def __init__(self, layers: tuple[int, int, int, int] = (2, 2, 2, 2), num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * BasicBlock.expansion, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * BasicBlock.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * BasicBlock.expansion),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * BasicBlock.expansion
        layers += [BasicBlock(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of RGB images (any size from 32x32 up)."""
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


def resnet18(num_classes: int = 10) -> ResNet:
    """torchvision's ``resnet18(num_classes=...)`` (11.18 M parameters at 10 classes)."""
    return ResNet((2, 2, 2, 2), num_classes)


def resnet18_imagenet(num_classes: int = 1000) -> ResNet:
    """torchvision's ``resnet18()`` with ImageNet's 1000 classes (11.69 M parameters)."""
    return ResNet((2, 2, 2, 2), num_classes)


# ---- MobileNetV2 ----------------------------------------------------------------------------


class Conv2dNormActivation(nn.Sequential):
    """torchvision's ``Conv2dNormActivation``: ``0`` Conv2d (no bias, "same" padding), ``1``
    BatchNorm2d, ``2`` ReLU6."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1) -> None:
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 block: ``conv`` = [1x1 expansion,] 3x3 depthwise, 1x1
    projection, BatchNorm; a residual add when ``stride == 1`` and ``inp == oup``."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        self.stride = stride
        hidden_dim = round(inp * expand_ratio)
        self.use_res_connect = self.stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block, plus ``x`` when it keeps the resolution and the width."""
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


#: MobileNetV2's (expansion t, channels c, blocks n, first stride s) per stage
MOBILENET_V2_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (``features``, ``classifier``)."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, round_nearest: int = 8,
                 dropout: float = 0.2) -> None:
        super().__init__()
        input_channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2)]
        for t, c, n, s in MOBILENET_V2_SETTING:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, expand_ratio=t))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of RGB images."""
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def mobilenet_v2(num_classes: int = 10) -> MobileNetV2:
    """torchvision's ``mobilenet_v2(num_classes=...)`` (2.24 M parameters at 10 classes)."""
    return MobileNetV2(num_classes)


# ---- SqueezeNet 1.1 -------------------------------------------------------------------------


class Fire(nn.Module):
    """torchvision's Fire module: ``squeeze`` 1x1, then ``expand1x1`` and ``expand3x3``
    concatenated on channels, each convolution followed by its ReLU."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """cat(relu(expand1x1(s)), relu(expand3x3(s))) with s = relu(squeeze(x))."""
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1
        )


class SqueezeNet(nn.Module):
    """torchvision's SqueezeNet, version 1.1 (``features``, ``classifier``)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128),
            Fire(256, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (after ReLU and the global average) for a batch of RGB images."""
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


def squeezenet1_1(num_classes: int = 10) -> SqueezeNet:
    """torchvision's ``squeezenet1_1(num_classes=...)`` (0.73 M parameters at 10 classes)."""
    return SqueezeNet(num_classes)


# ---- VGG-11 with BatchNorm ------------------------------------------------------------------

#: torchvision's configuration "A" (VGG-11): channels of each 3x3 convolution, "M" a 2x2 max pool
VGG11_CFG: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    """torchvision's VGG (``features``, ``avgpool``, ``classifier``)."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of RGB images."""
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def vgg_layers(cfg: tuple[int | str, ...], batch_norm: bool = True) -> nn.Sequential:
    """torchvision's ``make_layers``: Conv2d(3x3, padding 1, bias) [+ BatchNorm2d] + ReLU per
    channel count, MaxPool2d(2, 2) per ``"M"``."""
    layers: list[nn.Module] = []
    in_channels = 3
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        width = int(item)
        layers.append(nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
        in_channels = width
    return nn.Sequential(*layers)


def vgg11_bn(num_classes: int = 10) -> VGG:
    """torchvision's ``vgg11_bn(num_classes=...)`` (128.8 M parameters at 10 classes, 102.8 M of
    them in the first linear layer)."""
    return VGG(vgg_layers(VGG11_CFG), num_classes)
