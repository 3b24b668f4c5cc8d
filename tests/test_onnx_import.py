"""ONNX import: models exported by ``torch.onnx.export`` in the test, imported, compressed, lowered
and run; weights equal to the exported ones; hand-built graphs for each converted form; every
refusal names the node and its op type; corrupt files."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from int_reference import fake_quant_forward, make_power_of_two, reference_run
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import workloads
from accelsim.cli import main
from accelsim.compression import load_network
from accelsim.compression.onnx_import import SUPPORTED, import_onnx
from accelsim.errors import ConfigError, UnsupportedLayerError, WorkloadError
from accelsim.integer import dequantize, evaluate, lower, quantize_input, run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXPORTERS = [
    pytest.param(False, id="torchscript"),
    pytest.param(True, id="dynamo", marks=pytest.mark.skipif(
        not __import__("importlib").util.find_spec("onnxscript"), reason="torch.onnx.export(dynamo=True) needs onnxscript"
    )),
]


# ---------------------------------------------------------------------------------- models
class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (nn.Sequential() if stride == 1 and cin == cout
                      else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.short(x))


class TinyResNet(nn.Module):
    """torchvision's ResNet structure in small: stem, ceil-mode max pooling, two blocks (one projecting),
    average pooling without the padding in its divisor, global average pooling, flatten, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.avg = nn.AvgPool2d(2, 1, 1, count_include_pad=False)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.avg(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], 1)


class TinyMobileSqueeze(nn.Module):
    """MobileNet's and SqueezeNet's forms: ReLU6 (Clip), a depthwise convolution, a Fire module's
    concatenation, ceil-mode pooling, a hardtanh, a view-flatten, dropout, a linear layer without bias."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2)
        self.act = nn.ReLU6()
        self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.fire = Fire(8, 4, 8)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.clamp = nn.Hardtanh(-1.0, 1.0)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16 * 4 * 4, 10, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.bn(self.dw(self.act(self.conv(x)))))
        x = self.clamp(self.pool(self.fire(x)))
        return self.fc(self.drop(x.view(x.size(0), -1)))


class PaddedHead(nn.Module):
    """A zero Pad before a convolution (folded into its padding), a view-flatten over a dynamic batch
    (Shape / Gather / Unsqueeze / Concat / Reshape), Linear -> BatchNorm1d -> ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 1, 2, 2))
        self.conv = nn.Conv2d(3, 4, (5, 3))
        self.fc1 = nn.Linear(4 * 8 * 10, 12)
        self.bn = nn.BatchNorm1d(12)
        self.fc2 = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(self.pad(x)))
        return self.fc2(F.relu(self.bn(self.fc1(x.view(x.size(0), -1)))))


def perturb(model: nn.Module) -> nn.Module:
    """Seeded weights, and BatchNorm statistics away from the identity (so that folding them matters)."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
    return model.eval()


def export(model: nn.Module, shape: tuple[int, ...], path: Path, dynamo: bool = False, **options: object) -> Path:
    """``model`` exported to ONNX at ``path`` (batch of 1), exporter messages silenced."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.rand(1, *shape),), str(path), dynamo=dynamo, **options)
    return path


def images(shape: tuple[int, ...], count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (count, *shape)).astype(np.float32)


def float_outputs(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


@pytest.fixture(scope="module", params=EXPORTERS)
def resnet_onnx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path]:
    torch.manual_seed(0)
    model = perturb(TinyResNet())
    path = tmp_path_factory.mktemp("onnx") / "tiny_resnet.onnx"
    return model, export(model, (3, 16, 16), path, dynamo=request.param)


# ------------------------------------------------------------------------- exported models
def test_an_exported_resnet_imports_to_the_same_function_and_weights(resnet_onnx: tuple[nn.Module, Path]) -> None:
    model, path = resnet_onnx
    imported = import_onnx(path)
    assert imported.input_shape == (3, 16, 16) and imported.name == "tiny_resnet.onnx"
    x = images((3, 16, 16), 8)
    np.testing.assert_allclose(float_outputs(imported.model, x), float_outputs(model, x), atol=1e-5)
    state = imported.model.state_dict()
    weights = [key for key in state if key.endswith(".weight") and state[key].dim() in (2, 4)]
    assert len(weights) == 7  # 6 convolutions and the linear layer, each from its initializer as exported
    for key in weights:
        name, transposed = imported.sources[key]
        exported = torch.from_numpy(imported.initializers[name])
        assert torch.equal(state[key], exported.T if transposed else exported), key
    assert torch.equal(state[next(k for k in weights if state[k].dim() == 2)], model.fc.weight.detach())
    kinds = {type(module).__name__ for module in imported.model.modules()}
    assert {"Conv2d", "ReLU", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Linear"} <= kinds


def test_an_exported_resnet_compresses_lowers_and_runs_like_its_fake_quantized_model(
    resnet_onnx: tuple[nn.Module, Path], tmp_path: Path
) -> None:
    _model, path = resnet_onnx
    onnx_copy = tmp_path / path.name
    onnx_copy.write_bytes(path.read_bytes())
    for data in path.parent.glob("*.data"):  # the dynamo exporter's external weights
        (tmp_path / data.name).write_bytes(data.read_bytes())
    out = tmp_path / "tiny.krp"
    assert main(["compress", "--onnx", str(onnx_copy), "--out", str(out)]) == 0
    imported = import_onnx(onnx_copy)
    for file in tmp_path.glob("*.onnx*"):
        file.unlink()  # the .krp alone is used from here on
    compressed = load_network(out)
    assert compressed.workload == "tiny_resnet.onnx" and compressed.input_shape == (3, 16, 16)
    state, original = compressed.model.state_dict(), imported.model.state_dict()
    for key, value in state.items():  # biases, BatchNorm parameters: the exported values, not quantized
        if key not in {f"{record.name}.weight" for record in compressed.records}:
            assert torch.equal(value, original[key]), key
    assert [record.method.value for record in compressed.records][:2] == ["krp", "krp"]

    calibration, x = images((3, 16, 16), 64, seed=1), images((3, 16, 16), 64, seed=2)
    network = lower(compressed, calibration)
    kinds = [type(layer).__name__ for layer in network.layers]
    assert kinds.count("ConvLayer") == 6 and kinds.count("AddLayer") == 2 and kinds.count("PoolLayer") == 3
    q = quantize_input(network, x)
    result = run(network, q, activations=True)
    expected = reference_run(network, q)
    for name, value in result.activations.items():  # bit-exact against the independent reference
        np.testing.assert_array_equal(value.astype(np.int64), expected[name].numpy(), err_msg=name)
    spec = network.tensor(network.output)
    fake = fake_quant_forward(compressed.model, network, x).numpy()
    integer = dequantize(spec, result.outputs)
    assert np.abs(integer - fake).max() <= 8 * 2.0**-spec.frac_bits
    agreement = evaluate(network, compressed.model, x, None).agreement
    assert agreement >= 0.9, agreement


def test_the_onnx_network_file_serves_every_command(resnet_onnx: tuple[nn.Module, Path], tmp_path: Path) -> None:
    _, path = resnet_onnx
    out = tmp_path / "tiny.krp"
    assert main(["compress", "--onnx", str(path), "--out", str(out)]) == 0
    report = tmp_path / "r.json"
    assert main(["run", "--network", str(out), "--no-cache", "--json", str(report)]) == 0
    assert json.loads(report.read_text())["workload"] == "tiny_resnet.onnx"
    assert main(["infer", "--network", str(out), "--count", "16", "--calibration", "16", "--json", str(report)]) == 0
    assert json.loads(report.read_text())["agreement"] >= 0.8
    assert main(["plot", "layers", "--network", str(out), "--no-cache", "--out", str(tmp_path / "p.png")]) == 0
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"workloads: [{{network: {out}}}]\ncheck_every: 0\nparameters: {{pe.tn: [4]}}\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "sweep"), "--workers", "1"]) == 0


@pytest.fixture(scope="module")
def verilator_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verilator")  # one build of the core for every exporter


@pytest.mark.verilator
def test_rtl_check_on_an_onnx_network_file(resnet_onnx: tuple[nn.Module, Path], tmp_path: Path,
                                           verilator_cache: Path) -> None:
    _, path = resnet_onnx
    out = tmp_path / "tiny.krp"
    assert main(["compress", "--onnx", str(path), "--out", str(out)]) == 0
    report = tmp_path / "rtl.json"
    assert main(["rtl", "check", "--network", str(out), "--no-cache", "--cache", str(verilator_cache),
                 "--jobs", "2", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["passed"] and len(results["layers"]) == 12  # every layer but the flatten


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.parametrize(("name", "layers"), [("squeezenet1_1", 30), ("mobilenet_v2", 64)])
def test_a_torchvision_architecture_exported_to_onnx_runs_on_the_rtl(name: str, layers: int, tmp_path: Path,
                                                                      verilator_cache: Path) -> None:
    """torchvision's SqueezeNet 1.1 and MobileNetV2 (the workloads' definitions, torchvision's
    structure) exported by ``torch.onnx.export``, imported, compressed and checked layer by layer."""
    path = export(workloads.build(name, seed=0).eval(), (3, 64, 64), tmp_path / f"{name}.onnx")
    out = tmp_path / f"{name}.krp"
    assert main(["compress", "--onnx", str(path), "--out", str(out)]) == 0
    report = tmp_path / "rtl.json"
    assert main(["rtl", "check", "--network", str(out), "--no-cache", "--cache", str(verilator_cache),
                 "--jobs", "2", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["passed"] and len(results["layers"]) == layers


@pytest.mark.parametrize("dynamo", EXPORTERS)
def test_concat_relu6_clamps_and_depthwise_import_to_the_same_function(dynamo: bool, tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = perturb(TinyMobileSqueeze())
    imported = import_onnx(export(model, (3, 19, 19), tmp_path / "ms.onnx", dynamo=dynamo))
    x = images((3, 19, 19), 6)
    np.testing.assert_allclose(float_outputs(imported.model, x), float_outputs(model, x), atol=1e-5)
    modules = [module for module in imported.model.modules() if not list(module.children())]
    assert any(isinstance(m, nn.Conv2d) and m.groups == 8 for m in modules)
    assert any(isinstance(m, nn.ReLU6) for m in modules)
    assert any(isinstance(m, nn.Hardtanh) and (m.min_val, m.max_val) == (-1.0, 1.0) for m in modules)
    assert "torch.cat" in json.dumps(imported.architecture)


def test_concat_relu6_depthwise_and_a_clamp_after_pooling_lower(tmp_path: Path) -> None:
    """ReLU6 (Clip), a depthwise convolution, a Fire concatenation and a hardtanh after its max
    pooling (folded into the requantizations of the concatenation's inputs) lower, and the integer
    network tracks its float model."""
    torch.manual_seed(1)
    path = export(perturb(TinyMobileSqueeze()), (3, 19, 19), tmp_path / "ms.onnx")
    out = tmp_path / "ms.krp"
    assert main(["compress", "--onnx", str(path), "--out", str(out)]) == 0
    compressed = load_network(out)
    network = lower(compressed, images((3, 19, 19), 32))
    x = images((3, 19, 19), 32, seed=3)
    assert evaluate(network, compressed.model, x, None).agreement >= 0.8


def test_a_zero_pad_is_folded_and_a_dynamic_batch_flattens(tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = perturb(PaddedHead())
    path = export(model, (3, 8, 10), tmp_path / "pad.onnx", input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert "Pad" in ops and "Shape" in ops  # what is being tested is in the graph
    imported = import_onnx(path)
    x = images((3, 8, 10), 5)
    np.testing.assert_allclose(float_outputs(imported.model, x), float_outputs(model, x), atol=1e-5)
    conv = next(m for m in imported.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.padding == (2, 1) and conv.kernel_size == (5, 3)
    assert any(isinstance(m, nn.BatchNorm1d) for m in imported.model.modules())


def test_symbolic_image_sizes_need_the_input_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    path = export(perturb(TinyResNet()), (3, 16, 16), tmp_path / "dyn.onnx", input_names=["image"],
                  dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}})
    with pytest.raises(ConfigError, match=r"--input-shape C,H,W must be given for ONNX file '.*dyn.onnx': its input "
                                          r"'image' has the shape \(batch, 3, height, width\), with unknown sizes"):
        import_onnx(path)
    assert import_onnx(path, (3, 20, 24)).input_shape == (3, 20, 24)
    with pytest.raises(ConfigError, match=r"--input-shape must match the ONNX model's input 'image' of shape "
                                          r"\(batch, 3, height, width\), not 1,20,24"):
        import_onnx(path, (1, 20, 24))
    out = tmp_path / "dyn.krp"
    assert main(["compress", "--onnx", str(path), "--input-shape", "3,20,24", "--out", str(out)]) == 0
    assert load_network(out).input_shape == (3, 20, 24)
    assert main(["compress", "--onnx", str(path), "--out", str(out)]) == 2
    assert "--input-shape C,H,W must be given for ONNX file" in capsys.readouterr().err


class SameHead(nn.Module):
    """Convolutions with padding='same' (odd kernels: exported as auto_pad SAME_UPPER or as pads)
    and a global average pooling squeezed one axis at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding="same")
        self.wide = nn.Conv2d(8, 8, 5, padding="same")
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.wide(F.relu(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(y, 1).squeeze(-1).squeeze(-1))


@pytest.mark.parametrize("dynamo", EXPORTERS)
def test_same_padding_and_a_squeeze_at_a_time_import_and_lower(dynamo: bool, tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = perturb(SameHead())
    imported = import_onnx(export(model, (3, 9, 7), tmp_path / "same.onnx", dynamo=dynamo, opset_version=17))
    x = images((3, 9, 7), 6)
    np.testing.assert_allclose(float_outputs(imported.model, x), float_outputs(model, x), atol=1e-5)
    convs = [m for m in imported.model.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, tuple(m.padding)) for m in convs] == [((3, 3), (1, 1)), ((5, 5), (2, 2))]
    network = lower(make_power_of_two(imported.model), x)
    assert [type(layer).__name__ for layer in network.layers] == [
        "ConvLayer", "ConvLayer", "PoolLayer", "FlattenLayer", "LinearLayer"]


def test_auto_pad_same_pads_as_onnx_defines_it(tmp_path: Path, rng: np.random.Generator) -> None:
    """SAME_UPPER / SAME_LOWER at stride 2 on an odd size: total padding (ceil(7/2) - 1) * 2 + 3 - 7 = 2,
    one each side; the output is torch's convolution with that padding."""
    w = conv_weight(rng)
    for mode in ("SAME_UPPER", "SAME_LOWER"):
        path = onnx_file(tmp_path / f"{mode}.onnx", [
            helper.make_node("Conv", ["x", "w"], ["y"], name="conv", auto_pad=mode, strides=[2, 2]),
        ], [tensor("w", w)], shape=(1, 3, 7, 7), out_rank=4)
        imported = import_onnx(path)
        x = torch.from_numpy(images((3, 7, 7), 2))
        expected = F.conv2d(x, torch.from_numpy(w), stride=2, padding=1)
        np.testing.assert_allclose(float_outputs(imported.model, x.numpy()), expected.numpy(), atol=1e-5)


# ------------------------------------------------------------------------- hand-built graphs
def tensor(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def onnx_file(path: Path, nodes: list, inits: list, shape: tuple = (1, 3, 6, 6), out_rank: int = 2,
              opset: int = 17) -> Path:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * out_rank)], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def conv_weight(rng: np.random.Generator, cout: int = 4, cin: int = 3, k: int = 3) -> np.ndarray:
    return rng.standard_normal((cout, cin, k, k)).astype(np.float32)


def test_matmul_plus_add_becomes_a_linear_layer_with_its_bias(tmp_path: Path, rng: np.random.Generator) -> None:
    w, m, b = conv_weight(rng), rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    path = onnx_file(tmp_path / "mm.onnx", [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
        helper.make_node("Squeeze", ["g", "axes"], ["s"], name="squeeze"),
        helper.make_node("MatMul", ["s", "m"], ["p"], name="fc"),
        helper.make_node("Add", ["p", "b"], ["y"], name="fc_bias"),
    ], [tensor("w", w), tensor("axes", np.array([2, 3])), tensor("m", m), tensor("b", b)])
    imported = import_onnx(path)
    linear = next(module for module in imported.model.modules() if isinstance(module, nn.Linear))
    assert torch.equal(linear.weight, torch.from_numpy(m.T)) and torch.equal(linear.bias, torch.from_numpy(b))
    x = images((3, 6, 6), 3)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).mean((2, 3)) @ torch.from_numpy(m) + \
        torch.from_numpy(b)
    np.testing.assert_allclose(float_outputs(imported.model, x), expected.numpy(), atol=1e-5)


def test_clip_attributes_reduce_mean_and_a_standalone_batchnorm(tmp_path: Path, rng: np.random.Generator) -> None:
    w = conv_weight(rng)
    scale, bias, mean, var = (rng.uniform(0.5, 1.5, 4).astype(np.float32) for _ in range(4))
    path = onnx_file(tmp_path / "clip.onnx", [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn", epsilon=1e-3),
        helper.make_node("Clip", ["n"], ["r"], name="clip", min=0.0, max=6.0),
        helper.make_node("ReduceMean", ["r"], ["y"], name="mean", axes=[2, 3], keepdims=0),
    ], [tensor("w", w), tensor("s", scale), tensor("b", bias), tensor("m", mean), tensor("v", var)], opset=10)
    imported = import_onnx(path)
    assert any(isinstance(module, nn.ReLU6) for module in imported.model.modules())
    x = torch.from_numpy(images((3, 6, 6), 3))
    t = [torch.from_numpy(a) for a in (scale, bias, mean, var)]
    expected = F.relu6(F.batch_norm(F.conv2d(x, torch.from_numpy(w)), t[2], t[3], t[0], t[1], eps=1e-3)).mean((2, 3))
    np.testing.assert_allclose(float_outputs(imported.model, x.numpy()), expected.numpy(), atol=1e-5)


def test_weights_kept_outside_the_file_are_read(tmp_path: Path, rng: np.random.Generator) -> None:
    w = conv_weight(rng, 8, 3, 3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"), helper.make_node("Flatten", ["c"], ["y"])]
    path = onnx_file(tmp_path / "ext.onnx", nodes, [tensor("w", w)])
    model = onnx.load(str(path))
    onnx.save(model, str(path), save_as_external_data=True, location="ext.weights", size_threshold=0)
    assert (tmp_path / "ext.weights").is_file()
    imported = import_onnx(path)
    assert torch.equal(imported.model.state_dict()["conv.weight"], torch.from_numpy(w))
    (tmp_path / "ext.weights").unlink()
    with pytest.raises(WorkloadError, match="the external data of its initializers cannot be read"):
        import_onnx(path)


def _graph(*nodes: onnx.NodeProto) -> list:
    return [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"), *nodes]


@pytest.mark.parametrize(
    ("nodes", "inits", "message"),
    [
        (_graph(helper.make_node("LSTM", ["c", "w", "w"], ["y"], name="LSTM_0", hidden_size=2)), [],
         "ONNX node 'LSTM_0' (op LSTM) is not supported; supported: " + ", ".join(SUPPORTED)),
        (_graph(helper.make_node("Sigmoid", ["c"], ["y"], name="/act/Sigmoid")), [],
         "ONNX node '/act/Sigmoid' (op Sigmoid) is not supported; supported: Conv, BatchNormalization"),
        (_graph(helper.make_node("Sigmoid", ["c"], ["y"])), [], "ONNX node 'Sigmoid_1' (op Sigmoid) is not supported"),
        (_graph(helper.make_node("Transpose", ["c"], ["y"], name="node_Transpose_30", perm=[0, 2, 3, 1])), [],
         ("ONNX node 'node_Transpose_30' (op Transpose) is supported on constants only (shape arithmetic), not on a "
          "tensor computed from the input ('c'); an exporter writes what ONNX has no single op for this way (torch's "
          "dynamo exporter: an adaptive pooling to a size that does not divide its input, whose windows it gathers): "
          "pool to a size that divides the input")),
        (_graph(helper.make_node("Mul", ["c", "c"], ["y"], name="square")), [],
         ("ONNX node 'square' (op Mul) is supported on constants only (shape arithmetic), not on a tensor computed "
         "from the input ('c', 'c')")),
        (_graph(helper.make_node("Pad", ["c", "p"], ["q"], name="pad"),
                helper.make_node("MaxPool", ["q"], ["y"], name="pool", kernel_shape=[2, 2])),
         [tensor("p", np.array([0, 0, 1, 1, 0, 0, 1, 1]))],
         "ONNX node 'pool' (op MaxPool) reads the output of a Pad; only a Pad of zeros right before a Conv is folded"),
        (_graph(helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2, 2], pads=[0, 0, 1, 1])), [],
         r"ONNX node 'pool' (op MaxPool) must have symmetric pads (top = bottom, left = right), not [0, 0, 1, 1]"),
        (_graph(helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2, 2], auto_pad="SAME_UPPER")),
         [], r"ONNX node 'pool' (op MaxPool) must have symmetric pads (top = bottom, left = right), not [0, 0, 1, 1]"),
        (_graph(helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2, 2], auto_pad="SAME")),
         [], "ONNX node 'pool' (op MaxPool) must have auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, not 'SAME'"),
        (_graph(helper.make_node("Squeeze", ["c", "a"], ["y"], name="sq")), [tensor("a", np.array([1]))],
         ("ONNX node 'sq' (op Squeeze) must squeeze size-1 spatial axes (2, 3) of an (N, C, H, W) tensor, not axes [1] "
          "of (1, 4, 4, 4)")),
        (_graph(helper.make_node("Reshape", ["c", "s"], ["y"], name="reshape")), [tensor("s", np.array([1, 4, -1]))],
         "ONNX node 'reshape' (op Reshape) must reshape to (N, -1) (a flatten), not (1, 4, 4, 4) -> (1, 4, -1)"),
        (_graph(helper.make_node("Add", ["c", "k"], ["y"], name="shift")), [tensor("k", np.ones((1, 4, 4, 4), "f"))],
         "ONNX node 'shift' (op Add) adds a constant that is not the per-channel bias"),
        (_graph(helper.make_node("Concat", ["c", "c"], ["y"], name="cat", axis=2)), [],
         "ONNX node 'cat' (op Concat) must concatenate (N, C, H, W) tensors on the channel axis 1, not axis 2"),
        (_graph(helper.make_node("Flatten", ["c"], ["y"], name="flat", axis=2)), [],
         "ONNX node 'flat' (op Flatten) must flatten from axis 1 (to (N, -1)), not axis 2"),
        (_graph(helper.make_node("Relu", ["c"], ["r"], name="relu"),
                helper.make_node("Gemm", ["r", "g"], ["y"], name="fc", transB=1)),
         [tensor("g", np.ones((2, 64), "f"))],
         r"ONNX node 'fc' (op Gemm) must multiply an (N, 64) tensor, not one of shape (1, 4, 4, 4)"),
        (_graph(helper.make_node("Custom", ["c"], ["y"], name="mine", domain="com.example")), [],
         "ONNX node 'mine' (op com.example.Custom) is not supported"),
    ],
)
def test_an_unsupported_node_is_named_with_its_op_type(nodes: list, inits: list, message: str, tmp_path: Path,
                                                        rng: np.random.Generator,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    opsets = [("", 17), ("com.example", 1)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)], [tensor("w", conv_weight(rng)), *inits],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 8
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedLayerError) as raised:
        import_onnx(path)
    assert str(raised.value).startswith(message) or __import__("re").match(message, str(raised.value)), raised.value
    assert main(["compress", "--onnx", str(path), "--out", str(tmp_path / "bad.krp")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim: error: ONNX node ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad.krp").exists()


def valid_onnx_bytes() -> bytes:
    buffer = io.BytesIO()
    w = np.ones((2, 3, 3, 3), "f")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)], [tensor("w", w)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes): it must be an ONNX model"),
        (b"\xff\xfe\x00garbage" * 40, "is not an ONNX model (it cannot be parsed"),
        (b"this is a text file, not a network\n", "is not a"),
        (valid_onnx_bytes()[:-20], "is not a"),
        (b"ACCELSIM\x01\x00" + b"\x00" * 40, "is not a"),
        (helper.make_model(helper.make_graph([], "g", [], [])).SerializeToString(), "is not a"),
    ],
    ids=["empty", "binary", "text", "truncated", "krp", "no graph"],
)
def test_a_corrupt_or_foreign_file_is_one_clear_error(content: bytes, message: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(WorkloadError, match=r"^ONNX file '.*model.onnx' " + __import__("re").escape(message)):
        import_onnx(path)
    assert main(["compress", "--onnx", str(path), "--out", str(tmp_path / "x.krp")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim: error: ONNX file ") and len(err.strip().splitlines()) == 1


def test_a_valid_graph_imports(tmp_path: Path) -> None:
    path = tmp_path / "ok.onnx"
    path.write_bytes(valid_onnx_bytes())
    assert import_onnx(path).input_shape == (3, 6, 6)


@pytest.mark.parametrize(("name", "op", "expected"), [
    ("/layer2/short/short.0/Conv", "Conv", "layer2_short_0"),  # torch's scopes: module layer2.short.0
    ("/stem/stem.0/Conv", "Conv", "stem_0"),
    ("/fc/Gemm", "Gemm", "fc"),
    ("/layer1/Relu_1", "Relu", "layer1_Relu_1"),  # a functional ReLU of layer1: not a module of its own
    ("/pool/MaxPool", "MaxPool", "pool_MaxPool"),
    ("node_Conv_96", "Conv", "node_Conv_96"),  # the dynamo exporter's names
    ("", "Relu", "relu"),
    ("/Conv", "Conv", "Conv"),
])
def test_module_names_come_from_the_node_names(name: str, op: str, expected: str) -> None:
    from accelsim.compression.onnx_import import _sanitize

    assert _sanitize(name, op) == expected
