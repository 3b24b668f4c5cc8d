"""CI runs the datapath benchmark: its figures are printed into the log, never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "datapath.py"


@pytest.mark.slow
def test_datapath_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--repeats", "5"],
        capture_output=True, text=True, timeout=1200, check=False,
    )
    with capsys.disabled():
        print("\n" + result.stdout)
    assert result.returncode == 0, result.stderr
    assert "VGG-16 integer inference" in result.stdout
