"""Measure the parts the resource model composes, and write them to ``accelsim/hw/calibration.py``.

The analytical model (``accelsim/hw/resources.py``) builds a PE unit from its taps, its adder
tree and (KRP) its row select, and the array from units, column adder trees and accumulators. The
LUT and CARRY4 counts of those parts come from synthesizing each part alone with Yosys over a grid
of its own widths; never from the units, arrays or cores the model is validated on. The model
takes the flip-flops of these parts from the RTL's registers, except inside the parts that own
their registers (accumulator, requantization lane), and DSP48s and BRAM from Yosys's rules
(multiplier split, memory mapping).

Parts: ``pe_tap`` of the RTL library for each tap kind (shift, LUT multiplier, DSP multiplier),
the sums ``calib_sum`` (the adder loops of ``pe_unit.v``, with the shift taps' negation bits, and
``pe_array.v``), the KRP row select ``calib_select``, one accumulator ``calib_accumulate``
(``accelsim/synth/verilog``) and one requantization lane ``requant``. The core's other modules
(:data:`~accelsim.hw.resources.INFRASTRUCTURE_PARTS`) are measured in place: the whole core,
hierarchical as it is synthesized (``Design.CORE``), with the PE array and the requantization
lanes black boxes, at the :data:`INFRASTRUCTURE_POINTS`; each module's cells come from the
hierarchy's statistics, less its buffer RAMs and the flip-flops the model declares from the RTL
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
    pe_widths,
    product_bits_of,
    shift_bits_of,
)
from .cells import CellCounts
from .sources import closure
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
#: The PE arrays (kind, tn, tm, weight bits) and DDR beats (bytes) the core's other modules are
#: measured at: 4 x 2, 8 x 4 and 16 x 8 KRP arrays at 8 and 32 bytes per cycle (the grid), and a
#: dense 4 x 2 array at 8 bytes (its wider weight items: the datapath's item multiplexers).
INFRASTRUCTURE_POINTS = tuple((PeKind.KRP_GSNQ, tn, tm, 4, beat) for beat in (8, 32)
                              for tn, tm in ((4, 2), (8, 4), (16, 8))) + ((PeKind.GSNQ_SHIFT, 4, 2, 4, 8),)
#: The core's modules, black boxes in the infrastructure measurement (measured on their own).
ARRAY_MODULES = ("pe_array", "requant")
#: The RTL modules of each infrastructure part (each with its sub-modules); the datapath's logic is
#: ``pe_datapath`` with its vector lanes, the array and the requantization lanes being black boxes.
PART_MODULES = {
    "controller": "controller", "ddr_arbiter": "ddr_arbiter", "dma_load_in": "dma_load_in",
    "dma_load_w": "dma_load_w", "dma_store": "dma_store", "datapath_logic": "pe_datapath",
    "input_buffer_logic": "input_buffer", "weight_buffer_logic": "weight_buffer",
    "output_buffer_logic": "output_buffer",
}
#: Per mille, so the table holds integers: LUTs per 1000 weight-item bits of the datapath.
ITEM_LUTS_PART = "datapath_item_luts"

Counts = tuple[int, int, int, int]


@dataclass(frozen=True)
class Part:
    """One calibration measurement of a PE part: the part, its grid key, and the module to synthesize."""

    part: str
    key: tuple[int, ...]
    target: SynthTarget


def _calibration_target(top: str, **parameters: int) -> SynthTarget:
    return SynthTarget(top, tuple(parameters.items()), closure(top, CALIBRATION_VERILOG))


def infrastructure_config(kind: PeKind, tn: int, tm: int, weight_bits: int, beat: int) -> HwConfig:
    """The default configuration with a ``tn x tm`` array of ``kind``, ``weight_bits`` and a DDR beat
    of ``beat`` bytes (no fit check)."""
    base = HwConfig()
    return dataclasses.replace(base, weight_bits=weight_bits,
                               pe=dataclasses.replace(base.pe, kind=kind, tn=tn, tm=tm),
                               ddr=dataclasses.replace(base.ddr, bytes_per_cycle=beat))


def infrastructure_target(config: HwConfig) -> SynthTarget:
    """``accel_core`` of ``config``, hierarchical as the core is, the PE array and requantization lanes
    black boxes: everything else, each module in its place."""
    return dataclasses.replace(synth_target(config, Design.CORE), black_boxes=ARRAY_MODULES)


def pe_parts() -> Iterator[Part]:
    """Every PE-side measurement of the calibration grid."""
    for name, mult, dsp_allowed in TAP_KINDS:
        for w in TAP_WEIGHT_BITS:
            for a in TAP_ACT_BITS:
                kind = PeKind.MULT_DSP if mult else PeKind.GSNQ_SHIFT
                params = {"MULT": mult, "A": a, "W": w, "SHIFT_W": shift_bits_of(w),
                          "PROD_W": product_bits_of(kind, a, w)}
                yield Part(name, (a, w), SynthTarget("pe_tap", tuple(params.items()), use_dsp=dsp_allowed))
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
    for acc in ACC_BITS:
        for a in REQUANT_ACT_BITS:
            yield Part("requant", (acc, a), SynthTarget("requant", (("ACC_W", acc), ("A", a))))


def _counts(cells: CellCounts) -> Counts:
    return cells.lut, cells.ff, cells.carry, cells.dsp


def infrastructure_parts(config: HwConfig, modules: dict[str, CellCounts]) -> dict[str, Counts]:
    """(LUT, FF, CARRY4, DSP48) of each infrastructure part in one measured core, each less its buffer
    RAMs (Yosys's mapping, counted by the model apart) and the flip-flops the model declares."""
    memories = {f"{group.name}_buffer_logic": group.resources for group in buffer_memories(config)}
    parts: dict[str, Counts] = {}
    for part in INFRASTRUCTURE_PARTS:
        if part == "core_glue":
            continue
        lut, ff, carry, dsp = _counts(modules.get(PART_MODULES[part], CellCounts()))
        if part in memories:
            lut, ff = lut - memories[part].lut, ff - memories[part].ff
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
    flip-flops; :data:`ITEM_LUTS_PART` holds the datapath's LUTs per 1000 item bits, from the dense
    point against the KRP point of the same array.
    """
    table: dict[str, dict[tuple[int, ...], Counts]] = {}
    for item in pe_parts():
        result = runner.synthesize(item.target)
        table.setdefault(item.part, {})[item.key] = _counts(result.counts)
        progress(f"{item.part} {item.key}: {result.lut} LUT, {result.carry} CARRY4, {result.dsp} DSP"
                 f"{' (cached)' if result.cached else f' ({result.seconds:.1f} s)'}")
    krp_datapath: dict[tuple[int, int], tuple[int, int]] = {}
    for kind, tn, tm, weight_bits, beat in INFRASTRUCTURE_POINTS:
        config = infrastructure_config(kind, tn, tm, weight_bits, beat)
        result = runner.synthesize(infrastructure_target(config))
        parts = infrastructure_parts(config, dict(result.modules))
        item_bits = tn * tm * pe_widths(config).item
        progress(f"infrastructure {kind.value} {tn}x{tm} beat {beat}: "
                 + ", ".join(f"{part} {counts[0]} LUT / {counts[1]} FF" for part, counts in parts.items())
                 + (" (cached)" if result.cached else f" ({result.seconds:.1f} s)"))
        if kind is PeKind.KRP_GSNQ:
            krp_datapath[(tn, beat)] = (parts["datapath_logic"][0], item_bits)
            for part, counts in parts.items():
                table.setdefault(part, {})[infrastructure_key(config, part)] = counts
            continue
        krp_luts, krp_bits = krp_datapath[(tn, beat)]
        per_mille = round(1000 * (parts["datapath_logic"][0] - krp_luts) / (item_bits - krp_bits))
        table[ITEM_LUTS_PART] = {(1,): (per_mille, 0, 0, 0)}
        progress(f"datapath: {per_mille / 1000:.3f} LUT per weight-item bit")
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
        "act_bits); accumulate (acc_bits,); requant (acc_bits, act_bits); the core's other modules",
        "(size, DDR beat bits) of ``accelsim.hw.resources.infrastructure_key``, their FF less the declared",
        "ones; datapath_item_luts (1,): LUTs per 1000 weight-item bits.",
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
