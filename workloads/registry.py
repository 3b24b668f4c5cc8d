"""The registry of built-in workloads and the resolution of user-model import specs.

A workload is a model architecture, the data set it is trained on and its original training
recipe. Built-in names are listed by :func:`names`; any other name of the form
``"package.module:factory"`` names a user model: ``factory()`` is called with no arguments and
must return a ``torch.nn.Module``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.errors import WorkloadError

from .recipes import Schedule, TrainingRecipe

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class WorkloadInfo:
    """What a built-in workload is.

    Attributes:
        name: registered name.
        input_shape: shape of one input image, (C, H, W) in (channels, pixels, pixels).
        num_classes: number of output logits.
        dataset: ``"cifar10"`` or ``"digits"`` (see :func:`workloads.load_dataset`), or a data
            set accelsim has no loader for, so the workload runs on seeded weights unless the
            user retrains it from Python with their own images
            (:meth:`accelsim.compression.TrainingData.from_arrays`): ``"imagenet"`` (224x224,
            1000 classes), ``"images64"`` (64x64 RGB images of 10 classes, e.g. a downsampled
            ImageNet subset) or ``"vww"`` (MLPerf Tiny's 96x96 visual wake words, 2 classes).
        recipe: the original training schedule (replayed by LR-tracking retraining).
        description: one line for listings.
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    dataset: str
    recipe: TrainingRecipe
    description: str


def _cifar(name: str, make: str, batch_size: int, lr: float, description: str) -> tuple[WorkloadInfo, str]:
    """A CIFAR-10 workload trained with He et al.'s schedule and the KRP paper's SGD settings.

    160 epochs, step decay x0.1 at 50% and 75% of them; momentum 0.9, weight decay 1e-4.
    """
    recipe = TrainingRecipe(
        batch_size=batch_size,
        lr=lr,
        momentum=0.9,
        weight_decay=1e-4,
        epochs=160,
        schedule=Schedule.STEP,
        milestones=(0.5, 0.75),
        gamma=0.1,
    )
    return WorkloadInfo(name, (3, 32, 32), 10, "cifar10", recipe, description), make


def _imagenet(name: str, make: str, description: str) -> tuple[WorkloadInfo, str]:
    """A 224x224 ImageNet workload with He et al.'s ImageNet schedule.

    90 epochs of SGD at batch 256, learning rate 0.1 decayed x0.1 at epochs 30 and 60; momentum
    0.9, weight decay 1e-4.
    """
    recipe = TrainingRecipe(
        batch_size=256,
        lr=0.1,
        momentum=0.9,
        weight_decay=1e-4,
        epochs=90,
        schedule=Schedule.STEP,
        milestones=(1 / 3, 2 / 3),
        gamma=0.1,
    )
    return WorkloadInfo(name, (3, 224, 224), 1000, "imagenet", recipe, description), make


def _images64(name: str, make: str, recipe: TrainingRecipe, description: str) -> tuple[WorkloadInfo, str]:
    """A torchvision architecture with 10 classes on 64x64 RGB images (no loader: seeded weights)."""
    return WorkloadInfo(name, (3, 64, 64), 10, "images64", recipe, description), make


#: torchvision's reference recipe for ResNet: SGD at batch 256 (8 x 32), learning rate 0.1
#: decayed x0.1 every 30 of 90 epochs, momentum 0.9, weight decay 1e-4.
_RESNET_TORCHVISION = TrainingRecipe(
    batch_size=256, lr=0.1, momentum=0.9, weight_decay=1e-4, epochs=90, schedule=Schedule.STEP,
    milestones=(1 / 3, 2 / 3), gamma=0.1,
)

#: torchvision's MobileNetV2 recipe (batch 256, lr 0.045, weight decay 4e-5, 300 epochs, momentum
#: 0.9) with cosine annealing in place of its x0.98 per-epoch decay (accelsim's recipes are step or
#: cosine schedules).
_MOBILENET_V2_RECIPE = TrainingRecipe(
    batch_size=256, lr=0.045, momentum=0.9, weight_decay=4e-5, epochs=300, schedule=Schedule.COSINE
)

#: SqueezeNet's published solver (batch 512, lr 0.04, momentum 0.9, weight decay 2e-4, about 68
#: epochs) with cosine annealing in place of its linear ("poly", power 1) decay.
_SQUEEZENET_RECIPE = TrainingRecipe(
    batch_size=512, lr=0.04, momentum=0.9, weight_decay=2e-4, epochs=68, schedule=Schedule.COSINE
)

#: MLPerf Tiny's visual wake words training (batch 32, 50 epochs, lr 1e-3 Adam with step
#: decay) as SGD: lr 0.045 and weight decay 4e-5 as for MobileNets, momentum 0.9, x0.1 at 40% and
#: 80% of the epochs (accelsim's retraining is SGD).
_VWW_RECIPE = TrainingRecipe(
    batch_size=32, lr=0.045, momentum=0.9, weight_decay=4e-5, epochs=50, schedule=Schedule.STEP,
    milestones=(0.4, 0.8), gamma=0.1,
)

#: The digits recipe, measured with a plain SGD loop (cross-entropy, shuffled mini-batches, the
#: learning rate of ``lr_at(epoch)`` per epoch): 98.7-99.6% test accuracy over seeds 0-4 in about
#: 2.5 s on one CPU thread.
_DIGITS_RECIPE = TrainingRecipe(
    batch_size=64, lr=0.05, momentum=0.9, weight_decay=1e-4, epochs=20, schedule=Schedule.COSINE
)

#: name -> (info, name of its factory in :mod:`workloads.models`, imported when a model is built). Batch sizes are the paper's (64 for AlexNet and VGG-16, 128 for the
#: ResNets); it gives no learning rates. The networks with BatchNorm start at 0.1 (He et al.);
#: AlexNet, which has none, starts at 0.01, the rate it is conventionally trained with.
_REGISTRY: dict[str, tuple[WorkloadInfo, str]] = {
    "vgg16": _cifar(
        "vgg16", "vgg16", 64, 0.1, "CIFAR VGG-16 with BatchNorm: 13 conv3x3 + 2 linear layers"
    ),
    "resnet56": _cifar(
        "resnet56",
        "resnet56",
        128,
        0.1,
        "CIFAR ResNet-56 (He et al.), projection shortcuts when downsampling",
    ),
    "resnet110": _cifar(
        "resnet110",
        "resnet110",
        128,
        0.1,
        "CIFAR ResNet-110 (He et al.), projection shortcuts when downsampling",
    ),
    "alexnet": _cifar(
        "alexnet",
        "alexnet",
        64,
        0.01,
        "CIFAR AlexNet: conv 11x11/4, 5x5, 3x3 x3 with bias, no BatchNorm, 1 linear layer",
    ),
    "digits": (
        WorkloadInfo(
            "digits",
            (1, 8, 8),
            10,
            "digits",
            _DIGITS_RECIPE,
            "small CNN for scikit-learn's 8x8 digits: 3 conv3x3 + 2 linear layers",
        ),
        "digits_cnn",
    ),
    "vgg16_imagenet": _imagenet(
        "vgg16_imagenet",
        "vgg16_imagenet",
        "224x224 VGG-16 with BatchNorm: 13 conv3x3 + 3 linear layers (102.8 M weights in the first)",
    ),
    "resnet18_imagenet": _imagenet(
        "resnet18_imagenet",
        "resnet18_imagenet",
        "224x224 torchvision ResNet-18, 1000 classes: conv7x7/2, 16 conv3x3, 3 projections, 1 linear layer",
    ),
    # MLPerf Tiny's image models. ResNet-8 is trained with Adam (lr 1e-3, x0.99 per epoch, 500
    # epochs, batch 32) in the benchmark; as SGD we record He et al.'s CIFAR schedule at batch 32,
    # its learning rate scaled linearly from 0.1 at batch 128.
    "resnet8": _cifar(
        "resnet8",
        "resnet8",
        32,
        0.025,
        "MLPerf Tiny ResNet-8 v1 (CIFAR-10): 7 conv3x3 + 2 conv1x1 shortcuts, 16/32/64 channels, 1 linear layer",
    ),
    "mobilenet_v1_025": (
        WorkloadInfo(
            "mobilenet_v1_025",
            (3, 96, 96),
            2,
            "vww",
            _VWW_RECIPE,
            "MLPerf Tiny MobileNetV1 0.25x (96x96 visual wake words): 13 depthwise + 14 dense conv, 1 linear layer",
        ),
        "mobilenet_v1_025",
    ),
    # torchvision's architectures with num_classes=10
    "resnet18": _images64(
        "resnet18",
        "resnet18",
        _RESNET_TORCHVISION,
        "torchvision ResNet-18, 10 classes, 64x64: conv7x7/2, 16 conv3x3, 3 projections, 1 linear layer",
    ),
    "mobilenet_v2": _images64(
        "mobilenet_v2",
        "mobilenet_v2",
        _MOBILENET_V2_RECIPE,
        "torchvision MobileNetV2, 10 classes, 64x64: 17 inverted residual blocks (depthwise 3x3, ReLU6)",
    ),
    "squeezenet1_1": _images64(
        "squeezenet1_1",
        "squeezenet1_1",
        _SQUEEZENET_RECIPE,
        "torchvision SqueezeNet 1.1, 10 classes, 64x64: 8 Fire modules (channel concatenation), ceil-mode pools",
    ),
    "vgg11_bn": _cifar(
        "vgg11_bn",
        "vgg11_bn",
        64,
        0.01,
        "torchvision VGG-11 with BatchNorm, 10 classes, 32x32: 8 conv3x3, adaptive 7x7 pool, 3 linear layers",
    ),
}

#: ``package.module:attribute`` with dotted Python identifiers on both sides.
_SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def names() -> tuple[str, ...]:
    """The registered workload names."""
    return tuple(_REGISTRY)


def is_import_spec(name: str) -> bool:
    """Whether ``name`` has the form ``"package.module:factory"`` of a user model."""
    return bool(_SPEC.match(name))


def _unknown(name: object) -> WorkloadError:
    """The error for a name that is neither registered nor an import spec."""
    choices = ", ".join(repr(n) for n in sorted(_REGISTRY))
    return WorkloadError(f"workload must be one of {choices}, or 'module:factory', not {name!r}")


def info(name: str) -> WorkloadInfo:
    """The description of built-in workload ``name``.

    Raises:
        WorkloadError: ``name`` is not registered (user models given by import spec have no info).
    """
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name][0]
    if isinstance(name, str) and is_import_spec(name):
        raise WorkloadError(
            "workload info is known only for the built-in workloads "
            f"{', '.join(map(repr, sorted(_REGISTRY)))}, not for the user model {name!r}: give its input "
            f"shape (--input-shape C,H,W), or compress it (accelsim compress --workload {name} --input-shape "
            "C,H,W) and pass the .krp file"
        )
    raise _unknown(name)


def factory(name: str) -> tuple[Callable[[], nn.Module], bool]:
    """The zero-argument constructor of workload ``name`` and whether it is built in.

    For an import spec ``"package.module:attr"`` the module is imported and ``attr`` (dotted
    attributes allowed) must be callable.

    Raises:
        WorkloadError: unknown name, or an import spec whose module cannot be imported or whose
            attribute is missing or not callable.
    """
    if not isinstance(name, str):
        raise _unknown(name)
    if name in _REGISTRY:
        return getattr(importlib.import_module("workloads.models"), _REGISTRY[name][1]), True
    if not is_import_spec(name):
        raise _unknown(name)
    module_name, attribute = name.split(":")
    try:
        target: object = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # any failure of user code at import time (even sys.exit) is the spec's
        raise WorkloadError(
            f"workload {name!r}: cannot import module {module_name!r} "
            f"({type(exc).__name__}: {exc}); the module must be importable (on sys.path / "
            "PYTHONPATH)"
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise WorkloadError(
                f"workload {name!r}: module {module_name!r} has no attribute {attribute!r}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise WorkloadError(
            f"workload {name!r}: {attribute!r} must be a callable returning a torch.nn.Module, "
            f"not {type(target).__name__}"
        )
    return target, False  # type: ignore[return-value]
