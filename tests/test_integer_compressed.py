"""End to end: models compressed by accelsim.compression, lowered and run on the integer datapath."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from int_reference import fake_quant_forward, reference_run

import workloads
from accelsim.compression import (
    CompressedModel,
    CompressionConfig,
    RetrainConfig,
    TrainingData,
    compress,
    load_network,
    save_network,
    train,
)
from accelsim.integer import ConvLayer, IntegerNetwork, LinearLayer, lower, quantize_input, run


@pytest.fixture(scope="session")
def digits_compressed() -> tuple[CompressedModel, TrainingData]:
    """The digits CNN trained with its recipe, then KRP + 4-bit GSNQ compressed with retraining."""
    torch.manual_seed(0)
    data = TrainingData.from_arrays(workloads.load_digits("train"), workloads.load_digits("test"))
    model = train(workloads.build("digits", seed=0), data, workloads.info("digits").recipe)
    config = CompressionConfig(bits=4, rows_kept=1, retrain=RetrainConfig(epochs=2))
    return compress(model, config, workload="digits", data=data), data


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy in percent."""
    return 100.0 * float(np.mean(predictions == labels))


def test_digits_integer_accuracy_matches_fake_quantized(
    digits_compressed: tuple[CompressedModel, TrainingData],
) -> None:
    compressed, data = digits_compressed
    network = lower(compressed, data.x_train.numpy())
    x_test, y_test = data.x_test.numpy(), data.y_test.numpy()
    integer = run(network, quantize_input(network, x_test)).outputs.argmax(axis=1)
    fake = fake_quant_forward(compressed.model, network, x_test).argmax(dim=1).numpy()
    with torch.no_grad():
        real = compressed.model(data.x_test).argmax(dim=1).numpy()
    integer_acc, fake_acc, float_acc = (
        accuracy(integer, y_test),
        accuracy(fake, y_test),
        accuracy(real, y_test),
    )
    print(
        f"digits top-1: integer {integer_acc:.2f}%, fake-quantized {fake_acc:.2f}%, float {float_acc:.2f}%"
    )
    assert abs(integer_acc - fake_acc) <= 0.5, (integer_acc, fake_acc)
    assert integer_acc > 90.0  # a trained network, not chance (10%)


def _check_records(network: IntegerNetwork, compressed: CompressedModel) -> None:
    """Kept rows and weight bits come from the compression records."""
    for record in compressed.records:
        layer = network.layer(record.name)
        assert isinstance(layer, (ConvLayer, LinearLayer))
        assert layer.weight_bits == record.levels.bits
        if isinstance(layer, ConvLayer):
            if record.kept_rows is None:
                assert layer.kept_rows is None
            else:
                np.testing.assert_array_equal(
                    layer.kept_rows, np.sort(record.kept_rows.numpy(), axis=2)
                )


def test_compressed_digits_bit_exact_and_file_round_trip(
    digits_compressed: tuple[CompressedModel, TrainingData], tmp_path: object
) -> None:
    compressed, data = digits_compressed
    calibration = data.x_train.numpy()[:256]
    network = lower(compressed, calibration)
    _check_records(network, compressed)
    convs = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
    assert convs and all(layer.is_krp and layer.rows_kept == 1 for layer in convs)
    x = quantize_input(network, data.x_test.numpy()[:5])
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    for name, value in result.activations.items():
        np.testing.assert_array_equal(value.astype(np.int64), expected[name].numpy(), err_msg=name)
    path = f"{tmp_path}/digits.krp"
    save_network(compressed, path)
    reloaded = lower(load_network(path), calibration)
    np.testing.assert_array_equal(run(reloaded, x).outputs, result.outputs)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg16", "resnet56"])
def test_compressed_cifar_networks_bit_exact(name: str) -> None:
    compressed = compress(workloads.build(name, seed=0), CompressionConfig(bits=4), workload=name)
    shape = workloads.info(name).input_shape
    calibration = np.random.default_rng(0).uniform(0.0, 1.0, (8, *shape)).astype(np.float32)
    network = lower(compressed, calibration)
    _check_records(network, compressed)
    x = quantize_input(network, calibration[:2])
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    for layer in network.layers:
        np.testing.assert_array_equal(
            result.activations[layer.name].astype(np.int64),
            expected[layer.name].numpy(),
            err_msg=layer.name,
        )
