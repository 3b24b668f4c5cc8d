"""Training and masked retraining with SGD (momentum, weight decay) on in-memory data.

Masked retraining keeps the *frozen* weights of every prunable layer (pruned ones, and quantized ones
already fixed at a level; :attr:`LayerRecord.frozen`) exactly unchanged: their gradients are zeroed before
each optimizer step, and since momentum and weight decay would still move them, their values are
restored bit for bit after each step. Everything else (other weights, biases, BatchNorm) trains.

An epoch is one pass over the training set in a seeded random order, in mini-batches of
``batch_size``; the last incomplete batch is dropped (a BatchNorm layer cannot train on a batch of
one image), unless the whole set is smaller than one batch. There is no data augmentation. The
learning rate is set before every iteration from the fraction of the run done
(:mod:`accelsim.compression.schedules`).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import workloads

from ..errors import ConfigError, DataError
from .checks import enum_option, is_integer, is_real, require, require_type
from .defaults import DEFAULT_EPOCHS, MAX_EPOCHS
from .records import MODULE_EXPECTED, MaskedModel, as_masked
from .schedules import LrSchedule, retraining_lr


@dataclass(frozen=True)
class RetrainConfig:
    """How each retraining phase runs (after pruning, and between quantization steps).

    Attributes:
        epochs: epochs per retraining phase; 0 disables retraining.
        schedule: LR tracking of the original schedule (``tracking``, ``step``, ``cosine``) or
            fine-tuning at a fixed learning rate (``fixed``); see :mod:`.schedules`.
        fixed_lr: the learning rate of ``fixed``; None = the original schedule's final one.
        batch_size: images per mini-batch; None = the recipe's.
        seed: seed of the shuffling order.
    """

    epochs: int = DEFAULT_EPOCHS
    schedule: LrSchedule = LrSchedule.TRACKING
    fixed_lr: float | None = None
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        """Check every field; accept a schedule given by its value."""
        require(is_integer(self.epochs) and 0 <= self.epochs <= MAX_EPOCHS, "epochs",
                f"an integer from 0 to {MAX_EPOCHS}", self.epochs)
        object.__setattr__(self, "schedule", enum_option(LrSchedule, self.schedule, "schedule"))
        require(
            self.fixed_lr is None or (is_real(self.fixed_lr) and self.fixed_lr > 0),
            "fixed_lr",
            "a number > 0 or None",
            self.fixed_lr,
        )
        require(self.fixed_lr is None or self.schedule is LrSchedule.FIXED, "fixed_lr",
                f"None unless schedule is 'fixed' (it is the fixed schedule's rate; schedule is "
                f"{self.schedule.value!r})", self.fixed_lr)
        require(
            self.batch_size is None or (is_integer(self.batch_size) and self.batch_size >= 1),
            "batch_size",
            "an integer >= 1 or None",
            self.batch_size,
        )
        require(is_integer(self.seed) and 0 <= self.seed < 2**63, "seed", "an integer in [0, 2**63)", self.seed)

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "epochs": self.epochs,
            "schedule": self.schedule.value,
            "fixed_lr": self.fixed_lr,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Train and test images in memory.

    Attributes:
        x_train, x_test: float32 (N, C, H, W).
        y_train, y_test: int64 (N,) class labels.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def __post_init__(self) -> None:
        """Check shapes and dtypes."""
        for split, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            if x.dtype != torch.float32 or x.dim() != 4 or len(x) == 0:
                raise DataError(
                    f"{split} images must be a non-empty float32 (N, C, H, W) array, not {x.dtype} {tuple(x.shape)}"
                )
            if y.dtype != torch.int64 or tuple(y.shape) != (len(x),):
                raise DataError(f"{split} labels must be int64 of shape ({len(x)},), not {y.dtype} {tuple(y.shape)}")

    @classmethod
    def from_arrays(cls, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> TrainingData:
        """From ``(x, y)`` numpy pairs as :func:`workloads.load_dataset` returns them."""
        return cls(*(torch.from_numpy(np.ascontiguousarray(a)) for a in (*train, *test)))

    @classmethod
    def load(cls, dataset: str, data_dir: str | os.PathLike[str] | None = None) -> TrainingData:
        """Data set ``dataset`` ("digits" or "cifar10") via :func:`workloads.load_dataset`.

        Raises:
            ConfigError: unknown data set.
            DataError: missing or corrupt files.
        """
        return cls.from_arrays(
            workloads.load_dataset(dataset, "train", data_dir), workloads.load_dataset(dataset, "test", data_dir)
        )


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1024) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on images ``x`` with labels ``y``, in [0, 1]."""
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(x[start : start + batch_size])
            correct += int((logits.argmax(dim=1) == y[start : start + batch_size]).sum())
    model.train(was_training)
    return correct / len(x)


def fit(
    model: nn.Module,
    data: TrainingData,
    lr_at: Callable[[float], float],
    *,
    epochs: int,
    batch_size: int,
    momentum: float,
    weight_decay: float,
    seed: int,
    frozen: Mapping[nn.Parameter, torch.Tensor] | None = None,
) -> None:
    """Train ``model`` in place with SGD on ``data.x_train``; leave it in eval mode.

    Args:
        lr_at: learning rate as a function of the fraction of the run done, in [0, 1).
        frozen: per parameter, a bool tensor of its elements that must not change at all.

    Raises:
        ConfigError: the loss became NaN or infinite (the learning rate is too high).
    """
    frozen = dict(frozen or {})
    saved = {param: param.detach().clone() for param in frozen}
    count = len(data.x_train)
    batches = max(1, count // batch_size)
    total = epochs * batches
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr_at(0.0), momentum=momentum, weight_decay=weight_decay)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(count, generator=generator)
        for batch in range(batches):
            index = order[batch * batch_size : (batch + 1) * batch_size]
            for group in optimizer.param_groups:
                group["lr"] = lr_at((epoch * batches + batch) / total)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(data.x_train[index]), data.y_train[index])
            if not math.isfinite(loss.item()):
                raise ConfigError(
                    f"training diverged (loss {loss.item()} in epoch {epoch + 1}): the learning rate must be "
                    f"smaller, not {optimizer.param_groups[0]['lr']!r}"
                )
            loss.backward()
            with torch.no_grad():
                for param, mask in frozen.items():
                    if param.grad is not None:
                        param.grad.masked_fill_(mask, 0.0)
                optimizer.step()
                for param, mask in frozen.items():
                    param.copy_(torch.where(mask, saved[param], param))
    model.eval()


def check_training(data: object, recipe: object, *, optional: bool = False) -> None:
    """``data`` must be a :class:`TrainingData` and ``recipe`` a training recipe, or either None if
    ``optional`` (ConfigError naming the argument): the first check of the functions that train."""
    none, alternative = ((type(None),), " or None") if optional else ((), "")
    require_type(data, (TrainingData, *none), "data", f"a TrainingData{alternative} (e.g. TrainingData.load('digits'))")
    require_type(recipe, (workloads.TrainingRecipe, *none), "recipe",
                 f"a workloads.TrainingRecipe{alternative} (e.g. workloads.info('digits').recipe)")


def train(model: nn.Module, data: TrainingData, recipe: workloads.TrainingRecipe, *, seed: int = 0) -> nn.Module:
    """A copy of ``model`` trained from its current weights with ``recipe`` (its schedule, all its epochs).

    Raises:
        ConfigError: an argument of the wrong type or a seed outside ``[0, 2**63)``; the training diverged.
    """
    require_type(model, nn.Module, "model", MODULE_EXPECTED)
    check_training(data, recipe)
    require(is_integer(seed) and 0 <= seed < 2**63, "seed", "an integer in [0, 2**63)", seed)
    trained = copy.deepcopy(model)
    fit(
        trained,
        data,
        retraining_lr(recipe, LrSchedule.TRACKING),
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        seed=seed,
    )
    return trained


def retrain(
    model: MaskedModel, data: TrainingData, recipe: workloads.TrainingRecipe, config: RetrainConfig
) -> MaskedModel:
    """A copy of ``model`` retrained for ``config.epochs`` with its frozen weights unchanged.

    ``recipe`` is the original training's: its momentum and weight decay are used, and its
    schedule is the one LR tracking replays.

    Raises:
        ConfigError: an argument of the wrong type; the training diverged.
    """
    check_training(data, recipe)
    require_type(config, RetrainConfig, "config", "a RetrainConfig (e.g. RetrainConfig(epochs=2))")
    state = as_masked(model)
    if config.epochs == 0:
        return state
    fit(
        state.model,
        data,
        retraining_lr(recipe, config.schedule, config.fixed_lr),
        epochs=config.epochs,
        batch_size=config.batch_size or recipe.batch_size,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        seed=config.seed,
        frozen={state.weight(record.name): record.frozen for record in state.records},
    )
    return state
