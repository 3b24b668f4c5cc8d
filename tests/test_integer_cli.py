"""``accelsim infer``: the sub-command's report against independent computations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import workloads
from accelsim.cli import infer
from accelsim.compression import load_network
from accelsim.errors import ConfigError
from accelsim.integer import lower, quantize_input, run


def call(*argv: str) -> dict[str, Any]:
    """Parse ``infer`` arguments with the sub-command's own parser and run its handler."""
    parser = argparse.ArgumentParser()
    infer.register(parser.add_subparsers())
    args = parser.parse_args(["infer", *argv])
    return args.handler(args)


def test_infer_on_digits_matches_an_independent_evaluation(
    network_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = call(
        "--network", str(network_file), "--data", "digits", "--count", "60", "--calibration", "100"
    )
    assert result["count"] == 60 and result["calibration_images"] == 100
    compressed = load_network(network_file)
    x_train, _ = workloads.load_digits("train")
    x_test, y_test = workloads.load_digits("test")
    network = lower(compressed, x_train[:100])
    outputs = run(network, quantize_input(network, x_test[:60])).outputs
    predicted = outputs.argmax(axis=1)
    with torch.no_grad():
        logits = compressed.model(torch.from_numpy(x_test[:60])).double().numpy()
    reference = logits.argmax(axis=1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == y_test[:60]))
    assert result["float_accuracy"] == pytest.approx(np.mean(reference == y_test[:60]))
    assert result["agreement"] == pytest.approx(np.mean(predicted == reference))
    assert result["float_classes"] == len(set(reference.tolist()))
    real = outputs * 2.0 ** -network.tensor(network.output).frac_bits
    assert result["output_error"] == pytest.approx(np.linalg.norm(real - logits) / np.linalg.norm(logits))
    assert 0 < result["output_error"] < 0.2
    out = capsys.readouterr().out
    assert "integer accuracy" in out and "top-1 agreement" in out and "output error" in out


def test_infer_says_when_the_agreement_cannot_show_a_disagreement(
    network_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On seeded uniform images the seeded (untrained) digits model predicts one class for all of
    them: the report says so, and its output error still tells 4-bit activations from 8-bit ones."""
    result = call("--network", str(network_file), "--count", "40", "--calibration", "16")
    assert result["float_classes"] == 1 and result["agreement"] == 1.0
    out = capsys.readouterr().out
    assert ("top-1 agreement    100.00% (the float model predicts 1 distinct class on these images: the "
            "agreement cannot show a disagreement; see the output error)") in out
    coarse = call("--network", str(network_file), "--count", "40", "--calibration", "16", "--act-bits", "4")
    assert coarse["agreement"] == 1.0 and coarse["output_error"] > 5 * result["output_error"] > 0


def test_infer_without_data_reports_agreement_only(network_file: Path) -> None:
    result = call("--network", str(network_file), "--count", "20", "--calibration", "16")
    assert result["accuracy"] is None and result["float_accuracy"] is None
    assert 0.0 <= result["agreement"] <= 1.0 and result["count"] == 20


def test_infer_errors(network_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="--count must be an integer >= 1, not 0"):
        call("--network", str(network_file), "--count", "0")
    with pytest.raises(ConfigError, match="act_bits must be an integer in 4..16, not 2"):
        call("--network", str(network_file), "--act-bits", "2", "--count", "2")
    with pytest.raises(SystemExit, match="2"):  # checked as the command line is parsed
        call("--network", str(tmp_path / "missing.krp"))
    assert "argument --network: network file" in capsys.readouterr().err
