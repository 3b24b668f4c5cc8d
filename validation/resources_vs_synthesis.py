"""The analytical resource model against Yosys, over configurations the model was not calibrated on.

Usage: ``python validation/resources_vs_synthesis.py [--quick] [--out validation/resources_vs_synthesis.md]``

The model's LUT and CARRY4 come from parts (taps, adder trees, row select, accumulator,
requantization lane, the core's control modules) measured alone by
``validation/calibrate_resources.py``; this script synthesizes whole PE units, PE arrays, buffer
memories and accelerator cores instead and reports the model's error per resource. Targets:
within 10% on LUT and FF, exact on DSP48 and BRAM36. Results are cached
(``accelsim.synth.cache``), so a rerun only synthesizes what changed. ``--quick`` skips the
largest designs (the dense 8 x 4 arrays and the cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accelsim.hw import HwConfig, PeKind, estimate_resources
from accelsim.hw.memories import Memory, map_memory
from accelsim.outputs import atomic_write_bytes
from accelsim.synth import SynthTarget, Yosys
from accelsim.synth.targets import Design, synth_target

OUT = Path(__file__).with_suffix(".md")
COLUMNS = ("lut", "ff", "dsp", "bram36")


@dataclass(frozen=True)
class Point:
    """One validation design: a configuration and the design synthesized from it."""

    design: Design
    kind: PeKind
    tn: int = 8
    tm: int = 4
    weight_bits: int = 4
    act_bits: int = 8
    large: bool = False

    def config(self) -> HwConfig:
        base = HwConfig()
        pe = dataclasses.replace(base.pe, kind=self.kind, tn=self.tn, tm=self.tm)
        return dataclasses.replace(base, pe=pe, weight_bits=self.weight_bits, act_bits=self.act_bits)

    def label(self) -> str:
        shape = f"{self.tn}x{self.tm} " if self.design is not Design.UNIT else ""
        return f"{self.design.value} {self.kind.value} {shape}a{self.act_bits} w{self.weight_bits}"


KINDS = tuple(PeKind)
#: Units of every kind at 3 and 4 bits, and other widths; arrays of several shapes; two cores.
POINTS: tuple[Point, ...] = (
    *(Point(Design.UNIT, kind, weight_bits=w) for kind in KINDS for w in (4, 3)),
    Point(Design.UNIT, PeKind.KRP_GSNQ, act_bits=12), Point(Design.UNIT, PeKind.GSNQ_SHIFT, act_bits=6),
    Point(Design.UNIT, PeKind.KRP_GSNQ, weight_bits=5), Point(Design.UNIT, PeKind.MULT_DSP, weight_bits=2),
    *(Point(Design.ARRAY, kind, weight_bits=w, large=kind in (PeKind.MULT_LUT, PeKind.GSNQ_SHIFT))
      for kind in KINDS for w in (4, 3)),
    Point(Design.ARRAY, PeKind.KRP_GSNQ, 4, 2, 3), Point(Design.ARRAY, PeKind.GSNQ_SHIFT, 2, 2, 4),
    Point(Design.ARRAY, PeKind.MULT_LUT, 2, 2, 3), Point(Design.ARRAY, PeKind.KRP_GSNQ, 2, 16, 4),
    Point(Design.ARRAY, PeKind.MULT_DSP, 4, 8, 3), Point(Design.ARRAY, PeKind.KRP_GSNQ, 16, 1, 4),
    Point(Design.CORE, PeKind.KRP_GSNQ, large=True),
    Point(Design.CORE, PeKind.GSNQ_SHIFT, 4, 4, 3, large=True),
)
#: Buffer-shaped memories (item bits, items, depth) the model's Yosys mapping is checked on.
MEMORIES = tuple((item, items, depth) for item, items in ((8, 1), (8, 8), (14, 4), (36, 4), (8, 4), (12, 16))
                 for depth in (32, 64, 128, 256, 512, 1024, 2048))


def _model(point: Point):
    estimate = estimate_resources(point.config())
    return {Design.UNIT: estimate.pe_unit, Design.ARRAY: estimate.pe_array, Design.CORE: estimate.total}[point.design]


def _error(model: float, measured: float) -> str:
    if measured == 0:
        return "exact" if model == 0 else f"+{model:g}"
    value = 100 * (model - measured) / measured
    return "exact" if model == measured else f"{value:+.1f}%"


def _designs(runner: Yosys, points: Iterable[Point]) -> tuple[list[str], dict[str, float]]:
    rows, worst = [], {key: 0.0 for key in COLUMNS}
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
    return rows, worst


def _core_parts(points: Iterable[Point]) -> list[str]:
    """The model's LUT / FF / DSP48 / BRAM36 of each core, by part (what dominates)."""
    rows = []
    for point in points:
        if point.design is not Design.CORE:
            continue
        estimate = estimate_resources(point.config())
        for name in ("pe_array", "requant", "buffers", "control"):
            part = getattr(estimate, name)
            share = 100 * part.lut / estimate.total.lut if estimate.total.lut else 0.0
            rows.append(f"| {point.label()} | {name} | {part.lut:,} ({share:.0f}%) | {part.ff:,} | {part.dsp} | "
                        f"{part.bram36:g} |")
    return rows


def _memories(runner: Yosys) -> tuple[list[str], int]:
    rows, wrong = [], 0
    for item, items, depth in MEMORIES:
        address = max(1, (depth - 1).bit_length())
        target = SynthTarget("sdp_ram", (("ITEM_W", item), ("ITEMS", items), ("DEPTH", depth), ("ADDR_W", address)))
        result = runner.synthesize(target)
        mapping = map_memory(Memory(item * items, depth, items))
        model_bram36 = mapping.bram18 / 2
        ok = model_bram36 == result.bram36
        wrong += not ok
        rows.append(f"| {item * items} x {depth} ({items} item{'s' if items > 1 else ''}) | {mapping.primitive} | "
                    f"{model_bram36:g} | {result.bram36:g} | {'yes' if ok else 'NO'} |")
    return rows, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the largest designs")
    parser.add_argument("--out", type=Path, default=OUT, help=f"markdown report (default {OUT})")
    args = parser.parse_args(argv)
    runner = Yosys()
    points = [point for point in POINTS if not (args.quick and point.large)]
    design_rows, worst = _designs(runner, points)
    memory_rows, wrong = _memories(runner)
    lines = [
        "# Resource model against Yosys",
        "",
        (f"Made by `python validation/resources_vs_synthesis.py` with {runner.tool.banner}, `synth_xilinx "
         "-family xc7 -flatten` (`-nodsp` for mult_lut; cores hierarchical). The model's parts were measured "
         "separately (`validation/calibrate_resources.py`); no unit or array here is in that calibration. The "
         "core's other modules are measured in place (the core synthesized hierarchically, as here, with every "
         "other module a black box) at the 4 x 2 and 8 x 4 KRP arrays, the weight path also at 4 x 2 dense and "
         "2-bit arrays, so the default (8 x 4 KRP) core tests the composition; the 4 x 4 gsnq_shift 3-bit core "
         "also the interpolation."),
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
        "## The cores by part (model)",
        "",
        ("`buffers`: the RAMs and the write crossbars of the input, weight and output buffers; `control`: "
         "controller, DMA engines, DDR arbiter, the datapath's sequencer, operand registers and vector lanes, "
         "and the core's own registers (docs/resources.md section 4)."),
        "",
        "| core | part | LUT (share) | FF | DSP48 | BRAM36 |",
        "|---|---|---|---|---|---|",
        *_core_parts(points),
        "",
        "## Buffer memories (`sdp_ram`): the model's Yosys mapping",
        "",
        "| memory | model's primitive | model BRAM36 | Yosys BRAM36 | same |",
        "|---|---|---|---|---|",
        *memory_rows,
        "",
        f"{len(MEMORIES) - wrong} of {len(MEMORIES)} memories get Yosys's BRAM36 count exactly.",
    ]
    atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
