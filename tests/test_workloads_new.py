"""Issue 14's workloads: MLPerf Tiny's ResNet-8 and MobileNetV1 0.25x, torchvision's resnet18,
mobilenet_v2, squeezenet1_1 and vgg11_bn (10 classes), and the 224x224 ``resnet18_imagenet``.

Each builds with seeded weights, compresses one-shot (KRP + 4-bit GSNQ), lowers to the integer
network bit-exactly against the torch reference, and simulates on the default accelerator. The
parameter counts are torchvision's published ones (torchvision itself is not importable with the
CPU torch, so it is not a dependency)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from int_reference import reference_run
from torch import nn

import accelsim
import workloads
from accelsim.compression import CompressionConfig, compress
from accelsim.errors import ConfigError
from accelsim.integer import ConcatLayer, ConvLayer, lower, quantize_input, run

#: name -> (input shape, classes, data set, parameters, conv layers, depthwise convs, concatenations)
EXPECTED = {
    "resnet8": ((3, 32, 32), 10, "cifar10", 78_186, 9, 0, 0),
    "mobilenet_v1_025": ((3, 96, 96), 2, "vww", 216_322, 27, 13, 0),
    "resnet18": ((3, 64, 64), 10, "images64", 11_181_642, 20, 0, 0),
    "mobilenet_v2": ((3, 64, 64), 10, "images64", 2_236_682, 52, 17, 0),
    "squeezenet1_1": ((3, 64, 64), 10, "images64", 727_626, 26, 0, 8),
    "vgg11_bn": ((3, 32, 32), 10, "cifar10", 128_812_810, 8, 0, 0),
}
SLOW = {"resnet18", "mobilenet_v2", "vgg11_bn"}  # compression and lowering take 10-70 s each


def _params() -> list:
    return [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in EXPECTED]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_registry_and_architecture(name: str) -> None:
    shape, classes, dataset, parameters, convs, depthwise, _ = EXPECTED[name]
    info = workloads.info(name)
    assert (info.input_shape, info.num_classes, info.dataset) == (shape, classes, dataset)
    assert info.recipe.epochs >= 1 and info.description
    factory, builtin = workloads.registry.factory(name)
    assert builtin
    with torch.device("meta"):
        model = factory().eval()
        logits = model(torch.empty(2, *shape))
    assert tuple(logits.shape) == (2, classes)
    assert sum(p.numel() for p in model.parameters()) == parameters
    conv_layers = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(conv_layers) == convs
    assert sum(1 for m in conv_layers if m.groups > 1 and m.groups == m.in_channels) == depthwise


def test_seeded_weights_are_deterministic() -> None:
    a, b = workloads.build("mobilenet_v1_025", seed=3), workloads.build("mobilenet_v1_025", seed=3)
    c = workloads.build("mobilenet_v1_025", seed=4)
    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(torch.equal(state_a[k], state_c[k]) for k in state_a)


def test_resnet18_imagenet_keeps_the_224_variant() -> None:
    info = workloads.info("resnet18_imagenet")
    assert (info.input_shape, info.num_classes, info.dataset) == ((3, 224, 224), 1000, "imagenet")
    factory, _ = workloads.registry.factory("resnet18_imagenet")
    ten, _ = workloads.registry.factory("resnet18")
    with torch.device("meta"):
        large, small = factory(), ten()
    assert [k for k in large.state_dict()] == [k for k in small.state_dict()]  # one definition
    assert large.fc.out_features == 1000 and small.fc.out_features == 10


@pytest.mark.parametrize("name", _params())
def test_compresses_lowers_and_simulates(name: str) -> None:
    shape, _, _, _, convs, depthwise, concats = EXPECTED[name]
    compressed = compress(workloads.build(name, seed=0), CompressionConfig(bits=4), workload=name)
    krp = [r for r in compressed.records if r.kept_rows is not None]
    assert krp and all(tuple(r.kept_rows.shape) == (r.shape[0], r.shape[1], 1) for r in krp)
    data = np.random.default_rng(0).uniform(0, 1, (2, *shape)).astype(np.float32)
    network = lower(compressed, data, name=name)
    conv_layers = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
    assert len(conv_layers) == convs
    assert sum(1 for layer in conv_layers if layer.groups == layer.in_channels > 1) == depthwise
    assert sum(1 for layer in network.layers if isinstance(layer, ConcatLayer)) == concats
    x = quantize_input(network, data[:1])
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    for layer, value in result.activations.items():
        np.testing.assert_array_equal(value.astype(np.int64), expected[layer].numpy(), err_msg=layer)
    config = accelsim.load_config()
    if name == "vgg11_bn":  # its 25088-input linear layer needs 6272 steps per tile
        with pytest.raises(ConfigError, match="buffers.weight_depth must be at least 6272 step words for layer "
                                              "'classifier.0'"):
            accelsim.simulate(network, config)
        config = config.replace(**{"buffers.weight_depth": 6272})
    simulated = accelsim.simulate(network, config)
    assert simulated.total_cycles > 0
    assert {layer.name for layer in simulated.layers} >= {layer.name for layer in conv_layers}


def test_depthwise_utilization_is_reported() -> None:
    """A depthwise layer uses a fraction of the array, and the per-layer results say so."""
    compressed = compress(workloads.build("mobilenet_v1_025", seed=0), CompressionConfig(bits=4),
                          workload="mobilenet_v1_025")
    network = lower(compressed, np.random.default_rng(0).uniform(0, 1, (1, 3, 96, 96)).astype(np.float32))
    result = accelsim.simulate(network, accelsim.load_config())
    by_name = {layer.name: layer for layer in result.layers}
    depthwise, pointwise = by_name["features.2.0"], by_name["features.2.3"]
    assert dataclasses.is_dataclass(depthwise)
    assert 0 < depthwise.pe_utilization < pointwise.pe_utilization
