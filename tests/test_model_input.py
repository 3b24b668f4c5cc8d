"""Model input travels with the network: ``--input-shape``, the recorded architecture of a user
model, and every command on a user model's ``.krp`` without extra flags.

The user models are factories of this module, named by the spec ``test_model_input:NAME`` (the
tests folder is on ``sys.path`` under pytest).
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import workloads
from accelsim.cli import main
from accelsim.compression import CompressionConfig, compress, load_network, save_network
from accelsim.compression.architecture import build, describe, record
from accelsim.compression.netfile import MAGIC
from accelsim.errors import ConfigError, NetworkFileError, WorkloadError
from accelsim.integer import evaluate, lower

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPEC = "test_model_input:small_cnn"
SHAPE = (3, 12, 12)


class SmallCnn(nn.Module):
    """Functional forms the lowering knows: F.relu, a residual add, ceil-mode pooling, view-flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(8 * 4 * 4, 5)  # registered first: the records follow registration order
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(2, 2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = F.relu(self.bn(self.conv(x)) + x)
        x = self.avg(self.pool(x))
        return self.head(x.view(x.size(0), -1))


class Opaque(nn.Module):
    """A model whose graph a file cannot record (a sigmoid)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 10 * 10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(torch.sigmoid(self.conv(x)), 1))


class Unused(nn.Module):
    """A model holding a layer its forward never calls."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.spare = nn.Linear(3, 3)
        self.fc = nn.Linear(4 * 10 * 10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.conv(x), 1))


class UnusedParameter(nn.Module):
    """A model holding a parameter of its own that its forward never reads."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.alpha = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.conv(x), 1)


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


class UnusedCustom(Unused):
    """An unused layer of a type a file cannot record."""

    def __init__(self) -> None:
        super().__init__()
        self.spare = Scale()


class Wide(nn.Module):
    """Every recordable form: modules, functions and methods."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2), dilation=1, groups=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
        self.bn = nn.BatchNorm2d(4, eps=1e-3, momentum=None)
        self.act = nn.ReLU6()
        self.clip = nn.Hardtanh(-0.5, 2.0)
        self.pool = nn.AdaptiveAvgPool2d((2, 3))
        self.mpool = nn.AdaptiveMaxPool2d(1)
        self.drop = nn.Dropout(0.2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(8 * 6 + 4, 7)
        self.bn1 = nn.BatchNorm1d(7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.a(x))
        z = self.clip(self.bn(self.b(y)))
        both = torch.cat([y, z], dim=1)
        pooled = self.flat(self.pool(both))
        extra = torch.flatten(self.mpool(F.relu6(z)), 1)
        out = self.fc(self.drop(torch.cat((pooled, extra), 1)))
        return F.hardtanh(self.bn1(out).relu(), -1.0, float("inf")).reshape(x.size(0), -1)


def small_cnn() -> nn.Module:
    return SmallCnn()


def opaque() -> nn.Module:
    return Opaque()


def double_cnn() -> nn.Module:
    return SmallCnn().double()


def perturb(model: nn.Module, seed: int = 0) -> nn.Module:
    """BatchNorm statistics away from the identity, so that they matter."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            module.weight.data.copy_(0.5 + torch.rand(n, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(n, generator=generator))
    return model.eval()


@pytest.fixture(scope="module")
def user_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("user") / "small.krp"
    assert main(["compress", "--workload", SPEC, "--input-shape", "3,12,12", "--out", str(path)]) == 0
    return path


# ------------------------------------------------------------------------------ input shape
def test_the_input_shape_round_trips_in_the_file(tmp_path: Path) -> None:
    compressed = compress(workloads.build(SPEC), CompressionConfig(), workload=SPEC, input_shape=[3, 12, 12])
    assert compressed.input_shape == SHAPE and compressed.architecture is not None
    save_network(compressed, tmp_path / "u.krp")
    assert load_network(tmp_path / "u.krp").input_shape == SHAPE
    raw = (tmp_path / "u.krp").read_bytes()
    manifest = json.loads(raw[46 : 46 + struct.unpack_from("<I", raw, 10)[0]])
    assert manifest["input_shape"] == [3, 12, 12] and manifest["architecture"]["format"] == "accelsim-graph"
    digits = compress(workloads.build("digits"), CompressionConfig(), workload="digits")  # built-in: its own
    assert digits.input_shape == (1, 8, 8) and digits.architecture is None


@pytest.mark.parametrize("shape", [(3, 12), (0, 12, 12), (3, 12.0, 12), (3, 4096, 4096), "3,12,12"])
def test_the_library_refuses_a_malformed_input_shape(shape: Any) -> None:
    with pytest.raises(ConfigError, match="input_shape must be"):
        compress(workloads.build(SPEC), CompressionConfig(), workload=SPEC, input_shape=shape)


def test_the_library_refuses_a_shape_the_model_does_not_take() -> None:
    with pytest.raises(ConfigError, match=r"model 'test_model_input:small_cnn' must accept inputs of shape "
                                          r"\(N, 3, 16, 16\), not fail with RuntimeError"):
        compress(workloads.build(SPEC), CompressionConfig(), workload=SPEC, input_shape=(3, 16, 16))


@pytest.mark.parametrize("text", ["3,x", "3,12", "3,12,12,1", "0,12,12", "-3,12,12", "", "3,,12", "3.0,12,12"])
def test_a_bad_input_shape_is_refused_when_the_command_line_is_parsed(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["compress", "--workload", SPEC, f"--input-shape={text}"])
    assert exited.value.code == 2
    assert f"accelsim compress: error: --input-shape must be C,H,W positive integers, not {text!r}" in (
        capsys.readouterr().err
    )


def test_an_input_shape_too_large_to_allocate_is_refused_when_parsed(capsys: pytest.CaptureFixture[str]) -> None:
    # 3 x 100000 x 100000 float32 values would be 120 GB: refused before any model is built
    with pytest.raises(SystemExit) as exited:
        main(["compress", "--workload", SPEC, "--input-shape", "3,100000,100000"])
    assert exited.value.code == 2
    assert ("accelsim compress: error: --input-shape must have at most 16,777,216 elements (C x H x W), not "
            "30,000,000,000 ('3,100000,100000')") in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], ("--input-shape C,H,W must be given for the user model 'test_model_input:small_cnn' (its input shape "
             "is not known), not left unset")),
        (["--input-shape", "3,16,16"], ("--input-shape 3,16,16: the model 'test_model_input:small_cnn' must accept "
                                       "inputs of shape (N, 3, 16, 16), not fail with RuntimeError")),
    ],
)
def test_the_command_line_needs_a_shape_the_model_takes(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compress", "--workload", SPEC, *extra, "--out", str(tmp_path / "x.krp")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"accelsim: error: {message}") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.krp").exists()


def test_a_built_in_workload_at_another_input_shape(tmp_path: Path) -> None:
    out = tmp_path / "alexnet48.krp"
    assert main(["compress", "--workload", "alexnet", "--input-shape", "3,48,48", "--out", str(out)]) == 0
    assert load_network(out).input_shape == (3, 48, 48)
    assert main(["compress", "--workload", "alexnet", "--input-shape", "3,64,64", "--out", str(out)]) == 2


# ------------------------------------------------------------------------------ architecture
@pytest.mark.parametrize(("factory", "shape"), [(SmallCnn, SHAPE), (Wide, (3, 9, 10)), (Unused, (3, 12, 12))])
def test_a_described_model_is_rebuilt_with_the_same_keys_order_and_outputs(factory: type, shape: tuple) -> None:
    """Unused: a layer its forward never calls (an auxiliary head used only in training, as in
    GoogLeNet) is recorded too, so the rebuilt model holds the same state dict."""
    model = perturb(factory())
    description = describe(model)
    rebuilt = build(json.loads(json.dumps(description)))  # plain JSON, as in the file
    assert all(p.device.type == "meta" for p in rebuilt.parameters())  # nothing allocated yet
    state = model.state_dict()
    assert list(rebuilt.state_dict()) == list(state)  # same keys, same (registration) order
    rebuilt.load_state_dict(state, assign=True)
    x = torch.rand((4, *shape), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    assert [name for name, _ in rebuilt.named_modules()] == [name for name, _ in model.named_modules()
                                                             if name in {n for n, _ in rebuilt.named_modules()}]


class Form(nn.Module):
    """conv -> one operation form -> flatten -> linear."""

    def __init__(self, form: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.form = form
        with torch.no_grad():
            features = torch.flatten(form(self.conv(torch.zeros(1, *SHAPE))), 1).shape[1]
        self.fc = nn.Linear(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.form(self.conv(x)), 1))


class InPlaceAdd(nn.Module):
    def forward(self, y: torch.Tensor) -> torch.Tensor:
        y += y
        return y


FORMS = {
    "torch.relu_": lambda y: torch.relu_(y), "F.relu_": lambda y: F.relu_(y), "relu_": lambda y: y.relu_(),
    "F.hardtanh_": lambda y: F.hardtanh_(y), "torch.clip": lambda y: torch.clip(y, 0, 1),
    "torch.clamp_min": lambda y: torch.clamp_min(y, 0.5), "torch.clamp_max_": lambda y: torch.clamp_max_(y, 2),
    "clip_": lambda y: y.clip_(-1, 1), "clamp_min": lambda y: y.clamp_min(0.1), "clamp_max_": lambda y: y.clamp_max_(1),
    "torch.concat": lambda y: torch.concat([y, y], 1), "torch.concatenate": lambda y: torch.concatenate([y], 1),
    "add_": lambda y: y.add_(y), "contiguous": lambda y: y.contiguous(),
    "F.dropout1d": lambda y: F.dropout1d(torch.flatten(y, 1), training=False),
    "mean": lambda y: y.mean((2, 3), keepdim=True), "torch.mean": lambda y: torch.mean(y, (2, 3)),
    "squeeze": lambda y: F.adaptive_avg_pool2d(y, 1).squeeze(-1).squeeze(-1),
    "torch.squeeze": lambda y: torch.squeeze(F.adaptive_avg_pool2d(y, 1), (2, 3)),
    "x.shape[0]": lambda y: y.reshape(y.shape[0], -1),
    "size products": lambda y: y.view(y.size(0), y.size(1) * y.size(2) * y.size(3)),
    "size quotient": lambda y: y.view(y.size(0), y.size(1) * y.size(2) * y.size(3) // 1),
}


@pytest.mark.parametrize("form", [*FORMS, "+=", "AlphaDropout"])
def test_every_operation_the_lowering_reads_is_recorded(form: str) -> None:
    """A user model the integer datapath runs has an architecture its file records: the
    recorder's lists cover the lowering's (so its .krp serves every command alone)."""
    operation = InPlaceAdd() if form == "+=" else nn.AlphaDropout(0.1) if form == "AlphaDropout" else FORMS[form]
    model = perturb(Form(operation)).eval()
    description, note = record(model, SHAPE, "model")
    assert note == "" and description is not None
    lower(compress(model, CompressionConfig(bits=4), workload="form"), np.random.default_rng(0).uniform(
        0, 1, (4, *SHAPE)).astype(np.float32))


@pytest.mark.parametrize(("factory", "reason"), [
    (Opaque, "the function 'sigmoid' is not one a file can record"),
    (UnusedParameter, "its state dict holds tensors its traced graph does not use"),
    (UnusedCustom, ("its unused module (its state dict holds its tensors) 'spare' (Scale) is not one a file can "
                    "record")),
])
def test_a_model_that_cannot_be_recorded_says_why(factory: type, reason: str) -> None:
    description, note = record(factory().eval(), (3, 12, 12), "model")
    assert description is None and note == reason


def test_a_user_file_without_an_architecture_needs_its_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "opaque.krp"
    spec = "test_model_input:opaque"
    assert main(["compress", "--workload", spec, "--input-shape", "3,12,12", "--out", str(out)]) == 0
    assert (f"note: the architecture of {spec!r} is not recorded (the function 'sigmoid' is not one a file can "
            f"record): commands reading {out} need --workload {spec}") in capsys.readouterr().out
    with pytest.raises(NetworkFileError, match="records the user model 'test_model_input:opaque' but not its "
                                               "architecture; pass it as the workload"):
        load_network(out)
    assert load_network(out, workload=spec).input_shape == (3, 12, 12)
    assert main(["run", "--network", str(out), "--no-cache"]) == 2
    assert "pass it as the workload" in capsys.readouterr().err


def forge(path: Path, edit: Any) -> bytes:
    """The bytes of the file at ``path`` with its manifest edited by ``edit`` and the checksum redone."""
    blob = path.read_bytes()
    end = 46 + struct.unpack_from("<I", blob, 10)[0]
    manifest = json.loads(blob[46:end])
    edit(manifest)
    text = json.dumps(manifest).encode()
    return MAGIC + struct.pack("<HI", 1, len(text)) + hashlib.sha256(text).digest() + text + blob[end:]


def _set(path: list[Any], value: Any) -> Any:
    def edit(manifest: dict[str, Any]) -> None:
        target = manifest["architecture"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(["modules", 0, "type"], "os.system"), "module type must be one of Conv2d, Linear"),
        (_set(["nodes", 1, "op"], "exec"), r"nodes\[1\].op must be input, module, function, method or output"),
        (_set(["nodes", 6, "target"], "builtins.eval"), r"nodes\[6\]: function must be one of operator.add"),
        (_set(["nodes", 1, "args"], [{"node": 5}]), "node reference 5 is not an earlier node's value"),
        (_set(["nodes", 1, "kwargs"], {"x); import os; (y": 1}), r"kwargs must be an object keyed by identifiers"),
        (_set(["modules", 0, "path"], "a/../b"), "module path must be dotted names"),
        (_set(["modules", 1, "args", "in_channels"], 7), "does not match its recorded architecture"),
        (_set(["version"], 2), "architecture version must be 1, not 2"),
        (_set(["modules", 1, "args", "out_channels"], 2**30), "does not match its recorded architecture"),
    ],
)
def test_a_forged_architecture_is_refused(user_file: Path, edit: Any, message: str, tmp_path: Path) -> None:
    forged = tmp_path / "forged.krp"
    forged.write_bytes(forge(user_file, edit))
    start = time.perf_counter()
    with pytest.raises(NetworkFileError, match=message):
        load_network(forged)
    assert time.perf_counter() - start < 5  # nothing was allocated from the forged sizes


def test_a_file_without_an_input_shape_says_to_compress_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.krp"  # as written before input shapes were recorded for user models
    save_network(compress(workloads.build(SPEC), CompressionConfig(), workload=SPEC), old)
    message = "must record its input shape to be lowered, not None"
    assert main(["run", "--network", str(old), "--workload", SPEC, "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert message in err and "compress the model again with accelsim compress --input-shape C,H,W" in err
    assert main(["infer", "--network", str(old), "--workload", SPEC]) == 2
    assert "records no input shape" in capsys.readouterr().err


# ------------------------------------------------------------------------------ every command
def test_run_takes_the_user_file_alone(user_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    assert main(["run", "--network", str(user_file), "--no-cache", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    names = [layer["name"] for layer in results["layers"]]
    assert results["workload"] == SPEC and names[:2] == ["stem.0", "conv"] and "add" in names and names[-1] == "head"


def test_infer_without_data_reports_the_agreement_on_seeded_images(user_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "infer.json"
    assert main(["infer", "--network", str(user_file), "--count", "40", "--calibration", "32",
                 "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["accuracy"] is None and results["float_accuracy"] is None and results["count"] == 40
    compressed = load_network(user_file)
    images = np.random.default_rng(0).uniform(0.0, 1.0, (72, *SHAPE)).astype(np.float32)
    network = lower(compressed, images[:32])
    expected = evaluate(network, compressed.model, images[32:], None)
    assert results["agreement"] == pytest.approx(expected.agreement) and expected.agreement >= 0.9


def test_plot_takes_the_user_file_alone(user_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "layers.png"
    assert main(["plot", "layers", "--network", str(user_file), "--out", str(out), "--no-cache"]) == 0
    assert out.stat().st_size > 1000


def test_a_sweep_spec_takes_the_user_file_alone(user_file: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"workloads: [{{network: {user_file}}}]\ncheck_every: 0\n"
                    "parameters: {ddr.bytes_per_cycle: [2, 8]}\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    from accelsim.dse import read_results

    rows = read_results(tmp_path / "out").to_pylist()
    assert len(rows) == 2 and {row["status"] for row in rows} == {"ok"}


@pytest.mark.verilator
def test_rtl_check_takes_the_user_file_alone(user_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "rtl.json"
    assert main(["rtl", "check", "--network", str(user_file), "--no-cache", "--layers", "conv", "add", "head",
                 "--cache", str(tmp_path / "verilator"), "--jobs", "2", "--json", str(report)]) == 0
    layers = json.loads(report.read_text())["layers"]
    assert [layer["name"] for layer in layers] == ["conv", "add", "head"]


def test_a_float64_model_is_refused_for_its_dtype_not_its_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Compression runs in float32: a float64 model is named for its dtype, with the fix (its
    float32 probe used to fail first, blaming the input shape)."""
    out = tmp_path / "double.krp"
    assert main(["compress", "--workload", "test_model_input:double_cnn", "--input-shape", "3,12,12",
                 "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "accelsim: error: model parameter 'head.weight' must be float32, not float64 (compression and its checks "
        "run in float32: build the model in float32, e.g. model.float())\n")
    assert not out.exists()
    with pytest.raises(WorkloadError, match="model parameter 'head.weight' must be float32, not float64"):
        compress(double_cnn(), CompressionConfig(bits=4), workload="double")
