"""``accelsim resources``: the estimate report, its JSON, --synth, and bad input."""

from __future__ import annotations

import argparse
import json

import pytest

from accelsim.cli import resources as resources_cli
from accelsim.errors import ConfigError
from accelsim.hw import estimate_resources, fits, load_config


def run(argv: list[str]) -> dict:
    """Parse ``argv`` with the sub-command's own parser and run it (the lead wires it into ``accelsim``)."""
    parser = argparse.ArgumentParser(prog="accelsim")
    resources_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["resources", *argv])
    return args.handler(args)


def test_estimate_report_and_json_keys(capsys):
    result = run([])
    estimate = estimate_resources(load_config())
    assert set(result["estimate"]) >= {"lut", "ff", "dsp", "bram36", "parts"}
    assert result["estimate"]["lut"] == estimate.total.lut and result["estimate"]["bram36"] == estimate.total.bram36
    assert result["estimate"]["parts"]["total"]["ff"] == estimate.total.ff
    report = fits(load_config())
    assert result["fit"]["fits"] is report.fits and result["fit"]["device"] == "xc7z035"
    assert result["fit"]["limiting"] == report.limiting
    assert "synthesis" not in result
    json.dumps(result)  # JSON-able
    out = capsys.readouterr().out
    verdict = "fits" if report.fits else "does NOT fit"
    assert "32 krp_gsnq units (8 x 4)" in out and f"the design {verdict}; limiting resource:" in out


def test_set_device_and_budget_change_the_verdict(capsys):
    result = run(["--set", "pe.tn=16", "--device", "xczu9eg", "--budget", "0.05"])
    assert result["device"] == "xczu9eg" and result["fit"]["fits"] is False
    assert "does NOT fit" in capsys.readouterr().out


def test_bad_input_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^device must be one of 'xc7z035', 'xczu9eg'"):
        run(["--device", "xc9"])
    with pytest.raises(ConfigError, match=r"^--set must be FIELD=VALUE"):
        run(["--set", "pe.tn"])


def test_every_ddr_width_of_the_bandwidth_plot_loads():
    # `accelsim plot bandwidth` sweeps 1 .. 128 bytes per cycle over the four kinds: a configuration is
    # refused at load only when it needs more DSP48 or BRAM36 than its device has, and none of these does
    from accelsim.plots.bandwidth import DEFAULT_BYTES_PER_CYCLE

    assert max(DEFAULT_BYTES_PER_CYCLE) == 128
    for kind in ("mult_dsp", "mult_lut", "gsnq_shift", "krp_gsnq"):
        for width in DEFAULT_BYTES_PER_CYCLE:
            config = load_config().replace(**{"pe.kind": kind, "ddr.bytes_per_cycle": width})
            report = fits(config)
            assert report.need["dsp"] <= 900 and report.need["bram36"] <= 500, (kind, width, report.need)


@pytest.mark.slow
def test_readme_bandwidth_example_runs(tmp_path):
    from accelsim.cli import main

    out = tmp_path / "bandwidth.png"
    assert main(["plot", "bandwidth", "--workload", "vgg16", "--workload", "resnet56", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.yosys
def test_synth_unit_reports_yosys_beside_the_model_and_its_deepest_path(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    result = run(["--synth", "--design", "unit", "--set", "weight_bits=3"])
    synthesis, estimate = result["synthesis"], result["estimate"]
    assert synthesis["top"] == "pe_unit" and synthesis["parameters"]["KIND"] == 3
    assert {"lut", "ff", "dsp", "bram36"} <= set(synthesis)
    # one 3-bit KRP unit: 3 taps x (8-bit operand, 3-bit code, 13-bit product, negation bit), a 15-bit sum
    assert synthesis["ff"] == estimate["ff"] == 3 * (8 + 3 + 13 + 1) + 15
    assert synthesis["dsp"] == 0 and synthesis["bram36"] == 0
    assert abs(result["error"]["lut"]) <= 0.05
    path = synthesis["critical_path"]
    assert path["start"] == "FDRE" and path["end"].startswith("FDRE") and path["levels"] >= 3
    assert path["levels"] == path["lut_levels"] + path["muxf"] + path["carry4"] + path["dsp"]
    out = capsys.readouterr().out
    assert "yosys" in out and "deepest register-to-register path: " in out and "clock_mhz = 200" in out
