"""Masked retraining and LR tracking: frozen weights stay bit-identical, schedules replay the recipe."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

import workloads
from accelsim.compression.gsnq import assign_levels, quantize_portion
from accelsim.compression.krp import krp_prune
from accelsim.compression.magnitude import fc_prune
from accelsim.compression.retrain import (
    RetrainConfig,
    TrainingData,
    evaluate,
    fit,
    retrain,
    train,
)
from accelsim.compression.schedules import LrSchedule, final_lr, retraining_lr
from accelsim.errors import ConfigError, DataError

STEP = workloads.TrainingRecipe(
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=1e-4,
    epochs=160,
    schedule=workloads.Schedule.STEP,
    milestones=(0.5, 0.75),
    gamma=0.1,
)
COSINE = workloads.TrainingRecipe(
    batch_size=64, lr=0.05, momentum=0.9, weight_decay=1e-4, epochs=30, schedule=workloads.Schedule.COSINE
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits() -> TrainingData:
    data = TrainingData.load("digits")
    return TrainingData(data.x_train[:512], data.y_train[:512], data.x_test, data.y_test)


def test_step_tracking_replays_the_original_decays() -> None:
    lr = retraining_lr(STEP, LrSchedule.TRACKING)
    assert [lr(p) for p in (0.0, 0.49, 0.5, 0.74, 0.75, 0.99)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_cosine_tracking_anneals_from_the_initial_lr() -> None:
    lr = retraining_lr(COSINE, LrSchedule.TRACKING)
    for p in (0.0, 0.25, 0.5, 0.9):
        assert lr(p) == pytest.approx(0.05 * (1 + math.cos(math.pi * p)) / 2)


def test_tracking_another_schedule_kind() -> None:
    assert retraining_lr(COSINE, LrSchedule.STEP)(0.6) == pytest.approx(0.005)  # default milestones 0.5, 0.75
    assert retraining_lr(STEP, LrSchedule.COSINE)(0.5) == pytest.approx(0.05)
    assert retraining_lr(STEP, LrSchedule.STEP)(0.8) == pytest.approx(0.001)


def test_fixed_lr_defaults_to_the_final_lr() -> None:
    assert final_lr(STEP) == pytest.approx(0.001)
    assert final_lr(COSINE) == pytest.approx(0.0005)
    assert retraining_lr(STEP, LrSchedule.FIXED)(0.0) == retraining_lr(STEP, LrSchedule.FIXED)(0.9) == final_lr(STEP)
    assert retraining_lr(STEP, LrSchedule.FIXED, 0.02)(0.5) == 0.02


def test_fit_sets_the_lr_every_iteration(digits: TrainingData) -> None:
    seen: list[float] = []

    def spy(progress: float) -> float:
        seen.append(progress)
        return 0.01

    model = workloads.build("digits")
    fit(model, digits, spy, epochs=2, batch_size=100, momentum=0.9, weight_decay=1e-4, seed=0)
    batches = 512 // 100
    assert seen == [0.0] + [i / (2 * batches) for i in range(2 * batches)]
    assert not model.training


def test_masks_and_frozen_weights_survive_retraining(digits: TrainingData) -> None:
    pruned = fc_prune(krp_prune(workloads.build("digits", seed=1)), 0.7)
    state = quantize_portion(assign_levels(pruned, 4), 0.5)
    before = {r.name: state.weight(r.name).detach().clone() for r in state.records}
    config = RetrainConfig(epochs=2, schedule="fixed", fixed_lr=0.05, batch_size=32)
    after = retrain(state, digits, COSINE, config)
    for record in after.records:
        weight = after.weight(record.name).detach()
        assert not weight[~record.mask].any()  # pruned: exactly 0
        assert torch.equal(weight[record.quantized], before[record.name][record.quantized])  # bit-identical
        free = record.mask & ~record.quantized
        assert not torch.equal(weight[free], before[record.name][free])  # the rest did train
    for record in state.records:  # the input is untouched
        assert torch.equal(state.weight(record.name).detach(), before[record.name])


def test_without_masks_momentum_and_decay_would_move_pruned_weights(digits: TrainingData) -> None:
    """The control: plain SGD on the same pruned model un-zeroes pruned weights."""
    pruned = krp_prune(workloads.build("digits", seed=1))
    model = pruned.model
    fit(model, digits, lambda p: 0.05, epochs=1, batch_size=32, momentum=0.9, weight_decay=1e-4, seed=0)
    record = pruned.records[0]
    assert pruned.weight(record.name).detach()[~record.mask].any()


def test_train_then_retrain_on_digits(digits: TrainingData) -> None:
    recipe = replace(COSINE, epochs=6)
    model = workloads.build("digits")
    chance = evaluate(model, digits.x_test, digits.y_test)
    trained = train(model, digits, recipe)
    baseline = evaluate(trained, digits.x_test, digits.y_test)
    assert baseline > 0.8 > chance
    pruned = krp_prune(trained)
    after = retrain(pruned, digits, recipe, RetrainConfig(epochs=2))
    assert evaluate(after.model, digits.x_test, digits.y_test) > 0.7


def test_divergence_is_reported(digits: TrainingData) -> None:
    with pytest.raises(ConfigError, match="training diverged"):
        retrain(
            krp_prune(workloads.build("digits")),
            digits,
            COSINE,
            RetrainConfig(epochs=3, schedule="fixed", fixed_lr=1e12),
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", -1, "epochs must be an integer from 0 to 1000, not -1"),
        ("schedule", "linear", "schedule must be one of 'tracking', 'step', 'cosine', 'fixed', not 'linear'"),
        ("fixed_lr", 0.0, "fixed_lr must be a number > 0 or None, not 0.0"),
        ("batch_size", 0, "batch_size must be an integer >= 1 or None, not 0"),
    ],
)
def test_retrain_config_validation(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RetrainConfig(**{field: value})  # type: ignore[arg-type]


def test_training_data_validation() -> None:
    x = torch.zeros(4, 1, 8, 8)
    with pytest.raises(DataError, match=r"train labels must be int64 of shape \(4,\)"):
        TrainingData(x, torch.zeros(3, dtype=torch.int64), x, torch.zeros(4, dtype=torch.int64))
