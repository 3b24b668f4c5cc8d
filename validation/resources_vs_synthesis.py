"""The analytical resource model against Yosys, over designs the model was not calibrated on.

Usage: ``python validation/resources_vs_synthesis.py [--quick] [--out validation/resources_vs_synthesis.md]``

The model's PE parts (taps, adder trees, row select, accumulator, requantization lane) were
measured alone and the core's other modules in place in seven cores with black-box PE arrays
(``validation/calibrate_resources.py``); this script synthesizes whole PE units, PE arrays,
buffer memories and accelerator cores and reports the model's error per resource, each core by
part, the growth of the infrastructure (everything but the PE array and the requantization lanes)
with the array, and every design's deepest register-to-register path. Targets: LUT within 5%,
FF, DSP48 and BRAM36 exact. Results are cached (``accelsim.synth.cache``), so a rerun only
synthesizes what changed. ``--quick`` skips the largest designs (the dense 8 x 4 arrays, the
cores and the infrastructure growth).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accelsim.hw import HwConfig, PeKind, estimate_resources, load_device
from accelsim.hw.memories import map_memory
from accelsim.hw.resources import (
    INFRASTRUCTURE_PARTS,
    Resources,
    buffer_memories,
    infrastructure_part,
)
from accelsim.outputs import atomic_write_bytes
from accelsim.synth import SynthesisResult, SynthTarget, Yosys
from accelsim.synth.calibrate import infrastructure_target
from accelsim.synth.cells import CellCounts
from accelsim.synth.targets import Design, synth_target
from accelsim.synth.timing import NET_DELAY_PS

OUT = Path(__file__).with_suffix(".md")
COLUMNS = ("lut", "ff", "dsp", "bram36")
DEVICE = "xc7z035"


@dataclass(frozen=True)
class Point:
    """One validation design: a configuration and the design synthesized from it."""

    design: Design
    kind: PeKind
    tn: int = 8
    tm: int = 4
    weight_bits: int = 4
    act_bits: int = 8
    beat: int = 8
    large: bool = False

    def config(self) -> HwConfig:
        base = HwConfig()
        pe = dataclasses.replace(base.pe, kind=self.kind, tn=self.tn, tm=self.tm)
        return dataclasses.replace(base, pe=pe, weight_bits=self.weight_bits, act_bits=self.act_bits,
                                   ddr=dataclasses.replace(base.ddr, bytes_per_cycle=self.beat))

    def label(self) -> str:
        shape = f"{self.tn}x{self.tm} " if self.design is not Design.UNIT else ""
        beat = f" ddr {self.beat}" if self.design is Design.CORE else ""
        return f"{self.design.value} {self.kind.value} {shape}a{self.act_bits} w{self.weight_bits}{beat}"


KINDS = tuple(PeKind)
#: Units of every kind at 3 and 4 bits and other widths; arrays of several shapes; five cores of
#: four kinds, three array sizes and two DDR widths (16 bytes: between the calibrated 8 and 32).
POINTS: tuple[Point, ...] = (
    *(Point(Design.UNIT, kind, weight_bits=w) for kind in KINDS for w in (4, 3)),
    Point(Design.UNIT, PeKind.KRP_GSNQ, act_bits=12), Point(Design.UNIT, PeKind.GSNQ_SHIFT, act_bits=6),
    Point(Design.UNIT, PeKind.KRP_GSNQ, weight_bits=5), Point(Design.UNIT, PeKind.MULT_LUT, act_bits=6),
    Point(Design.UNIT, PeKind.MULT_DSP, weight_bits=2),
    *(Point(Design.ARRAY, kind, weight_bits=w, large=kind in (PeKind.MULT_LUT, PeKind.GSNQ_SHIFT))
      for kind in KINDS for w in (4, 3)),
    Point(Design.ARRAY, PeKind.KRP_GSNQ, 4, 2, 3), Point(Design.ARRAY, PeKind.GSNQ_SHIFT, 2, 2, 4),
    Point(Design.ARRAY, PeKind.MULT_LUT, 2, 2, 3), Point(Design.ARRAY, PeKind.KRP_GSNQ, 2, 16, 4),
    Point(Design.ARRAY, PeKind.MULT_DSP, 4, 8, 3), Point(Design.ARRAY, PeKind.KRP_GSNQ, 16, 1, 4),
    Point(Design.CORE, PeKind.KRP_GSNQ, large=True),
    Point(Design.CORE, PeKind.KRP_GSNQ, 16, 8, large=True),
    Point(Design.CORE, PeKind.GSNQ_SHIFT, 4, 4, 3, large=True),
    Point(Design.CORE, PeKind.MULT_DSP, 8, 4, 4, large=True),
    Point(Design.CORE, PeKind.KRP_GSNQ, 8, 4, 4, beat=16, large=True),
)
#: Arrays (tn, tm) of the infrastructure-growth table (KRP, default otherwise).
GROWTH_ARRAYS = ((4, 2), (8, 4), (16, 8), (32, 8))
#: The DDR widths of `accelsim plot bandwidth` (bytes per cycle), whose buffer memories are checked.
BANDWIDTH_BEATS = (1, 2, 4, 8, 16, 32, 64, 128)
#: The core parts of the by-part table: the RTL modules (with their sub-modules) of each.
CORE_PART_MODULES = {
    "pe_array": ("pe_array",), "requant": ("requant",),
    "buffers": ("input_buffer", "weight_buffer", "output_buffer"),
}


def _model(point: Point) -> Resources:
    estimate = estimate_resources(point.config())
    return {Design.UNIT: estimate.pe_unit, Design.ARRAY: estimate.pe_array, Design.CORE: estimate.total}[point.design]


def _error(model: float, measured: float) -> str:
    if model == measured:
        return "exact"
    if measured == 0:
        return f"+{model:g}"
    return f"{100 * (model - measured) / measured:+.1f}%"


def _path(result: SynthesisResult) -> str:
    path = result.critical_path
    return path.describe() if path else "-"


def _designs(runner: Yosys, points: Iterable[Point]) -> tuple[list[str], list[str], dict[str, float]]:
    rows, paths, worst = [], [], {key: 0.0 for key in COLUMNS}
    for point in points:
        started = time.perf_counter()
        result = runner.synthesize(synth_target(point.config(), point.design))
        model = _model(point)
        print(f"{point.label()}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        cells = []
        for key in COLUMNS:
            ours, theirs = getattr(model, key), getattr(result, key)
            cells.append(f"{ours:,g} / {theirs:,g} ({_error(ours, theirs)})")
            if theirs:
                worst[key] = max(worst[key], abs(ours - theirs) / theirs)
            elif ours:
                worst[key] = float("inf")
        rows.append(f"| {point.label()} | " + " | ".join(cells) + f" | {model.carry:,} / {result.carry:,} |")
        paths.append(f"| {point.label()} | {_path(result)} |")
    return rows, paths, worst


def _module_sum(modules: dict[str, CellCounts], names: Iterable[str]) -> Resources:
    total = Resources()
    for name in names:
        counts = modules.get(name, CellCounts())
        total = total + Resources(counts.lut, counts.ff, counts.dsp, counts.bram18, counts.carry)
    return total


def _core_parts(runner: Yosys, points: Iterable[Point]) -> list[str]:
    """Each core by part, model against Yosys (the hierarchy's modules), and the PE share of LUTs."""
    rows = []
    for point in points:
        if point.design is not Design.CORE:
            continue
        config = point.config()
        result = runner.synthesize(synth_target(config, Design.CORE))
        modules = dict(result.modules)
        estimate = estimate_resources(config)
        measured = {name: _module_sum(modules, names) for name, names in CORE_PART_MODULES.items()}
        top = modules["accel_core"]
        total = Resources(top.lut, top.ff, top.dsp, top.bram18, top.carry)
        measured["dma_control"] = Resources(*(getattr(total, key) - sum(getattr(part, key) for part in measured.values())
                                              for key in ("lut", "ff", "dsp", "bram18", "carry")))
        model = {"pe_array": estimate.pe_array, "requant": estimate.requant, "buffers": estimate.buffers,
                 "dma_control": estimate.control}
        for name in ("pe_array", "requant", "buffers", "dma_control"):
            ours, theirs = model[name], measured[name]
            rows.append(f"| {point.label()} | {name} | {ours.lut:,} / {theirs.lut:,} ({_error(ours.lut, theirs.lut)}) | "
                        f"{ours.ff:,} / {theirs.ff:,} | {ours.dsp} / {theirs.dsp} | {ours.bram36:g} / {theirs.bram36:g} |")
        pe = measured["pe_array"].lut + measured["requant"].lut
        rows.append(f"| {point.label()} | **PE array + requant share** | model {100 * (estimate.pe_array.lut + estimate.requant.lut) / estimate.total.lut:.1f}% / "
                    f"Yosys {100 * pe / total.lut:.1f}% of {total.lut:,} LUT | | | |")
    return rows


def _infrastructure(runner: Yosys) -> list[str]:
    """Buffers + DMA + control (everything but the PE array and requantization lanes), measured."""
    rows, first = [], None
    for tn, tm in GROWTH_ARRAYS:
        config = Point(Design.CORE, PeKind.KRP_GSNQ, tn, tm).config()
        started = time.perf_counter()
        result = runner.synthesize(infrastructure_target(config))
        print(f"infrastructure {tn}x{tm}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        lanes = result.modules["requant"]
        lut, ff = result.lut - lanes.lut, result.ff - lanes.ff
        model = (sum((infrastructure_part(config, part) for part in INFRASTRUCTURE_PARTS), Resources())
                 + sum((group.resources for group in buffer_memories(config)), Resources()))
        units = tn * tm
        first = first or (units, lut)
        rows.append(f"| {tn} x {tm} | {units} | {lut:,} | {lut / units:,.0f} | {units / first[0]:g}x | "
                    f"{lut / first[1]:.2f}x | {model.lut:,} ({_error(model.lut, lut)}) | {ff:,} | {result.bram36:g} |")
    return rows


def _whole_core(runner: Yosys, tn: int, tm: int) -> str:
    """The measured LUTs of a whole KRP core against half the device."""
    config = Point(Design.CORE, PeKind.KRP_GSNQ, tn, tm).config()
    result = runner.synthesize(synth_target(config, Design.CORE))
    device = load_device(DEVICE)
    share = result.lut / device.lut
    return (f"The {tn} x {tm} ({tn * tm}-unit) KRP core, whole accelerator, measured: **{result.lut:,} LUT**, "
            f"{100 * share:.1f}% of the {device.name}'s {device.lut:,} "
            f"({'within' if share <= 0.5 else 'OVER'} the 50% target); {result.ff:,} FF, {result.dsp} DSP48, "
            f"{result.bram36:g} BRAM36.")


def _memories(runner: Yosys, points: Iterable[Point]) -> tuple[list[str], int, int]:
    """Every distinct buffer memory of the points' configurations (and the infrastructure arrays):
    the model's mapping against Yosys's."""
    seen, rows, wrong = set(), [], 0
    configs = [point.config() for point in points]
    configs += [Point(Design.CORE, PeKind.KRP_GSNQ, beat=beat).config() for beat in BANDWIDTH_BEATS]
    configs += [Point(Design.CORE, PeKind.KRP_GSNQ, tn, tm, beat=beat).config() for tn, tm in GROWTH_ARRAYS
                for beat in (8, 32)]
    for config in configs:
        for group in buffer_memories(config):
            memory = group.memory
            shape = (memory.item_bits, memory.items, memory.depth)
            if shape in seen:
                continue
            seen.add(shape)
            address = max(1, (memory.depth - 1).bit_length())
            target = SynthTarget("sdp_ram", (("ITEM_W", memory.item_bits), ("ITEMS", memory.items),
                                             ("DEPTH", memory.depth), ("ADDR_W", address)))
            result = runner.synthesize(target)
            mapping = map_memory(memory)
            ok = mapping.bram18 / 2 == result.bram36 and mapping.lut == result.counts.lut_memory
            wrong += not ok
            rows.append(f"| {group.name} | {memory.width} x {memory.depth} ({memory.items} item"
                        f"{'s' if memory.items > 1 else ''}) | {mapping.primitive} | {mapping.bram18 / 2:g} / "
                        f"{result.bram36:g} | {mapping.lut} / {result.counts.lut_memory} | {'yes' if ok else 'NO'} |")
    return rows, wrong, len(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the largest designs")
    parser.add_argument("--out", type=Path, default=OUT, help=f"markdown report (default {OUT})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runner = Yosys()
    fresh: list[str] = []  # the designs this run synthesized (the rest came from the cache)
    synthesize = runner.synthesize

    def counted(target: SynthTarget, family: str = "xc7") -> SynthesisResult:
        result = synthesize(target, family)
        if not result.cached:
            fresh.append(target.top)
        return result

    runner.synthesize = counted  # type: ignore[method-assign]
    points = [point for point in POINTS if not (args.quick and point.large)]
    design_rows, path_rows, worst = _designs(runner, points)
    memory_rows, wrong, memories = _memories(runner, points)
    lines = [
        "# Resource model against Yosys",
        "",
        (f"Made by `python validation/resources_vs_synthesis.py{' --quick' if args.quick else ''}` with "
         f"{runner.tool.banner}, `synth_xilinx -family xc7` (units and arrays `-flatten`, "
         "but for a mult_dsp design's unit adder trees (`pe_tree`), kept out of the DSP48 cascade; cores "
         "hierarchical with the PE array's units, taps and unit trees flattened into it as in the array; "
         "`-nodsp` for mult_lut). The model's parts were "
         "measured separately (`validation/calibrate_resources.py`): no unit or array here is in that "
         "calibration (a unit's taps were measured in groups of 2, 4, 8 and 16 registered taps with their "
         "adder tree; these units have 3 or 9); the core's other modules were measured in place at the 4 x 2, 8 x 4 and 16 x 8 KRP "
         "arrays at 8 and 32 DDR bytes per cycle and the 32 x 8 array at 8, so the default and 16 x 8 cores test "
         "the composition, the 4 x 4 gsnq_shift (tm = tn, 3-bit dense items), 8 x 4 mult_dsp (dense items) and "
         "16-byte cores the interpolation too."),
        "",
        "Each cell: model / Yosys (model error). CARRY4: model / Yosys.",
        "",
        "| design | LUT | FF | DSP48 | BRAM36 | CARRY4 |",
        "|---|---|---|---|---|---|",
        *design_rows,
        "",
        "Largest error over these designs: " + ", ".join(
            f"{key.upper()} {100 * value:.1f}%" for key, value in worst.items()) + ".",
        "",
        ("Flip-flops, DSP48s, BRAM36 and CARRY4s follow from the RTL and Yosys's rules; LUTs of the composed "
         "units and arrays carry what composition cannot know: ABC maps each module for its deepest path and then "
         "recovers area on the others, so a part's LUTs depend on the module around it. The model reads a unit's "
         "taps beside their adder tree (a LUT multiplier tap next to the tree takes fewer LUTs than alone); the "
         "column trees keep their own module in synthesis (`pe_column`), so they cost what the sums measured "
         "alone cost (flattened with the units, a 16-operand tree took ~270 LUTs more). The "
         "requantization lanes, measured alone, match their place in a core within 0.3% since their stages "
         "were split (the cores by part, below). The cores' errors stay small because "
         "their infrastructure is measured in place (docs/resources.md section 1)."),
    ]
    if not args.quick:
        lines += [
            "",
            "## The cores by part",
            "",
            ("Model / Yosys. `pe_array`: the PE array; `requant`: the `tn` requantization lanes; `buffers`: the "
             "input, weight and output buffers (RAMs and logic); `dma_control`: the controller, the DMA engines "
             "and their requesters, the DDR arbiter, the datapath's sequencer, operand registers and vector lanes, "
             "and the core's own registers. Yosys's parts are the hierarchy's modules."),
            "",
            "| core | part | LUT | FF | DSP48 | BRAM36 |",
            "|---|---|---|---|---|---|",
            *_core_parts(runner, points),
            "",
            "## Infrastructure growth",
            "",
            ("Buffers + DMA + control (everything but the PE array and the requantization lanes), measured with "
             "Yosys (the core with the PE array a black box, less its requantization lanes), KRP arrays, default "
             "configuration otherwise; the model beside it (these arrays at 8 bytes per cycle are points of its calibration grid)."),
            "",
            "| array | units | LUT | LUT per unit | units vs 4 x 2 | LUT vs 4 x 2 | model LUT | FF | BRAM36 |",
            "|---|---|---|---|---|---|---|---|---|",
            *_infrastructure(runner),
            "",
            _whole_core(runner, 16, 8),
        ]
    lines += [
        "",
        "## Timing: the deepest register-to-register path",
        "",
        (f"From each synthesized netlist (Yosys `sta` on the flattened netlist, inputs cut, with the xc7 cell "
         f"delays of Yosys's library and {NET_DELAY_PS} ps of routing before every routed input, so that `sta` "
         f"picks the path by both; `accelsim.synth.timing`): the latest-arriving path, its logic levels and the "
         f"clock it allows (docs/resources.md section 6). The configured clock is 200 MHz (5 ns)."),
        "",
        "| design | deepest path |",
        "|---|---|",
        *path_rows,
        "",
        "## Buffer memories (`sdp_ram`): the model's Yosys mapping",
        "",
        ("Every distinct buffer memory of the configurations above, of the default core at every DDR width of "
         "`accelsim plot bandwidth` (1 to 128 bytes per cycle) and of the infrastructure arrays at 8 and 32: "
         "BRAM36 and LUT-RAM LUTs, model / Yosys."),
        "",
        "| buffer | memory | model's primitive | BRAM36 | LUT RAM | same |",
        "|---|---|---|---|---|---|",
        *memory_rows,
        "",
        f"{memories - wrong} of {memories} memories get Yosys's BRAM36 and LUT-RAM counts exactly.",
        "",
        (f"(Run time of this report: {time.perf_counter() - started:.0f} s; "
         + (f"{len(fresh)} designs synthesized, the rest cached.)" if fresh else "every synthesis cached.)")),
    ]
    atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
