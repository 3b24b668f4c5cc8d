"""The compress() pipeline and its config: order of passes, retraining with data, bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

import workloads
from accelsim.compression.pipeline import CompressionConfig, compress
from accelsim.compression.records import PruneMethod
from accelsim.compression.retrain import RetrainConfig, TrainingData, evaluate, train
from accelsim.errors import ConfigError, WorkloadError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_one_shot_without_data() -> None:
    model = workloads.build("digits", seed=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compressed = compress(model, CompressionConfig(bits=3, fc_prune=0.6), workload="digits")
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    report = compressed.report()
    assert report.conv_pruning_rate == pytest.approx(2 / 3)
    assert [layer.method for layer in report.layers] == [PruneMethod.KRP] * 3 + [PruneMethod.MAGNITUDE] * 2
    assert all(layer.bits == 3 for layer in report.layers)
    assert compressed.input_shape == (1, 8, 8) and not compressed.model.training
    for record in compressed.records:
        assert torch.equal(record.quantized, record.mask)


def test_incremental_compression_with_retraining_keeps_accuracy() -> None:
    full = TrainingData.load("digits")
    data = TrainingData(full.x_train[:768], full.y_train[:768], full.x_test, full.y_test)
    recipe = workloads.info("digits").recipe
    trained = train(workloads.build("digits"), data, replace(recipe, epochs=8))
    baseline = evaluate(trained, data.x_test, data.y_test)
    config = CompressionConfig(bits=4, fc_prune=0.5, retrain=RetrainConfig(epochs=2))
    compressed = compress(trained, config, workload="digits", data=data)
    accuracy = evaluate(compressed.model, data.x_test, data.y_test)
    assert baseline > 0.85
    assert accuracy > baseline - 0.1
    for record in compressed.records:
        weight = compressed.model.get_submodule(record.name).weight.detach()
        assert not weight[~record.mask].any()
        assert torch.equal(record.levels.decode(record.levels.encode(weight)), weight)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bits": 9}, "bits must be an integer from 2 to 8, not 9"),
        ({"bits": 1}, "bits must be an integer from 2 to 8, not 1"),
        ({"rows_kept": 0}, "rows_kept must be an integer >= 1, not 0"),
        ({"fc_prune": 1.0}, r"fc_prune must be a number in \[0, 1\), not 1.0"),
        ({"fc_prune": -0.1}, r"fc_prune must be a number in \[0, 1\), not -0.1"),
        ({"portions": (0.5, 0.9)}, "portions must be strictly increasing numbers in"),
        ({"first_layer": "none"}, "first_layer must be one of 'krp', 'dense', not 'none'"),
        ({"pointwise": "krp"}, "pointwise must be one of 'dense', 'magnitude', not 'krp'"),
    ],
)
def test_config_validation(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CompressionConfig(**fields)  # type: ignore[arg-type]


def test_config_round_trips_through_a_dict() -> None:
    config = CompressionConfig(bits=None, first_layer="dense", retrain=RetrainConfig(epochs=1, schedule="cosine"))
    assert CompressionConfig.from_dict(config.to_dict()) == config


def test_rows_kept_too_large_names_the_layer() -> None:
    with pytest.raises(
        ConfigError, match=r"layer 'features.0': rows_kept must be smaller than the kernel size K=3, not 3"
    ):
        compress(workloads.build("digits"), CompressionConfig(rows_kept=3), workload="digits")


def test_model_without_conv() -> None:
    with pytest.raises(WorkloadError, match=r"model has no Conv2d layer \(Sequential\)"):
        compress(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), CompressionConfig(), workload="digits")


def test_non_finite_weights() -> None:
    model = workloads.build("digits")
    with torch.no_grad():
        model.classifier[0].weight[0, 0] = float("nan")
    with pytest.raises(WorkloadError, match="model parameter 'classifier.0.weight' must be finite"):
        compress(model, CompressionConfig(), workload="digits")


def test_user_model_with_data_needs_a_recipe() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    full = TrainingData.load("digits")
    with pytest.raises(
        WorkloadError, match="retraining the user model 'mine:build' needs its original training recipe"
    ):
        compress(model, CompressionConfig(), workload="mine:build", data=full)
    recipe = replace(workloads.info("digits").recipe, epochs=1)
    small = TrainingData(full.x_train[:128], full.y_train[:128], full.x_test, full.y_test)
    config = CompressionConfig(retrain=RetrainConfig(epochs=1))
    compressed = compress(model, config, workload="mine:build", data=small, recipe=recipe)
    assert compressed.input_shape is None and compressed.records[0].levels.bits == 4
