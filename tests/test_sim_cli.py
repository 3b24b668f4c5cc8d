"""``accelsim run``: the report, --json keys, --trace files, --set, --network, --gain, errors."""

from __future__ import annotations

import argparse
import csv
import json

import pytest
import torch

import workloads
from accelsim.cli import run as run_command
from accelsim.compression import CompressionConfig, compress, save_network
from accelsim.errors import ConfigError
from accelsim.hw import PeKind, fits, load_config
from accelsim.sim import simulate
from accelsim.sim.sources import workload_network


def invoke(*argv: str) -> dict:
    parser = argparse.ArgumentParser(prog="accelsim")
    run_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", *argv])
    return args.handler(args)


def test_run_digits_reports_every_layer(capsys, tmp_path):
    trace = tmp_path / "trace.csv"
    report = invoke("--workload", "digits", "--trace", str(trace))
    out = capsys.readouterr().out
    assert {"total_cycles", "latency_ms", "throughput_fps", "clock_mhz", "layers"} <= set(report)
    for layer in report["layers"]:
        assert {"name", "cycles", "ddr_bytes_read", "ddr_bytes_written", "pe_utilization", "stall_cycles"} <= set(layer)
    # the printed table and totals come from the same simulation as the dict
    assert f"{report['total_cycles']:,} cycles" in out
    assert all(layer["name"] in out for layer in report["layers"])
    # the numbers agree with a direct simulation of the same network
    direct = simulate(workload_network("digits"), load_config())
    assert report["total_cycles"] == direct.total_cycles
    assert [layer["cycles"] for layer in report["layers"]] == [layer.cycles for layer in direct.layers]
    assert report["latency_ms"] == pytest.approx(direct.total_cycles / 200e3)
    # the resource line is the model's fit of the same configuration
    fit = fits(load_config())
    assert report["resources"] == fit.to_dict()
    assert f"{fit.need['lut']:,g} LUT ({100 * fit.usage['lut']:.1f}%)" in out
    assert ("xc7z035: fits" in out) is fit.fits
    rows = list(csv.DictReader(trace.read_text().splitlines()))
    assert len(rows) == len(direct.trace)
    assert int(rows[-1]["end"]) == report["total_cycles"]


def test_set_changes_the_configuration_and_the_result(capsys):
    base = invoke("--workload", "digits")
    wide = invoke("--workload", "digits", "--set", "ddr.bytes_per_cycle=1", "--set", "pe.kind=gsnq_shift")
    assert wide["pe_kind"] == "gsnq_shift"
    assert wide["total_cycles"] > base["total_cycles"]  # 1 B/cycle DDR and dense weights
    with pytest.raises(ConfigError, match=r"^--set must be FIELD=VALUE \(e.g. pe.tn=16\), not 'pe.tn'$"):
        invoke("--workload", "digits", "--set", "pe.tn")
    with pytest.raises(ConfigError, match=r"^ddr.bytes_per_cycle must be an integer from 1 to 4096, not 0$"):
        invoke("--workload", "digits", "--set", "ddr.bytes_per_cycle=0")


def test_run_a_network_file_with_chrome_trace(tmp_path, capsys):
    torch.manual_seed(0)
    compressed = compress(workloads.build("digits", seed=3), CompressionConfig(bits=4), workload="digits")
    path = tmp_path / "digits.krp"
    save_network(compressed, path)
    trace = tmp_path / "trace.json"
    report = invoke("--network", str(path), "--trace", str(trace))
    assert report["workload"] == "digits"
    payload = json.loads(trace.read_text())
    assert payload["otherData"]["total_cycles"] == report["total_cycles"]


def test_gain_table_compares_the_four_kinds(capsys):
    report = invoke("--workload", "digits", "--gain", "0.5")
    rows = {row["kind"]: row for row in report["parallelism_gain"]["rows"]}
    assert set(rows) == {kind.value for kind in PeKind}
    assert rows["krp_gsnq"]["units"] > rows["gsnq_shift"]["units"] > rows["mult_dsp"]["units"]
    assert rows["mult_dsp"]["limiting"] == "dsp"
    assert "parallelism gain: the PE array within 50%" in capsys.readouterr().out


def test_bad_trace_suffix_is_rejected_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="trace path must end in '.json'"):
        invoke("--workload", "digits", "--trace", str(tmp_path / "trace.txt"))
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_default_run_is_vgg16_krp_gsnq4(capsys):
    report = invoke()
    assert report["workload"] == "vgg16"
    assert report["pe_kind"] == "krp_gsnq" and report["config"] == "default"
    assert len([layer for layer in report["layers"] if layer["kind"] == "conv"]) == 13
    assert report["total_cycles"] == sum(layer["cycles"] for layer in report["layers"])


def test_input_shape_runs_a_workload_at_another_size(tmp_path, capsys):
    # resnet8 (32x32) at 48x48 equals its file compressed with --input-shape and run alone
    from accelsim.cli import main

    report = invoke("--workload", "resnet8", "--input-shape", "3,48,48", "--no-cache")
    krp = tmp_path / "r48.krp"
    assert main(["compress", "--workload", "resnet8", "--input-shape", "3,48,48", "--out", str(krp)]) == 0
    from_file = invoke("--network", str(krp), "--no-cache")
    assert report["total_cycles"] == from_file["total_cycles"]
    assert report["total_cycles"] > invoke("--workload", "resnet8", "--no-cache")["total_cycles"]
    with pytest.raises(ConfigError, match=r"^--input-shape must be left out with --network: the network file records"):
        invoke("--network", str(krp), "--input-shape", "3,32,32")


def test_long_layer_names_keep_the_table_columns_apart(capsys):
    """torchvision-style names longer than the name column (DenseNet's) widen it: every row's
    name and kind stay separate words, and the kind starts under the header's 'kind'."""
    from accelsim.sim import NetworkBuilder

    builder = NetworkBuilder((3, 6, 6), seed=0)
    builder.conv(8, kernel=3, rows_kept=1, name="features.denseblock1.denselayer1.conv1")
    builder.pool(2, name="features.transition1.pool")
    run_command.print_layers(simulate(builder.build(), load_config()))
    header, _, *rows = capsys.readouterr().out.splitlines()
    column = header.index("kind")
    assert [row.split()[:2] for row in rows] == [["features.denseblock1.denselayer1.conv1", "conv"],
                                                 ["features.transition1.pool", "pool"]]
    assert all(row[column - 1] == " " and row[column] != " " for row in rows)


def test_a_network_whose_layers_read_concatenated_tensors_says_the_rtl_does_not_run_them(tmp_path, capsys):
    """DenseNet's BatchNorm layers read the concatenation of the features so far on their own:
    the report times them by the contract and says the RTL core does not run them yet."""
    from accelsim.cli import main

    krp = tmp_path / "dense.krp"
    assert main(["compress", "--workload", "pre_activation:DenseBlock", "--input-shape", "3,12,12",
                 "--out", str(krp)]) == 0
    capsys.readouterr()
    invoke("--network", str(krp), "--set", "pe.tn=4", "--no-cache")
    out = capsys.readouterr().out
    assert ("note: 3 layers (norms.0, norms.1, norms.2) read a concatenated tensor on their own, one DDR segment "
            "per row as the timing contract binds it; the RTL core does not run such layers yet") in out
    invoke("--workload", "resnet8", "--no-cache")
    assert "read a concatenated tensor" not in capsys.readouterr().out
