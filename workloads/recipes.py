"""The original training schedule of a workload.

The KRP paper's "LR tracking" retraining replays the learning-rate schedule of the original
training (Algorithm 1, step 7), so each workload records that schedule: SGD with momentum and
weight decay, and either step decay at fixed fractions of the run or cosine annealing.
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass

from accelsim.errors import ConfigError


class Schedule(str, enum.Enum):
    """Learning-rate schedule over the epochs of a training run."""

    STEP = "step"
    COSINE = "cosine"


@dataclass(frozen=True)
class TrainingRecipe:
    """SGD training of a workload from scratch.

    Attributes:
        batch_size: images per mini-batch.
        lr: initial learning rate.
        momentum: SGD momentum, in [0, 1).
        weight_decay: L2 weight decay, >= 0.
        epochs: passes over the training set.
        schedule: step decay or cosine annealing.
        milestones: for ``Schedule.STEP``, strictly increasing fractions of ``epochs`` in (0, 1) at
            which the learning rate is multiplied by ``gamma``; empty for ``Schedule.COSINE``.
        gamma: step-decay factor, in (0, 1].
    """

    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    epochs: int
    schedule: Schedule
    milestones: tuple[float, ...] = ()
    gamma: float = 0.1

    def __post_init__(self) -> None:
        """Check every field; raise :class:`ConfigError` naming the first bad one."""
        _require(
            _integer(self.batch_size) and self.batch_size >= 1,
            "batch_size",
            "an integer >= 1",
            self.batch_size,
        )
        _require(_real(self.lr) and self.lr > 0, "lr", "a number > 0", self.lr)
        _require(
            _real(self.momentum) and 0 <= self.momentum < 1,
            "momentum",
            "a number in [0, 1)",
            self.momentum,
        )
        _require(
            _real(self.weight_decay) and self.weight_decay >= 0,
            "weight_decay",
            "a number >= 0",
            self.weight_decay,
        )
        _require(
            _integer(self.epochs) and self.epochs >= 1, "epochs", "an integer >= 1", self.epochs
        )
        _require(
            isinstance(self.schedule, Schedule),
            "schedule",
            "a Schedule ('step' or 'cosine')",
            self.schedule,
        )
        _require(
            _real(self.gamma) and 0 < self.gamma <= 1, "gamma", "a number in (0, 1]", self.gamma
        )
        milestones = self.milestones
        if self.schedule is Schedule.COSINE:
            _require(milestones == (), "milestones", "empty for a cosine schedule", milestones)
        _require(
            isinstance(milestones, tuple)
            and all(_real(m) and 0 < m < 1 for m in milestones)
            and all(a < b for a, b in itertools.pairwise(milestones)),
            "milestones",
            "a tuple of strictly increasing fractions of epochs in (0, 1)",
            milestones,
        )

    @property
    def milestone_epochs(self) -> tuple[int, ...]:
        """The epochs (0-based) from which each step decay applies: ``round(fraction * epochs)``."""
        return tuple(round(fraction * self.epochs) for fraction in self.milestones)

    def lr_at(self, epoch: float) -> float:
        """The learning rate during ``epoch`` (0-based; fractional for per-iteration schedules).

        Step: ``lr * gamma ** k`` with ``k`` the number of milestone epochs <= ``epoch``.
        Cosine: ``lr * (1 + cos(pi * epoch / epochs)) / 2``.
        """
        if not _real(epoch) or not 0 <= epoch <= self.epochs:
            raise ConfigError(f"epoch must be a number in [0, {self.epochs}], not {epoch!r}")
        if self.schedule is Schedule.COSINE:
            return self.lr * (1.0 + math.cos(math.pi * epoch / self.epochs)) / 2.0
        passed = sum(1 for start in self.milestone_epochs if start <= epoch)
        return self.lr * self.gamma**passed


def _real(value: object) -> bool:
    """Whether ``value`` is a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: object) -> bool:
    """Whether ``value`` is an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _require(ok: bool, field: str, expected: str, value: object) -> None:
    """Unless ``ok``, raise "training recipe <field> must be <expected>, not <value>"."""
    if not ok:
        raise ConfigError(f"training recipe {field} must be {expected}, not {value!r}")
