"""Learning-rate schedules of retraining: LR tracking versus a fixed small learning rate.

*LR tracking* (the paper's Algorithm 1, step 7) retrains with the learning-rate schedule of the
ORIGINAL training, replayed over the retraining budget: at iteration ``i`` of ``T`` retraining
iterations the learning rate is the original schedule's at the same fraction of its run,
``recipe.lr_at(recipe.epochs * i / T)``. A step schedule thus restarts at the original initial
learning rate and decays at the same fractions (e.g. 50% and 75%) of the retraining; a cosine
schedule anneals from the initial learning rate to 0 over the retraining. The schedule is
evaluated per iteration, so even a 1-epoch budget follows the whole curve.

*Fixed* is conventional fine-tuning at one small learning rate; by default the original
schedule's final one: ``lr * gamma ** len(milestones)`` for a step recipe (0.001 for the CIFAR
recipes: 0.1 decayed twice by 0.1), and ``lr / 100`` for a cosine recipe (whose last learning rate
is 0; a hundredth matches the step recipes' two decades).

Which original schedule is tracked: the workload recipe's own (:attr:`LrSchedule.TRACKING`), or
the recipe's learning rate with a step (:attr:`LrSchedule.STEP`; the recipe's milestones, or
50% / 75% if it has none) or cosine (:attr:`LrSchedule.COSINE`) schedule, for models originally
trained that way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import replace

import workloads

#: Step-decay milestones (fractions of the run) used to track a step schedule for a recipe without any.
DEFAULT_MILESTONES = (0.5, 0.75)
#: Fixed fine-tuning learning rate of a cosine recipe, as a fraction of its initial learning rate.
COSINE_FIXED_FRACTION = 0.01


class LrSchedule(str, enum.Enum):
    """Learning-rate schedule of retraining."""

    TRACKING = "tracking"  #: LR tracking of the workload recipe's own schedule
    STEP = "step"  #: LR tracking of a step-decay schedule at the recipe's learning rate
    COSINE = "cosine"  #: LR tracking of a cosine-annealing schedule at the recipe's learning rate
    FIXED = "fixed"  #: conventional fine-tuning at a fixed small learning rate


def original_recipe(recipe: workloads.TrainingRecipe, schedule: LrSchedule) -> workloads.TrainingRecipe:
    """The original training recipe whose schedule ``schedule`` tracks (``recipe`` for TRACKING/FIXED)."""
    if schedule is LrSchedule.STEP and recipe.schedule is not workloads.Schedule.STEP:
        return replace(recipe, schedule=workloads.Schedule.STEP, milestones=DEFAULT_MILESTONES)
    if schedule is LrSchedule.COSINE and recipe.schedule is not workloads.Schedule.COSINE:
        return replace(recipe, schedule=workloads.Schedule.COSINE, milestones=())
    return recipe


def final_lr(recipe: workloads.TrainingRecipe) -> float:
    """The default fixed fine-tuning learning rate of ``recipe`` (see the module docstring)."""
    if recipe.schedule is workloads.Schedule.STEP:
        return recipe.lr * recipe.gamma ** len(recipe.milestones)
    return recipe.lr * COSINE_FIXED_FRACTION


def tracking(recipe: workloads.TrainingRecipe) -> Callable[[float], float]:
    """Learning rate at a fraction ``progress`` in [0, 1] of a run that replays ``recipe``'s schedule."""
    return lambda progress: recipe.lr_at(recipe.epochs * progress)


def fixed(lr: float) -> Callable[[float], float]:
    """A constant learning rate ``lr``."""
    return lambda progress: lr


def retraining_lr(
    recipe: workloads.TrainingRecipe, schedule: LrSchedule, fixed_lr: float | None = None
) -> Callable[[float], float]:
    """The retraining learning rate as a function of the fraction of retraining done.

    ``fixed_lr`` applies to :attr:`LrSchedule.FIXED` only; None means :func:`final_lr`.
    """
    if schedule is LrSchedule.FIXED:
        return fixed(final_lr(recipe) if fixed_lr is None else fixed_lr)
    return tracking(original_recipe(recipe, schedule))
