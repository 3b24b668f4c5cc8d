"""Measure the parts the resource model composes, and write them to ``accelsim/hw/calibration.py``.

The analytical model (``accelsim/hw/resources.py``) builds a PE unit from its taps, its adder
tree and (KRP) its row select, and the array from units, column adder trees and accumulators. The
LUT and CARRY4 counts of those parts come from synthesizing each part alone with Yosys over a grid
of its own widths; never from the units, arrays or cores the model is validated on. The model
takes the flip-flops of these parts from the RTL's registers, except inside the parts that own
their registers (accumulator, requantization lane), and DSP48s and BRAM from Yosys's rules
(multiplier split, memory mapping).

Parts (``accelsim/synth/verilog``): one tap of each kind (``pe_tap`` of the RTL library: shift, LUT
multiplier, DSP multiplier) with its product register (``calib_tap``: as in the unit, where the
register takes part of the tap's last level), the tap groups ``calib_group`` (``n`` registered
fabric taps and their adder tree in one module, at tap counts no unit has: ABC maps a module for
its deepest path and recovers area elsewhere, so the model reads a unit's taps off these groups,
less the tree measured alone), the sums ``calib_sum`` (a registered ``pe_tree``: the unit's adder tree,
with the shift taps' negation bits, and the loop of ``pe_column.v``), the KRP row select with
its operand register ``calib_select``, one accumulator ``calib_accumulate`` and one
requantization lane ``requant`` (also with ``-nodsp``, as a ``mult_lut`` core is synthesized: its
multiplier in LUTs). The core's other modules (:data:`~accelsim.hw.resources.INFRASTRUCTURE_PARTS`)
are measured in place: the whole core,
hierarchical as it is synthesized (``Design.CORE``), with the PE array a black box, at the
:data:`INFRASTRUCTURE_POINTS`; each module's cells come from the hierarchy's statistics, less its
buffer RAMs and the flip-flops the model declares from the RTL
(:func:`~accelsim.hw.resources.declared_ff`). ``python validation/calibrate_resources.py``
regenerates the table after the RTL changes (cached per design).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..hw.config import HwConfig, PeKind
from ..hw.resources import (
    INFRASTRUCTURE_PARTS,
    buffer_memories,
    declared_ff,
    infrastructure_key,
    product_bits_of,
    shift_bits_of,
)
from .cells import CellCounts
from .sources import closure, rtl_library
from .targets import Design, synth_target
from .yosys import SynthTarget, Yosys

#: Folder of the calibration-only Verilog parts.
CALIBRATION_VERILOG = Path(__file__).parent / "verilog"
#: Activation and weight widths the tap parts are measured at.
TAP_ACT_BITS = (4, 6, 8, 10, 12, 14, 16)
TAP_WEIGHT_BITS = (2, 3, 4, 5)
#: Operand counts and widths of the sums (a unit's taps, a column's ``tm`` unit sums).
SUM_OPERANDS = (2, 3, 4, 8, 9, 16, 32)
SUM_BITS = (10, 14, 18, 22, 26)
#: Rows of the KRP select (``kernel_max``) and activation widths.
SELECT_ROWS = (2, 3, 4, 5, 7)
SELECT_ACT_BITS = (4, 8, 16)
#: Accumulator widths; requantization lanes (accumulator x activation widths).
ACC_BITS = (16, 24, 32, 48)
ACCUMULATE_ADDEND_BITS = 27
REQUANT_ACT_BITS = (4, 8, 16)
#: Tap kinds: (part name, pe_tap MULT, Yosys may use DSP48s).
TAP_KINDS = (("tap_shift", 0, True), ("tap_mult_lut", 1, False), ("tap_mult_dsp", 1, True))
#: Tap groups (``calib_group``: ``n`` registered taps and their adder tree in one module) of the
#: fabric tap kinds: (part name, pe_tap MULT, Yosys may use DSP48s), and the tap counts and
#: activation widths they are measured at. A unit's 3 (KRP) or 9 (dense) taps are not among the
#: counts: the model interpolates in the count.
GROUP_KINDS = (("group_shift", 0, True), ("group_mult_lut", 1, False))
GROUP_TAPS = (2, 4, 8, 16)
GROUP_ACT_BITS = (4, 6, 8, 12, 16)
#: The KRP arrays (tn, tm) and DDR beats (bytes) the core's other modules are measured at: 4 x 2,
#: 8 x 4 and 16 x 8 arrays at 8 and 32 bytes per cycle, and a 32 x 8 array at 8 bytes (the large
#: arrays of a parallelism-gain search). The PE kind changes nothing in these modules but the
#: width of the weight items, whose registers the model declares (their multiplexer between a
#: full item and a 1x1 code becomes the registers' synchronous reset).
INFRASTRUCTURE_POINTS = tuple((tn, tm, beat) for beat in (8, 32) for tn, tm in ((4, 2), (8, 4), (16, 8))) + (
    (32, 8, 8),)
#: The core's module that is a black box in the infrastructure measurement (composed from its parts).
ARRAY_MODULES = ("pe_array",)
#: The RTL modules of each infrastructure part (each with its sub-modules); the datapath's logic is
#: ``pe_datapath`` with its vector lanes, less the requantization lanes (the array is a black box).
PART_MODULES = {
    "controller": "controller", "ddr_arbiter": "ddr_arbiter", "dma_load_in": "dma_load_in",
    "dma_load_w": "dma_load_w", "dma_store": "dma_store", "datapath_logic": "pe_datapath",
    "input_buffer_logic": "input_buffer", "weight_buffer_logic": "weight_buffer",
    "output_buffer_logic": "output_buffer",
}

Counts = tuple[int, int, int, int]


@dataclass(frozen=True)
class Part:
    """One calibration measurement of a PE part: the part, its grid key, and the module to synthesize."""

    part: str
    key: tuple[int, ...]
    target: SynthTarget


def _calibration_target(top: str, use_dsp: bool = True, **parameters: int) -> SynthTarget:
    """A calibration wrapper ``top`` with the RTL library's modules it is built of."""
    return SynthTarget(top, tuple(parameters.items()), closure(top, CALIBRATION_VERILOG, rtl_library()),
                       use_dsp=use_dsp)


def infrastructure_config(tn: int, tm: int, beat: int) -> HwConfig:
    """The default configuration with a ``tn x tm`` array and a DDR beat of ``beat`` bytes (no fit check)."""
    base = HwConfig()
    return dataclasses.replace(base, pe=dataclasses.replace(base.pe, tn=tn, tm=tm),
                               ddr=dataclasses.replace(base.ddr, bytes_per_cycle=beat))


def infrastructure_target(config: HwConfig) -> SynthTarget:
    """``accel_core`` of ``config``, hierarchical as the core is, the PE array a black box: everything
    else, each module in its place."""
    return dataclasses.replace(synth_target(config, Design.CORE), black_boxes=ARRAY_MODULES)


def pe_parts() -> Iterator[Part]:
    """Every PE-side measurement of the calibration grid."""
    for name, mult, dsp_allowed in TAP_KINDS:
        for w in TAP_WEIGHT_BITS:
            for a in TAP_ACT_BITS:
                kind = PeKind.MULT_DSP if mult else PeKind.GSNQ_SHIFT
                params = {"MULT": mult, "A": a, "W": w, "SHIFT_W": shift_bits_of(w),
                          "PROD_W": product_bits_of(kind, a, w)}
                yield Part(name, (a, w), _calibration_target("calib_tap", dsp_allowed, **params))
    for name, mult, dsp_allowed in GROUP_KINDS:
        for n in GROUP_TAPS:
            for w in TAP_WEIGHT_BITS:
                for a in GROUP_ACT_BITS:
                    kind = PeKind.MULT_LUT if mult else PeKind.GSNQ_SHIFT
                    params = {"MULT": mult, "N": n, "A": a, "W": w, "SHIFT_W": shift_bits_of(w),
                              "PROD_W": product_bits_of(kind, a, w)}
                    yield Part(name, (a, w, n), _calibration_target("calib_group", dsp_allowed, **params))
    for neg, name in ((0, "sum"), (1, "sum_neg")):
        for n in SUM_OPERANDS:
            for p in SUM_BITS:
                yield Part(name, (n, p), _calibration_target("calib_sum", N=n, P=p, NEG=neg))
    for a in SELECT_ACT_BITS:
        for k in SELECT_ROWS:
            yield Part("select", (k, a), _calibration_target("calib_select", K=k, A=a))
    for acc in ACC_BITS:
        yield Part("accumulate", (acc,), _calibration_target("calib_accumulate", S=ACCUMULATE_ADDEND_BITS,
                                                              ACC_W=acc))
    for name, use_dsp in (("requant", True), ("requant_lut", False)):
        for acc in ACC_BITS:
            for a in REQUANT_ACT_BITS:
                yield Part(name, (acc, a), SynthTarget("requant", (("ACC_W", acc), ("A", a)), use_dsp=use_dsp))


def _counts(cells: CellCounts) -> Counts:
    return cells.lut, cells.ff, cells.carry, cells.dsp


def infrastructure_parts(config: HwConfig, modules: dict[str, CellCounts]) -> dict[str, Counts]:
    """(LUT, FF, CARRY4, DSP48) of each infrastructure part in one measured core, each less its buffer
    RAMs (Yosys's mapping, counted by the model apart) and the flip-flops the model declares (the
    datapath also less its requantization lanes, a part of their own)."""
    memories = {f"{group.name}_buffer_logic": group.resources for group in buffer_memories(config)}
    lanes = _counts(modules["requant"])
    parts: dict[str, Counts] = {}
    for part in INFRASTRUCTURE_PARTS:
        if part == "core_glue":
            continue
        lut, ff, carry, dsp = _counts(modules.get(PART_MODULES[part], CellCounts()))
        if part in memories:
            lut, ff = lut - memories[part].lut, ff - memories[part].ff
        if part == "datapath_logic":
            lut, ff, carry, dsp = (lut - lanes[0], ff - lanes[1], carry - lanes[2], dsp - lanes[3])
        parts[part] = (lut, ff - declared_ff(config, part), carry, dsp)
    top = _counts(modules["accel_core"])
    glue = [top[i] - sum(_counts(modules.get(PART_MODULES[part], CellCounts()))[i] for part in PART_MODULES)
            for i in range(4)]
    parts["core_glue"] = (glue[0], glue[1] - declared_ff(config, "core_glue"), glue[2], glue[3])
    return parts


def measure(runner: Yosys, progress: Callable[[str], None] = lambda line: None
            ) -> tuple[dict[str, dict[tuple[int, ...], Counts]], str]:
    """``{part: {key: (lut, ff, carry, dsp)}}`` over the grid, and the Yosys banner.

    Infrastructure parts hold, per (size, beat bits), the measured counts less the declared
    flip-flops.
    """
    table: dict[str, dict[tuple[int, ...], Counts]] = {}
    for item in pe_parts():
        result = runner.synthesize(item.target)
        table.setdefault(item.part, {})[item.key] = _counts(result.counts)
        progress(f"{item.part} {item.key}: {result.lut} LUT, {result.carry} CARRY4, {result.dsp} DSP"
                 f"{' (cached)' if result.cached else f' ({result.seconds:.1f} s)'}")
    for tn, tm, beat in INFRASTRUCTURE_POINTS:
        config = infrastructure_config(tn, tm, beat)
        result = runner.synthesize(infrastructure_target(config))
        parts = infrastructure_parts(config, dict(result.modules))
        progress(f"infrastructure {tn}x{tm} beat {beat}: "
                 + ", ".join(f"{part} {counts[0]} LUT / {counts[1]} FF" for part, counts in parts.items())
                 + (" (cached)" if result.cached else f" ({result.seconds:.1f} s)"))
        for part, counts in parts.items():
            table.setdefault(part, {})[infrastructure_key(config, part)] = counts
    return table, runner.tool.banner


def render(table: dict[str, dict[tuple[int, ...], Counts]], banner: str) -> str:
    """The Python source of ``accelsim/hw/calibration.py``."""
    lines = [
        '"""Measured LUT, FF, CARRY4 and DSP48 counts of the parts of the resource model (generated; do not edit).',
        "",
        f"Made by ``python validation/calibrate_resources.py`` with {banner}",
        "(``synth_xilinx -family xc7``; PE parts ``-flatten``, the core's other modules in place in the",
        "hierarchical core); what each part is: ``accelsim/synth/calibrate.py``.",
        "Keys: tap_* (act_bits, weight_bits); sum, sum_neg (operands, operand bits); select (kernel_max,",
        "act_bits); accumulate (acc_bits,); requant, requant_lut (acc_bits, act_bits); the core's",
        "other modules (size, DDR beat bits) of ``accelsim.hw.resources.infrastructure_key``, their FF less",
        "the declared ones.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"YOSYS = {banner!r}",
        "",
        "#: part -> grid key -> (LUT, FF, CARRY4, DSP48)",
        "PARTS: dict[str, dict[tuple[int, ...], tuple[int, int, int, int]]] = {",
    ]
    for part, entries in table.items():
        lines.append(f"    {part!r}: {{")
        lines += [f"        {key!r}: {value!r}," for key, value in sorted(entries.items())]
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"
