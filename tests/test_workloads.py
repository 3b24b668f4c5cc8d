"""Tests of the workloads package: architectures, seeding, checkpoints, import specs, data sets."""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import workloads
from accelsim.errors import AccelsimError, CheckpointError, ConfigError, DataError, WorkloadError
from workloads.models import VGG16_CFG

CifarRoot = tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]
ALL = ("vgg16", "resnet56", "resnet110", "alexnet", "digits")
IMAGENET = ("vgg16_imagenet", "resnet18_imagenet")
#: issue 14's networks: MLPerf Tiny's and torchvision's (tests/test_workloads_new.py)
NEW = ("resnet8", "mobilenet_v1_025", "resnet18", "mobilenet_v2", "squeezenet1_1", "vgg11_bn")


@pytest.fixture(scope="module")
def built() -> dict[str, nn.Module]:
    """One model of every workload, seed 0 (built once: VGG-16 takes about a second)."""
    return {name: workloads.build(name, seed=0) for name in ALL}


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ----------------------------------------------------------------------------- registry


def test_names_and_info() -> None:
    assert workloads.names() == ALL + IMAGENET + NEW
    for name in IMAGENET:
        meta = workloads.info(name)
        assert (meta.input_shape, meta.num_classes, meta.dataset) == ((3, 224, 224), 1000, "imagenet")
    for name in ALL:
        meta = workloads.info(name)
        assert meta.name == name and meta.num_classes == 10
        assert meta.dataset == ("digits" if name == "digits" else "cifar10")
        assert meta.input_shape == ((1, 8, 8) if name == "digits" else (3, 32, 32))
    # the paper's table: batch 64 for AlexNet and VGG-16, 128 for the ResNets; wd 1e-4; momentum 0.9
    assert [
        workloads.info(n).recipe.batch_size for n in ("alexnet", "vgg16", "resnet56", "resnet110")
    ] == [64, 64, 128, 128]
    for name in ("alexnet", "vgg16", "resnet56", "resnet110"):
        recipe = workloads.info(name).recipe
        assert (recipe.weight_decay, recipe.momentum, recipe.epochs) == (1e-4, 0.9, 160)
        assert recipe.schedule is workloads.Schedule.STEP and recipe.milestones == (0.5, 0.75)


@pytest.mark.parametrize(
    ("name", "parameters"), [("vgg16_imagenet", 138_365_992 - 4_224), ("resnet18_imagenet", 11_689_512)]
)
def test_imagenet_architectures(name: str, parameters: int) -> None:
    """torchvision's vgg16_bn (less its 4,224 convolution biases, redundant before BatchNorm) and resnet18."""
    factory, builtin = workloads.registry.factory(name)
    with torch.device("meta"):
        model = factory().eval()
        logits = model(torch.empty(2, 3, 224, 224))
    assert builtin and sum(p.numel() for p in model.parameters()) == parameters
    assert tuple(logits.shape) == (2, 1000)


def test_unknown_workload_message() -> None:
    with pytest.raises(WorkloadError) as err:
        workloads.build("vgg17")
    assert str(err.value) == (
        "workload must be one of 'alexnet', 'digits', 'mobilenet_v1_025', 'mobilenet_v2', 'resnet110', 'resnet18', "
        "'resnet18_imagenet', 'resnet56', 'resnet8', 'squeezenet1_1', 'vgg11_bn', 'vgg16', 'vgg16_imagenet', "
        "or 'module:factory', not 'vgg17'"
    )
    with pytest.raises(WorkloadError, match="not 'vgg17'"):
        workloads.info("vgg17")
    with pytest.raises(WorkloadError, match="not 3"):
        workloads.build(3)  # type: ignore[arg-type]
    with pytest.raises(WorkloadError, match="seed must be an integer"):
        workloads.build("digits", seed=-1)


def test_recipe_schedules() -> None:
    step = workloads.info("resnet56").recipe
    assert step.milestone_epochs == (80, 120)
    assert [step.lr_at(e) for e in (0, 79, 80, 119, 120, 159)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    )
    cosine = workloads.TrainingRecipe(64, 0.05, 0.9, 1e-4, 20, workloads.Schedule.COSINE)
    assert (
        cosine.lr_at(0) == 0.05
        and cosine.lr_at(10) == pytest.approx(0.025)
        and cosine.lr_at(20) == pytest.approx(0.0)
    )
    assert cosine.lr_at(5) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)) / 2)
    with pytest.raises(ConfigError, match="epoch must be a number in"):
        step.lr_at(161)


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("batch_size", 0, "batch_size must be an integer >= 1, not 0"),
        ("batch_size", True, "batch_size must be an integer >= 1, not True"),
        ("lr", -0.1, "lr must be a number > 0"),
        ("momentum", 1.0, "momentum must be a number in [0, 1)"),
        ("weight_decay", float("nan"), "weight_decay must be a number >= 0"),
        ("epochs", 2.5, "epochs must be an integer >= 1"),
        ("schedule", "step", "schedule must be a Schedule"),
        ("milestones", (0.75, 0.5), "milestones must be a tuple of strictly increasing fractions"),
        ("milestones", (0.5, 1.0), "milestones must be a tuple of strictly increasing fractions"),
        ("gamma", 0.0, "gamma must be a number in (0, 1]"),
    ],
)
def test_recipe_validation(field: str, value: object, text: str) -> None:
    fields = {
        "batch_size": 64,
        "lr": 0.1,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "epochs": 10,
        "schedule": workloads.Schedule.STEP,
        "milestones": (0.5,),
        "gamma": 0.1,
    }
    fields[field] = value
    with pytest.raises(ConfigError, match=f"training recipe {field}") as err:
        workloads.TrainingRecipe(**fields)  # type: ignore[arg-type]
    assert text in str(err.value)
    with pytest.raises(ConfigError, match="milestones must be empty for a cosine schedule"):
        workloads.TrainingRecipe(64, 0.1, 0.9, 1e-4, 10, workloads.Schedule.COSINE, (0.5,))


# ----------------------------------------------------------------------------- architectures


@pytest.mark.parametrize("name", ALL)
def test_forward_shape_eval_and_fx(built: dict[str, nn.Module], name: str) -> None:
    model = built[name]
    assert not model.training
    x = torch.rand(2, *workloads.info(name).input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 10) and torch.isfinite(y).all()
    traced = torch.fx.symbolic_trace(model)
    with torch.no_grad():
        assert torch.equal(traced(x), y)
    allowed = (
        nn.Conv2d,
        nn.BatchNorm2d,
        nn.ReLU,
        nn.MaxPool2d,
        nn.AvgPool2d,
        nn.Flatten,
        nn.Linear,
    )
    functions = set()
    for node in traced.graph.nodes:
        if node.op == "call_module":
            assert isinstance(traced.get_submodule(node.target), allowed), node.target
        elif node.op in ("call_function", "call_method"):
            functions.add(node.target)
    import operator

    assert functions <= {operator.add}
    assert (operator.add in functions) == name.startswith("resnet")
    for conv in _convs(model):
        assert conv.groups == 1 and conv.dilation == (1, 1)


def test_vgg16_structure(built: dict[str, nn.Module]) -> None:
    convs = _convs(built["vgg16"])
    widths = [c for c in VGG16_CFG if c != "M"]
    assert len(convs) == 13 and [c.out_channels for c in convs] == widths
    expected, cin = 0, 3
    for width in widths:
        expected += 9 * cin * int(width)
        cin = int(width)
    assert expected == 14_710_464
    assert sum(c.weight.numel() for c in convs) == expected
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.bias is None for c in convs)
    linears = [m for m in built["vgg16"].modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(512, 512), (512, 10)]


@pytest.mark.parametrize(("name", "blocks"), [("resnet56", 9), ("resnet110", 18)])
def test_resnet_structure(built: dict[str, nn.Module], name: str, blocks: int) -> None:
    model = built[name]
    convs = _convs(model)
    three = [c for c in convs if c.kernel_size == (3, 3)]
    projections = [c for c in convs if c.kernel_size == (1, 1)]
    assert len(three) == 1 + 6 * blocks and len(projections) == 2
    assert [(p.in_channels, p.out_channels, p.stride) for p in projections] == [
        (16, 32, (2, 2)),
        (32, 64, (2, 2)),
    ]
    assert sorted({c.out_channels for c in three}) == [16, 32, 64]
    assert sum(1 for c in three if c.stride == (2, 2)) == 2
    # depth = 6n + 2 weighted layers on the main path
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(three) + len(linears) == 6 * blocks + 2
    # the conv weight count follows from the widths: stem, then per stage the first block
    # (conv cin->cout, conv cout->cout, 1x1 projection when cin != cout) and n-1 blocks cout->cout
    expected = 9 * 3 * 16
    for cin, cout in [(16, 16), (16, 32), (32, 64)]:
        expected += 9 * cin * cout + 9 * cout * cout + (cin * cout if cin != cout else 0)
        expected += (blocks - 1) * 2 * 9 * cout * cout
    assert sum(c.weight.numel() for c in convs) == expected


def test_alexnet_structure(built: dict[str, nn.Module]) -> None:
    convs = _convs(built["alexnet"])
    assert [
        (c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs
    ] == [
        (3, 64, 11, 4, 5),
        (64, 192, 5, 1, 2),
        (192, 384, 3, 1, 1),
        (384, 256, 3, 1, 1),
        (256, 256, 3, 1, 1),
    ]
    assert all(c.bias is not None for c in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in built["alexnet"].modules())


def test_init_statistics(built: dict[str, nn.Module]) -> None:
    # Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (out_channels * k * k))
    conv = _convs(built["vgg16"])[10]
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (512 * 9)), rel=0.02)
    assert abs(conv.weight.mean().item()) < 1e-3
    bn = next(m for m in built["resnet56"].modules() if isinstance(m, nn.BatchNorm2d))
    assert torch.equal(bn.weight, torch.ones(16)) and torch.equal(bn.bias, torch.zeros(16))
    assert torch.equal(bn.running_mean, torch.zeros(16)) and torch.equal(
        bn.running_var, torch.ones(16)
    )
    fc = built["vgg16"].classifier[0]
    bound = 1 / math.sqrt(
        512
    )  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert fc.weight.abs().max().item() <= bound and fc.weight.abs().max().item() > 0.99 * bound


# ----------------------------------------------------------------------------- seeding


def test_seed_determinism_independent_of_global_rng(built: dict[str, nn.Module]) -> None:
    torch.manual_seed(12345)
    state_before = torch.get_rng_state()
    again = workloads.build("resnet56", seed=0)
    assert torch.equal(torch.get_rng_state(), state_before), "build must not consume the global RNG"
    assert _same_state(again, built["resnet56"])
    assert not _same_state(workloads.build("resnet56", seed=1), built["resnet56"])
    torch.manual_seed(999)
    assert _same_state(workloads.build("digits", seed=7), workloads.build("digits", seed=7))


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = workloads.build("digits", seed=3)
    model.features[1].running_mean.add_(0.5)  # a buffer, to check buffers travel too
    path = tmp_path / "digits.pt"
    workloads.save_checkpoint(model, path, workload="digits")
    name, state = workloads.read_checkpoint(path)
    assert name == "digits" and state.keys() == model.state_dict().keys()
    loaded = workloads.build("digits", seed=99, checkpoint=path)
    assert _same_state(loaded, model) and not loaded.training
    name, rebuilt = workloads.load_model(str(path))
    assert name == "digits" and _same_state(rebuilt, model)
    assert [p.name for p in tmp_path.iterdir()] == ["digits.pt"], "no temporary file left behind"


def test_plain_state_dict_checkpoint(tmp_path: Path) -> None:
    model = workloads.build("digits", seed=4)
    path = tmp_path / "plain.pt"
    torch.save(model.state_dict(), path)
    assert workloads.read_checkpoint(path)[0] is None
    assert _same_state(workloads.build("digits", checkpoint=path), model)
    with pytest.raises(CheckpointError, match="does not record its workload"):
        workloads.load_model(path)
    assert _same_state(workloads.load_model(path, workload="digits")[1], model)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.pt"
    workloads.save_checkpoint(workloads.build("digits"), good, workload="digits")
    data = good.read_bytes()
    files: dict[str, tuple[Path, str]] = {}

    def put(label: str, content: bytes, text: str) -> None:
        path = tmp_path / f"{label}.pt"
        path.write_bytes(content)
        files[label] = (path, text)

    put("truncated", data[: len(data) // 2], "not a readable torch checkpoint")
    put(
        "random",
        np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "not a readable torch checkpoint",
    )
    put("empty", b"", "not a readable torch checkpoint")
    buffer = io.BytesIO()
    torch.save([1, 2, 3], buffer)
    put("list", buffer.getvalue(), "must hold a state dict")
    buffer = io.BytesIO()
    torch.save(
        {"format": "accelsim-checkpoint", "version": 2, "workload": "digits", "state_dict": {}},
        buffer,
    )
    put("version", buffer.getvalue(), "version must be 1, not 2")
    buffer = io.BytesIO()
    torch.save({"epoch": 3, "state_dict": {"w": torch.zeros(1)}}, buffer)
    put(
        "training",
        buffer.getvalue(),
        "entry 'epoch' is a value of type int (a training checkpoint?",
    )
    files["missing"] = (tmp_path / "missing.pt", "must be an existing file (no such file)")
    files["folder"] = (tmp_path, "must be an existing file (it is a directory)")
    return files


@pytest.mark.parametrize(
    "label", ["truncated", "random", "empty", "list", "version", "training", "missing", "folder"]
)
def test_bad_checkpoint_files(tmp_path: Path, label: str) -> None:
    path, text = _bad_files(tmp_path)[label]
    for load in (
        lambda: workloads.build("digits", checkpoint=path),
        lambda: workloads.load_model(path),
    ):
        with pytest.raises(CheckpointError) as err:
            load()
        assert str(path) in str(err.value) and text in str(err.value)


def test_malicious_checkpoint_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("echo pwned > /dev/null",))

    path = tmp_path / "evil.pt"
    torch.save({"weight": Evil()}, path)
    with pytest.raises(CheckpointError, match=r"must hold only tensors, not the disallowed global '(posix|os)\.system'") as err:
        workloads.read_checkpoint(path)
    assert "weights_only" not in str(err.value) and "truncated" not in str(err.value)


def test_checkpoint_architecture_mismatch(tmp_path: Path) -> None:
    digits = workloads.build("digits")
    wrong = tmp_path / "wrong.pt"
    workloads.save_checkpoint(digits, wrong, workload="digits")
    with pytest.raises(CheckpointError, match="was saved for workload 'digits', not 'alexnet'"):
        workloads.build("alexnet", checkpoint=wrong)

    plain = tmp_path / "plain.pt"
    torch.save(digits.state_dict(), plain)
    with pytest.raises(CheckpointError) as err:
        workloads.build("alexnet", checkpoint=plain)
    assert str(plain) in str(err.value)
    assert "'features.0.weight' has shape (16, 1, 3, 3), the model expects (64, 3, 11, 11)" in str(
        err.value
    )

    state = digits.state_dict()
    del state["features.1.running_var"]
    torch.save(state, plain)
    with pytest.raises(
        CheckpointError, match=r"missing key 'features.1.running_var' \(shape \(16,\)\)"
    ):
        workloads.build("digits", checkpoint=plain)

    state = digits.state_dict()
    state["classifier.2.weight"] = torch.zeros(10, 65)
    torch.save(state, plain)
    with pytest.raises(CheckpointError) as err:
        workloads.build("digits", checkpoint=plain)
    assert "'classifier.2.weight' has shape (10, 65), the model expects (10, 64)" in str(err.value)

    state = digits.state_dict()
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, plain)
    with pytest.raises(CheckpointError, match="unexpected key 'extra.weight'"):
        workloads.build("digits", checkpoint=plain)

    state = digits.state_dict()
    state["features.0.weight"] = state["features.0.weight"].to(torch.int32)
    torch.save(state, plain)
    with pytest.raises(CheckpointError, match="'features.0.weight' has dtype torch.int32"):
        workloads.build("digits", checkpoint=plain)


def test_save_checkpoint_validation(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="workload must be a non-empty str"):
        workloads.save_checkpoint(workloads.build("digits"), tmp_path / "x.pt", workload="")
    with pytest.raises(AccelsimError, match="output folder must exist"):
        workloads.save_checkpoint(
            workloads.build("digits"), tmp_path / "no" / "x.pt", workload="digits"
        )


# ----------------------------------------------------------------------------- user models


USER_MODULE = """
import torch
from torch import nn

def make():
    layers = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)]
    return nn.Sequential(*layers)

class Factories:
    @staticmethod
    def small():
        return make()

not_callable = 3

def not_a_module():
    return 42
"""


@pytest.fixture()
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "accelsim_test_user_models.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "accelsim_test_user_models"


def test_import_spec_model(user_module: str, tmp_path: Path) -> None:
    spec = f"{user_module}:make"
    torch.manual_seed(5)
    model = workloads.build(spec, seed=2)
    assert not model.training and model(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    torch.manual_seed(6)
    assert _same_state(workloads.build(spec, seed=2), model)
    assert not _same_state(workloads.build(spec, seed=3), model)
    assert _same_state(workloads.build(f"{user_module}:Factories.small", seed=2), model)
    with pytest.raises(WorkloadError, match="known only for the built-in workloads"):
        workloads.info(spec)

    path = tmp_path / "user.pt"
    workloads.save_checkpoint(model, path, workload=spec)
    assert _same_state(workloads.build(spec, seed=9, checkpoint=path), model)
    with pytest.raises(CheckpointError, match="records the user model"):
        workloads.load_model(path)
    assert workloads.load_model(path, workload=spec)[0] == spec


@pytest.mark.parametrize(
    ("attribute", "text"),
    [
        ("missing", "has no attribute 'missing'"),
        ("not_callable", "'not_callable' must be a callable returning a torch.nn.Module, not int"),
        ("not_a_module", "the factory must return a torch.nn.Module, not int"),
    ],
)
def test_bad_import_spec(user_module: str, attribute: str, text: str) -> None:
    with pytest.raises(WorkloadError, match=f"workload '{user_module}:{attribute}'") as err:
        workloads.build(f"{user_module}:{attribute}")
    assert text in str(err.value)


def test_unimportable_spec() -> None:
    with pytest.raises(
        WorkloadError,
        match=r"workload 'no_such_module_xyz:make': cannot import module 'no_such_module_xyz'",
    ):
        workloads.build("no_such_module_xyz:make")
    with pytest.raises(WorkloadError, match="or 'module:factory', not 'a:b:c'"):
        workloads.build("a:b:c")


# ----------------------------------------------------------------------------- digits data


def test_load_digits() -> None:
    x_train, y_train = workloads.load_digits("train")
    x_test, y_test = workloads.load_digits("test")
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.shape[1:] == (1, 8, 8) and len(x_train) + len(x_test) == 1797
    assert len(x_test) == math.ceil(0.25 * 1797)
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert np.all(np.isin(x_train * 16, np.arange(17)))
    # stratified: every class has the same share in both splits (within one image)
    for label in range(10):
        share = np.mean(y_test == label) - np.mean(y_train == label)
        assert abs(share) < 0.01
    again = workloads.load_digits("train")
    assert np.array_equal(again[0], x_train) and np.array_equal(again[1], y_train)
    other = workloads.load_digits("train", seed=1)
    assert not np.array_equal(other[1], y_train)
    # the splits are disjoint and together are the whole data set
    from sklearn.datasets import load_digits as sk

    everything = np.concatenate([x_train, x_test]).reshape(1797, 64) * 16
    assert sorted(map(bytes, everything.astype(np.uint8))) == sorted(
        map(bytes, sk().data.astype(np.uint8))
    )
    x, y = workloads.load_dataset("digits", "test")
    assert np.array_equal(x, x_test) and np.array_equal(y, y_test)


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (
            lambda: workloads.load_digits("val"),
            ConfigError,
            "split must be one of 'train', 'test', not 'val'",
        ),
        (
            lambda: workloads.load_digits(test_fraction=1.0),
            ConfigError,
            "test_fraction must be a number in (0, 1)",
        ),
        (
            lambda: workloads.load_dataset("mnist"),
            ConfigError,
            "dataset must be one of 'cifar10', 'digits', not 'mnist'",
        ),
        (lambda: workloads.load_dataset("cifar10", "train"), DataError, "cifar10 needs a data_dir"),
    ],
)
def test_dataset_errors(call: Callable[[], object], error: type[Exception], text: str) -> None:
    with pytest.raises(error) as err:
        call()
    assert text in str(err.value)


# ----------------------------------------------------------------------------- CIFAR-10 data


def _write_batch(path: Path, data: np.ndarray, labels: list[int], protocol: int) -> None:
    with path.open("wb") as handle:
        pickle.dump(
            {b"batch_label": b"synthetic", b"data": data, b"labels": labels},
            handle,
            protocol=protocol,
        )


def _python2_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled as the real CIFAR-10 files are (Python 2 cPickle, protocol 2, numpy 1.x).

    Written opcode by opcode: str objects are BINSTRINGs and the array is rebuilt through
    numpy.core.multiarray._reconstruct, which Python 3 picklers no longer emit.
    """

    def string(raw: bytes) -> bytes:
        return (
            b"U" + bytes([len(raw)]) + raw
            if len(raw) < 256
            else b"T" + struct.pack("<I", len(raw)) + raw
        )

    def integer(value: int) -> bytes:
        return b"J" + struct.pack("<i", value)

    dtype = b"cnumpy\ndtype\n" + string(b"u1") + integer(0) + integer(1) + b"\x87R"
    dtype += (
        b"(" + integer(3) + string(b"|") + b"NNN" + integer(-1) + integer(-1) + integer(0) + b"tb"
    )
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + integer(0)
        + b"\x85"
        + string(b"b")
        + b"\x87R"
    )
    array += b"(" + integer(1) + integer(data.shape[0]) + integer(data.shape[1]) + b"\x86" + dtype
    array += b"\x89" + string(data.tobytes()) + b"tb"
    items = (
        string(b"data") + array + string(b"labels") + b"](" + b"".join(map(integer, labels)) + b"e"
    )
    return b"\x80\x02}(" + items + b"u."


@pytest.fixture()
def cifar_root(tmp_path: Path) -> CifarRoot:
    """A tiny cifar-10-batches-py folder: 3 images per train batch, 4 test images."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    parts = []
    for index in range(1, 6):
        data = rng.integers(0, 256, (3, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, 3)]
        _write_batch(folder / f"data_batch_{index}", data, labels, protocol=2 if index % 2 else 5)
        parts.append((data, labels))
    test = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    test[0, :] = 255
    test[1, :] = 0
    (folder / "test_batch").write_bytes(_python2_batch(test, [0, 9, 3, 3]))
    expected = {
        "train": (
            np.concatenate([d for d, _ in parts]),
            np.concatenate([labels for _, labels in parts]),
        ),
        "test": (test, np.array([0, 9, 3, 3])),
    }
    return tmp_path, expected


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_cifar10(cifar_root: CifarRoot, split: str) -> None:
    root, expected = cifar_root
    x, y = workloads.load_cifar10(root, split)
    data, labels = expected[split]
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == (len(data), 3, 32, 32) and np.array_equal(y, labels)
    # channel-major layout of the CIFAR rows: 1024 red, 1024 green, 1024 blue, each row-major 32x32
    assert x[0, 1, 2, 3] == np.float32(data[0, 1024 + 2 * 32 + 3]) / np.float32(255)
    assert np.array_equal(np.rint(x.reshape(len(data), -1) * 255).astype(np.uint8), data)
    assert 0.0 <= x.min() and x.max() <= 1.0
    same = workloads.load_cifar10(
        root / "cifar-10-batches-py", split
    )  # the folder itself works too
    assert np.array_equal(same[0], x)
    through = workloads.load_dataset("cifar10", split, data_dir=root)
    assert np.array_equal(through[1], y)
    if split == "test":
        assert x[0].min() == 1.0 and x[1].max() == 0.0


def test_cifar10_missing(tmp_path: Path, cifar_root: CifarRoot) -> None:
    with pytest.raises(DataError) as err:
        workloads.load_cifar10(tmp_path / "nowhere")
    message = str(err.value)
    assert (
        str(tmp_path / "nowhere") in message
        and "never downloads" in message
        and "--data-dir" in message
    )
    root, _ = cifar_root
    (root / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataError, match="data_batch_4' is missing"):
        workloads.load_cifar10(root, "train")
    assert len(workloads.load_cifar10(root, "test")[0]) == 4
    empty = tmp_path / "empty" / "cifar-10-batches-py"
    empty.mkdir(parents=True)
    with pytest.raises(DataError, match="test_batch' is missing"):
        workloads.load_cifar10(empty.parent, "test")


def test_cifar10_malicious_pickle_refused(cifar_root: CifarRoot) -> None:
    root, _ = cifar_root
    marker = root / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2))
    with pytest.raises(
        DataError, match=r"refusing to load .*test_batch.*: unexpected global (posix|os)\.system"
    ):
        workloads.load_cifar10(root, "test")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"\x80\x02}q\x00(", "is corrupt or truncated"),
        (pickle.dumps([1, 2]), "must hold a dict, not a list"),
        (pickle.dumps({b"labels": [0]}), "has no 'data' entry"),
        (
            pickle.dumps({b"data": np.zeros((1, 3072), np.float32), b"labels": [0]}),
            "data must be a uint8 array",
        ),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}),
            "labels must be 2 integers in 0..9",
        ),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0.5, 1.0]}),
            "labels must be 2 integers in 0..9, not a float64 array of shape (2,), values 0.5..1.0",
        ),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}),
            "labels must be 2 integers in 0..9, not a int64 array of shape (1,)",
        ),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [[1], [1, 2]]}),
            "labels must be 2 integers in 0..9 (",
        ),
    ],
)
def test_cifar10_bad_batch(cifar_root: CifarRoot, payload: bytes, text: str) -> None:
    root, _ = cifar_root
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(payload)
    with pytest.raises(DataError) as err:
        workloads.load_cifar10(root, "test")
    assert "test_batch" in str(err.value) and text in str(err.value)
