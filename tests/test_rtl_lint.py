"""The Verilog library: lint clean with `verilator --lint-only -Wall` for a spread of configurations,
and the emitted top level carries the configuration's parameters."""

from __future__ import annotations

import re

import pytest

from accelsim.hw import load_config
from accelsim.rtl.emit import TOP_MODULE, design_files, library_sources, top_level
from accelsim.rtl.params import rtl_parameters
from accelsim.rtl.verilator import VERILATOR_FLAGS
from accelsim.toolchain import VERILATOR, run_tool

CONFIGS = {
    "default": {},
    "mult_dsp": {"pe.kind": "mult_dsp"},
    "mult_lut_tm_blocks": {
        "pe.kind": "mult_lut",
        "pe.tn": 4,
        "pe.tm": 12,
        "ddr.bytes_per_cycle": 2,
        "ddr.burst_bytes": 2046,
    },
    "wide_beats": {"ddr.bytes_per_cycle": 128, "pe.tn": 16, "pe.tm": 8},
    "gsnq_shift_k2": {"pe.kind": "gsnq_shift", "pe.kernel_max": 2, "weight_bits": 3},
    "krp_single_unit": {
        "pe.tn": 1,
        "pe.tm": 1,
        "pe.kernel_max": 1,
        "ddr.bytes_per_cycle": 1,
        "ddr.burst_bytes": 3,
        "buffers.input_bytes": 5,
        "buffers.weight_depth": 3,
        "buffers.output_depth": 7,
    },
}


def test_top_level_sets_every_parameter():
    params = rtl_parameters(
        load_config("default").replace(
            **{"pe.tn": 4, "ddr.bytes_per_cycle": 16, "ddr.burst_bytes": 2048}
        )
    )
    text = top_level(params)
    assert text.startswith("// Written by accelsim.rtl.emit")
    for name, value in params.verilog().items():
        assert re.search(rf"parameter\s+{name}\s*=\s*{value}\b", text), name
    assert f"module {TOP_MODULE} #(" in text and "accel_core #(" in text
    assert "tb_harness.v" not in {path.name for path in library_sources(simulation=False)}


@pytest.mark.verilator
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_library_is_lint_clean(name, tmp_path):
    params = rtl_parameters(load_config("default").replace(**CONFIGS[name]))
    top = tmp_path / f"{TOP_MODULE}.v"
    top.write_text(design_files(params)[f"{TOP_MODULE}.v"])
    tool = VERILATOR.require()
    sources = [str(path) for path in library_sources(simulation=False)] + [str(top)]
    completed = run_tool(
        [tool.path, "--lint-only", "-Wall", *VERILATOR_FLAGS, "--top-module", TOP_MODULE, *sources], tmp_path
    )
    assert completed.stderr == ""
