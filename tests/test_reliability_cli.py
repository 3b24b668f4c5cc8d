"""Command-line arguments are checked before the work, and every count is printed in full."""

from __future__ import annotations

import re
import time

import pytest

from accelsim.cli import main
from accelsim.cli import run as run_command
from accelsim.cli.numbers import count


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one-line error of a command that must exit with status 2."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim: error: ") and len(err.strip().splitlines()) == 1, err
    return err.strip().removeprefix("accelsim: error: ")


def test_huge_infer_count_is_refused_before_allocating(capsys, network_file):
    began = time.perf_counter()
    message = error_of(capsys, "infer", "--network", str(network_file), "--count", "100000000")
    assert re.fullmatch(r"--count must be at most [\d,]+ without --data \(with --calibration 512, the float32 images "
                        r"of shape \(1, 8, 8\) may take 1 GiB\), not 100,000,000", message)
    assert time.perf_counter() - began < 10


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compress", "--workload", "digits", "--out", "{tmp}"], "--out must be a file path, not the folder '{tmp}'"),
        (["compress", "--workload", "digits", "--out", ""], "--out must be a file path, not ''"),
        (["resources", "--json", "{tmp}"], "--json must be a file path, not the folder '{tmp}'"),
        (["resources", "--json", ""], "--json must be a file path, not ''"),
        (["plot", "layers", "--workload", "digits", "--out", "{tmp}/no/x.png"],
         "the folder of --out must exist, not '{tmp}/no' (create it first)"),
    ],
)
def test_output_paths_are_checked_before_the_work(tmp_path, capsys, monkeypatch, argv, expected):
    # The commands import their work on first use (lazy imports), from the package that exports it.
    monkeypatch.setattr("accelsim.compression.compress", lambda *a, **k: pytest.fail("compressed before the check"))
    message = error_of(capsys, *(arg.replace("{tmp}", str(tmp_path)) for arg in argv))
    assert message == expected.replace("{tmp}", str(tmp_path))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--trace", "t.txt"], "trace path must end in '.json' (Chrome trace) or '.csv', not 't.txt'"),
        (["--trace", "{tmp}"], "--trace must be a file path, not the folder '{tmp}'"),
        (["--gain", "2"], "--gain must be a fraction in (0, 1], not 2.0"),
        (["--gain", "0"], "--gain must be a fraction in (0, 1], not 0.0"),
    ],
)
def test_run_checks_its_arguments_before_simulating(tmp_path, capsys, monkeypatch, argv, expected):
    monkeypatch.setattr("accelsim.sim.simulate", lambda *a, **k: pytest.fail("simulated before the check"))
    monkeypatch.setattr(run_command, "build_network", lambda *a, **k: pytest.fail("built before the check"))
    monkeypatch.setattr("accelsim.sim.sources.workload_network", lambda *a, **k: pytest.fail("built before the check"))
    message = error_of(capsys, "run", "--workload", "digits", *(arg.replace("{tmp}", str(tmp_path)) for arg in argv))
    assert message == expected.replace("{tmp}", str(tmp_path))


def test_run_gain_says_that_nothing_fits(capsys):
    message = error_of(capsys, "run", "--workload", "digits", "--gain", "1e-9")
    assert message == ("budget must leave room for at least one PE unit, not 1e-09: no PE array of any PE kind fits "
                       "1e-07% of xc7z035's LUT/FF/DSP; give a larger fraction")


def test_resources_prints_every_count_with_thousands_separators(capsys):
    settings = ["--set", "pe.tn=128", "--set", "pe.tm=32", "--set", "device=xczu9eg"]
    settings += [item for name in ("input_bytes", "weight_depth", "output_depth") for item in ("--set", f"buffers.{name}=64")]
    assert main(["resources", *settings]) == 0
    out = capsys.readouterr().out
    assert "e+0" not in out
    assert re.search(r" \d,\d{3},\d{3} ", out)  # over a million LUTs (4,096 units), in full
    assert "4096" not in out and "4,096 krp_gsnq units" in out


def test_count_format():
    assert (count(2240980.0), count(152.5), count(0), count(1234)) == ("2,240,980", "152.5", "0", "1,234")
