"""The runnable examples in examples/: each runs, and what it prints comes from the library."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accelsim.dse import evaluate, load_workload, pareto_front, read_results
from accelsim.hw import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *argv: str) -> str:
    """Run an example with this checkout's accelsim first on the path; its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES.parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *argv], capture_output=True, text=True,
                          timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_evaluate_design():
    out = run_example("evaluate_design.py", "--workload", "digits", "--set", "pe.tn=16")
    result = evaluate(load_workload("digits"), load_config().replace(**{"pe.tn": 16}))
    assert f"latency      {result.total_cycles:,} cycles = {result.latency_ms:.3f} ms" in out
    assert f"{result.resources.total.lut:,} LUT" in out
    slowest = max(result.layers, key=lambda layer: layer.cycles)
    assert re.search(rf"^  {slowest.name}\s+{slowest.cycles:,} cycles", out, re.MULTILINE)


def test_bandwidth_study(tmp_path):
    out = run_example("bandwidth_study.py", "--workload", "digits", "--out", str(tmp_path))
    network = load_workload("digits")
    for width in (1, 8, 32):
        result = evaluate(network, load_config().replace(**{"ddr.bytes_per_cycle": width}))
        assert re.search(rf"^\s+{width}\s+{width * 0.2:.1f}\s+{result.latency_ms:.3f}\s", out, re.MULTILINE)
    assert (tmp_path / "bandwidth.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_sweep_and_pareto(tmp_path):
    out = run_example("sweep_and_pareto.py", "--out", str(tmp_path), "--workers", "1")
    assert "12 points run, 0 skipped, 0 failed" in out
    rows = [row for row in read_results(tmp_path / "sweep").to_pylist() if row["status"] == "ok"]
    assert f"Pareto front over latency and LUTs: {len(pareto_front(rows, ['latency_ms', 'lut']))} of 12" in out
    assert (tmp_path / "pareto.png").stat().st_size > 1000
    assert "0 points run, 12 skipped" in run_example("sweep_and_pareto.py", "--out", str(tmp_path), "--workers", "1")


def test_export_onnx_writes_a_model_accelsim_imports(tmp_path):
    import onnx

    from accelsim.compression.onnx_import import import_onnx

    path = tmp_path / "tiny.onnx"
    out = run_example("export_onnx.py", "--out", str(path), "--size", "16")
    graph = onnx.load(str(path)).graph
    assert f"wrote {path} ({path.stat().st_size:,} bytes): input 1x3x16x16, {len(graph.node)} nodes: " in out
    imported = import_onnx(path)
    assert imported.input_shape == (3, 16, 16) and imported.name == "tiny.onnx"


def test_the_user_model_compresses_by_its_spec_and_runs_from_its_file(tmp_path, monkeypatch):
    from accelsim.cli import main

    monkeypatch.syspath_prepend(str(EXAMPLES.parent))
    out = tmp_path / "user.krp"
    assert main(["compress", "--workload", "examples.user_model:build", "--input-shape", "3,32,32",
                 "--out", str(out)]) == 0
    assert main(["run", "--network", str(out), "--no-cache", "--json", str(tmp_path / "run.json")]) == 0
    import json

    layers = [layer["name"] for layer in json.loads((tmp_path / "run.json").read_text())["layers"]]
    assert layers[0] == "stem.0" and "add" in layers and layers[-1] == "fc"
