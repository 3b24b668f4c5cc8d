"""accelsim's workloads: CNN architectures, their data sets, training recipes and checkpoints.

Built-in workloads (:func:`names`): ``vgg16``, ``resnet56``, ``resnet110`` and ``alexnet`` for
CIFAR-10 (the networks of the KRP paper, plus AlexNet for its 11x11 and 5x5 kernels), and
``digits``, a small CNN for scikit-learn's 8x8 digits that trains in seconds. A user model is
named by an import spec ``"package.module:factory"``.

>>> import workloads
>>> model = workloads.build("resnet56", seed=0)      # eval mode, seeded weights
>>> workloads.info("resnet56").recipe.batch_size
128
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accelsim.lazy import lazy_exports

if TYPE_CHECKING:
    from .checkpoint import load_state_dict, read_checkpoint, save_checkpoint
    from .data import load_cifar10, load_dataset, load_digits
    from .factory import build, load_model
    from .recipes import Schedule, TrainingRecipe
    from .registry import WorkloadInfo, info, is_import_spec, names

__getattr__, __dir__ = lazy_exports(__name__, globals())

__all__ = [
    "Schedule",
    "TrainingRecipe",
    "WorkloadInfo",
    "build",
    "info",
    "is_import_spec",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_model",
    "load_state_dict",
    "names",
    "read_checkpoint",
    "save_checkpoint",
]
