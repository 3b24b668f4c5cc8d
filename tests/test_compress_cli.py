"""``accelsim compress``: the report, the JSON, the file, and one clear error per bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import workloads
from accelsim.cli import main
from accelsim.compression import UniformLevels, WeightFormat, load_network

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cli_user_models.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            def mlp():
                return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_digits_writes_the_file_the_report_and_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, report = tmp_path / "d.krp", tmp_path / "d.json"
    assert main(["compress", "--workload", "digits", "--bits", "3", "--out", str(out), "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    results = json.loads(report.read_text())
    assert results["bits"] == 3 and results["rows_kept"] == 1
    assert results["conv_pruning_rate"] == pytest.approx(2 / 3)
    assert 0 < results["total_pruning_rate"] < 1
    assert results["file_bytes"] == out.stat().st_size
    assert results["compression_ratio"] == pytest.approx(results["dense_float32_bytes"] / results["encoded_bytes"])
    assert [layer["name"] for layer in results["layers"]] == [
        "features.0",
        "features.3",
        "features.7",
        "classifier.0",
        "classifier.2",
    ]
    assert {"name", "kind", "pruning_rate", "rows_kept"} <= set(results["layers"][0])
    assert f"compression ratio       {results['compression_ratio']:.2f}x" in printed
    assert "features.3" in printed and "66.67%" in printed
    loaded = load_network(out)
    assert loaded.workload == "digits" and loaded.config.bits == 3


def test_default_out_name_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compress", "--workload", "digits", "--bits", "3"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["digits-krp-gsnq3.krp"]


def test_retraining_reports_accuracy(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = ["compress", "--workload", "digits", "--data", "digits", "--epochs", "1", "--schedule", "cosine"]
    assert main([*args, "--out", str(tmp_path / "r.krp"), "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert 0 <= results["accuracy_before"] <= 1 and results["accuracy_after"] > 0.5
    assert results["retrain"]["schedule"] == "cosine" and results["retrain"]["epochs"] == 1


def test_from_a_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "digits.pt"
    workloads.save_checkpoint(workloads.build("digits", seed=5), checkpoint, workload="digits")
    report = tmp_path / "c.json"
    assert main(["compress", "--model", str(checkpoint), "--out", str(tmp_path / "c.krp"), "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert results["workload"] == "digits" and results["checkpoint"] == str(checkpoint) and results["seed"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workload", "lenet"],
         ("workload must be one of 'alexnet', 'digits', 'mobilenet_v1_025', 'mobilenet_v2', 'resnet110', 'resnet18', "
         "'resnet18_imagenet', 'resnet56', 'resnet8', 'squeezenet1_1', 'vgg11_bn', 'vgg16', 'vgg16_imagenet'")),
        (
            ["--workload", "digits", "--rows-kept", "3"],
            "layer 'features.0': rows_kept must be smaller than the kernel size K=3, not 3",
        ),
        (["--workload", "digits", "--bits", "9"], "bits must be an integer from 2 to 8, not 9"),
        (["--workload", "digits", "--bits", "1"], "bits must be an integer from 2 to 8, not 1"),
        (["--workload", "digits", "--fc-prune", "1.5"], r"fc_prune must be a number in \[0, 1\), not 1.5"),
        (["--workload", "digits", "--first-layer", "none"], "first_layer must be one of 'krp', 'dense', not 'none'"),
        (
            ["--workload", "vgg16", "--data", "cifar10", "--data-dir", "{tmp}/nowhere"],
            "data_dir must be a cifar-10-batches-py folder",
        ),
        (
            ["--workload", "vgg16", "--data", "digits"],
            "--data must be the data set of workload 'vgg16', 'cifar10', not 'digits'",
        ),
        (["--workload", "digits", "--epochs", "2"], "--data must be given with --epochs"),
        (
            ["--workload", "digits", "--data", "digits", "--schedule", "linear"],
            "schedule must be one of 'tracking', 'step', 'cosine', 'fixed', not 'linear'",
        ),
        (
            ["--workload", "digits", "--gsnq-split", "even"],
            "gsnq_split must be one of 'min-error', 'balanced', not 'even'",
        ),
        (["--workload", "digits", "--weights", "x"], "weights must be one of 'gsnq', 'uniform', not 'x'"),
        (["--workload", "cli_user_models:mlp", "--input-shape", "1,8,8"], r"model has no Conv2d layer \(Sequential\)"),
        (["--workload", "cli_user_models:mlp"], "--input-shape C,H,W must be given for the user model 'cli_user_models:mlp'"),
        (["--onnx", "{tmp}/missing.onnx"], "ONNX file '.*missing.onnx' must be an existing file"),
        (["--workload", "cli_user_models:mlp", "--input-shape", "1,8,8", "--data", "digits"],
         ("--data must be used with a built-in workload (retraining replays its training recipe), not with the "
         "user model 'cli_user_models:mlp'")),
        (["--onnx", "{tmp}/missing.onnx", "--workload", "digits"], "--onnx must be given alone, without --workload"),
        (["--model", "{tmp}/missing.pt"], "must be an existing file"),
    ],
)
def test_bad_input_is_one_clear_error_and_no_file(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], user_models: None
) -> None:
    out, report = tmp_path / "out.krp", tmp_path / "out.json"
    before = set(tmp_path.iterdir())
    args = [
        "compress",
        *(arg.replace("{tmp}", str(tmp_path)) for arg in extra),
        "--out",
        str(out),
        "--json",
        str(report),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim: error: ") and len(err.strip().splitlines()) == 1
    assert message in err or __import__("re").search(message, err), err
    assert not out.exists() and not report.exists()
    assert set(tmp_path.iterdir()) == before


def test_missing_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no" / "out.krp"
    assert main(["compress", "--workload", "digits", "--out", str(out)]) == 2
    assert "the folder of --out must exist" in capsys.readouterr().err
    assert not out.parent.exists()


def test_missing_json_folder_fails_before_writing_the_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.krp"
    assert main(["compress", "--workload", "digits", "--out", str(out), "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert "the folder of --json must exist" in capsys.readouterr().err
    assert not out.exists()


def test_uniform_weights_end_to_end_with_retraining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["compress", "--workload", "digits", "--weights", "uniform", "--bits", "3", "--data", "digits"]
    assert main([*args, "--epochs", "1", "--json", "u.json"]) == 0
    printed = capsys.readouterr().out
    assert "FC prune 0.5, uniform 3 bits" in printed
    results = json.loads((tmp_path / "u.json").read_text())
    assert results["weights"] == "uniform" and results["bits"] == 3 and results["accuracy_after"] > 0.5
    assert results["out"] == "digits-krp-uniform3.krp"
    loaded = load_network(tmp_path / "digits-krp-uniform3.krp")
    assert loaded.config.weights is WeightFormat.UNIFORM
    for record in loaded.records:
        assert isinstance(record.levels, UniformLevels) and record.levels.bits == 3
        weight = loaded.model.get_submodule(record.name).weight.detach()
        assert (weight.double() / record.levels.step).abs().max() <= 3
