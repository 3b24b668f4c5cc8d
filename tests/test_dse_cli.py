"""``accelsim sweep`` and ``accelsim plot``: thin commands over the library, clear errors."""

from __future__ import annotations

import argparse

import pytest
import yaml

from accelsim.cli import plot as plot_command
from accelsim.cli import sweep as sweep_command
from accelsim.dse import read_results
from accelsim.errors import ConfigError, ExecutorError
from accelsim.hw import load_config
from accelsim.plots import layer_cycles, roofline
from accelsim.sim import simulate
from accelsim.sim.sources import workload_network


def invoke(module, *argv: str) -> dict:
    parser = argparse.ArgumentParser(prog="accelsim")
    module.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([module.__name__.rsplit(".", 1)[1], *argv])
    return args.handler(args)


@pytest.fixture()
def spec_file(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"name": "cli", "workloads": ["digits"],
                                    "parameters": {"ddr.bytes_per_cycle": [2, 3, 8], "pe.tn": [4, 8]}}))
    return path


def test_sweep_command_runs_resumes_and_reports(spec_file, tmp_path, capsys):
    out = tmp_path / "results"
    report = invoke(sweep_command, str(spec_file), "--out", str(out), "--workers", "1")
    printed = capsys.readouterr()
    assert report["ran"] == 6 and report["failed"] == 2 and report["rows"] == 6
    assert "points    6 in the spec: 0 already done, 6 run now (2 failed)" in printed.out
    assert "2 x ConfigError: ddr.bytes_per_cycle must be a power of two" in printed.out
    assert "6/6" in printed.err  # the progress bar, on stderr
    rows = read_results(out).to_pylist()
    fastest = min((r for r in rows if r["status"] == "ok" and r["fits"]), key=lambda r: r["total_cycles"])
    assert report["fastest"] == [{"workload": "digits", "point_id": fastest["point_id"],
                                  "ddr.bytes_per_cycle": fastest["ddr.bytes_per_cycle"], "pe.tn": fastest["pe.tn"],
                                  "total_cycles": fastest["total_cycles"], "latency_ms": fastest["latency_ms"],
                                  "lut": fastest["lut"], "dsp": fastest["dsp"], "bram36": fastest["bram36"],
                                  "fits": True}]
    again = invoke(sweep_command, str(spec_file), "--out", str(out), "--workers", "1")
    assert again["skipped"] == 6 and again["ran"] == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    with pytest.raises(ExecutorError, match="reachable Dask scheduler"):
        invoke(sweep_command, str(spec_file), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1")
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before  # nothing written is lost


def test_sweep_command_errors_before_any_point_runs(spec_file, tmp_path):
    out = tmp_path / "results"
    with pytest.raises(ExecutorError, match=r"^--scheduler must be the address of a reachable Dask scheduler"):
        invoke(sweep_command, str(spec_file), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1")
    assert not out.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"workloads": ["digits"], "parameters": {"ddr.width": [1]}}))
    with pytest.raises(ConfigError, match=r"not 'ddr.width'"):
        invoke(sweep_command, str(bad), "--out", str(out))
    with pytest.raises(ConfigError, match=r"^--workers must be an integer from 1 to \d+ \(4 per CPU of this machine: each is a process\), not 0$"):
        invoke(sweep_command, str(spec_file), "--out", str(out), "--workers", "0")
    with pytest.raises(ConfigError, match=r"^--timeout must be a positive number of seconds up to 86,400 \(a day\), not 0.0$"):
        invoke(sweep_command, str(spec_file), "--out", str(out), "--scheduler", "local", "--timeout", "0")
    assert not out.exists()


def test_plot_commands_write_the_library_data(tmp_path, capsys):
    result = simulate(workload_network("digits"), load_config().replace(**{"pe.tn": 16}))
    report = invoke(plot_command, "roofline", "--workload", "digits", "--set", "pe.tn=16", "--out", str(tmp_path / "r.svg"))
    assert report["layers"] == [vars(point) for point in roofline(result).points]
    report = invoke(plot_command, "layers", "--workload", "digits", "--set", "pe.tn=16", "--out", str(tmp_path / "l.pdf"))
    assert report["compute_cycles"] == list(layer_cycles(result).compute)
    report = invoke(plot_command, "timeline", "--workload", "digits", "--bins", "10", "--out", str(tmp_path / "t.png"))
    assert len(report["edges_cycles"]) == 11 and report["edges_cycles"][-1] == simulate(
        workload_network("digits"), load_config()).total_cycles
    report = invoke(plot_command, "bandwidth", "--workload", "digits", "--kinds", "krp_gsnq", "--bandwidths", "1,4,16",
                    "--out", str(tmp_path / "b.png"))
    assert [c["kind"] for c in report["curves"]] == ["krp_gsnq"] and report["curves"][0]["bytes_per_cycle"] == [1, 4, 16]
    for name in ("r.svg", "l.pdf", "t.png", "b.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert "plot -> " in capsys.readouterr().out


def test_plot_command_pareto_and_errors(spec_file, tmp_path):
    out = tmp_path / "results"
    invoke(sweep_command, str(spec_file), "--out", str(out), "--workers", "1")
    report = invoke(plot_command, "pareto", "--results", str(out), "--x", "latency_ms", "--y", "lut",
                    "--out", str(tmp_path / "p.png"), "--include-unfit")
    ok = [r for r in read_results(out).to_pylist() if r["status"] == "ok"]
    (group,) = report["groups"]
    assert group["points"] == len(ok) == 4
    front_ids = {row["point_id"] for row in group["front"]}
    for row in ok:  # the front is exactly the non-dominated points
        dominated = any(o["latency_ms"] <= row["latency_ms"] and o["lut"] <= row["lut"] and
                        (o["latency_ms"], o["lut"]) != (row["latency_ms"], row["lut"]) for o in ok)
        assert (row["point_id"] in front_ids) == (not dominated)
    with pytest.raises(ConfigError, match=r"^plot file must end in .png, .svg or .pdf, not 'p.jpg'$"):
        invoke(plot_command, "layers", "--out", "p.jpg")
    with pytest.raises(ConfigError, match=r"^--kinds must name PE kinds among .* not 'krp'$"):
        invoke(plot_command, "bandwidth", "--kinds", "krp", "--out", str(tmp_path / "b.png"))
    with pytest.raises(ConfigError, match=r"^--results must name a sweep's results folder"):
        invoke(plot_command, "pareto", "--out", str(tmp_path / "p.png"))
    with pytest.raises(ConfigError, match=r"^metric must be one of .* not 'luts'$"):
        invoke(plot_command, "pareto", "--results", str(out), "--y", "luts", "--out", str(tmp_path / "p.png"))
