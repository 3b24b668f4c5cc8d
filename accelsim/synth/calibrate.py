"""Measure the parts the resource model composes, and write them to ``accelsim/hw/calibration.py``.

The analytical model (``accelsim/hw/resources.py``) builds a PE unit from its taps, its adder
tree and (KRP) its row select, and the array from units, column adder trees and accumulators. The
LUT and CARRY4 counts of those parts come from synthesizing each part alone with Yosys over a grid
of its own widths; never from the units, arrays or cores the model is validated on. The model
takes flip-flops from the structure (the RTL's registers), except inside the parts that own their
registers (accumulator, requantization lane), and DSP48s and BRAM from Yosys's rules (multiplier
split, memory mapping), so the table's FF counts of the other parts are zero or unused.

Parts: ``pe_tap`` of the RTL library for each tap kind (shift, LUT multiplier, DSP multiplier),
the sums ``calib_sum`` (the adder loops of ``pe_unit.v`` / ``pe_array.v``), the KRP row select
``calib_select``, one accumulator ``calib_accumulate`` (``accelsim/synth/verilog``) and one
requantization lane ``requant``; and the core's other modules (controller, DMA engines, DDR
arbiter, the buffers' write logic, the datapath's sequencer and vector lanes), each measured in
place in ``accel_core`` (:func:`control_parts`). ``python validation/calibrate_resources.py``
(about 25 minutes on one core; cached) regenerates the table after the RTL changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..hw.config import HwConfig, PeKind
from ..hw.resources import buffer_memories, control_keys, product_bits_of, shift_bits_of
from .sources import closure
from .targets import Design, synth_target
from .yosys import SynthesisResult, SynthTarget, Yosys

#: Folder of the calibration-only Verilog parts.
CALIBRATION_VERILOG = Path(__file__).parent / "verilog"
#: Activation and weight widths the tap parts are measured at.
TAP_ACT_BITS = (4, 6, 8, 10, 12, 14, 16)
TAP_WEIGHT_BITS = (2, 3, 4, 5)
#: Operand counts and widths of the sums (the unit's taps, the column's ``tm``).
SUM_OPERANDS = (2, 3, 4, 5, 8, 9, 16, 32)
SUM_BITS = (12, 16, 23, 31)
#: Rows of the KRP select (``kernel_max``) and activation widths.
SELECT_ROWS = (2, 3, 4, 5, 7)
SELECT_ACT_BITS = (4, 8, 16)
#: Accumulator widths; requantization lanes (accumulator x activation widths).
ACC_BITS = (16, 24, 32, 48)
ACCUMULATE_ADDEND_BITS = 27
REQUANT_ACT_BITS = (4, 8, 16)
#: Tap kinds: (part name, pe_tap MULT, USE_DSP, Yosys may use DSP48s).
TAP_KINDS = (("tap_shift", 0, 0, True), ("tap_mult_lut", 1, 0, False), ("tap_mult_dsp", 1, 1, True))
#: The core's other modules are measured at these PE arrays (kind, tn, tm, weight bits) of the
#: default configuration: two sizes, and dense kinds and other weight widths for the parts that
#: scale with the weight word.
CONTROL_ARRAYS = ((PeKind.KRP_GSNQ, 4, 2, 4), (PeKind.KRP_GSNQ, 8, 4, 4), (PeKind.GSNQ_SHIFT, 4, 2, 4),
                  (PeKind.GSNQ_SHIFT, 4, 2, 2), (PeKind.KRP_GSNQ, 4, 2, 2))
#: Control parts measured at every array of CONTROL_ARRAYS (the others at the first two).
WEIGHT_WORD_PARTS = ("dma_load_w", "weight_buffer")


@dataclass(frozen=True)
class Part:
    """One calibration measurement: the part, its grid key, and the module to synthesize.

    ``minus`` are synthesized too and their counts subtracted (the PE array and requantization
    lanes inside ``pe_datapath``, with their multiplicity); ``minus_memories`` are the LUT and FF
    of a buffer's RAMs (their own part of the model), subtracted from the buffer module.
    """

    part: str
    key: tuple[int, ...]
    target: SynthTarget
    minus: tuple[tuple[SynthTarget, int], ...] = ()
    minus_memories: tuple[int, int] = (0, 0)


def _calibration_target(top: str, **parameters: int) -> SynthTarget:
    return SynthTarget(top, tuple(parameters.items()), closure(top, CALIBRATION_VERILOG))


#: The modules ``accel_core`` instantiates, in the model's parts (``CONTROL_PARTS``, ``BUFFER_LOGIC_PARTS``).
CORE_MODULES = ("controller", "ddr_arbiter", "dma_load_in", "input_buffer", "dma_load_w", "weight_buffer",
                "pe_datapath", "output_buffer", "dma_store")


def in_core_target(config: HwConfig, module: str | None) -> SynthTarget:
    """``accel_core`` of ``config``, hierarchical, with every module but ``module`` a black box (all of
    them for ``None``: the core's own registers and glue)."""
    core = synth_target(config, Design.CORE)
    return dataclasses.replace(core, black_boxes=tuple(name for name in CORE_MODULES if name != module))


def control_config(kind: PeKind, tn: int, tm: int, weight_bits: int) -> HwConfig:
    """The default configuration with a ``tn x tm`` array of ``kind`` and ``weight_bits`` (no fit check)."""
    base = HwConfig()
    return dataclasses.replace(base, weight_bits=weight_bits,
                               pe=dataclasses.replace(base.pe, kind=kind, tn=tn, tm=tm))


def control_parts() -> Iterator[Part]:
    """The core's modules other than the PE array, requantization lanes and buffer RAMs.

    Each module is measured in its place: ``accel_core`` synthesized hierarchically, as the core is
    (``Design.CORE``), with every other module a black box, less the core's own glue (all modules
    black boxes; its own part). Synthesized alone as a top, a module can come out differently (the
    datapath's address multipliers: 19 DSP48 as a top, 13 inside the core), and flattened alone
    it loses up to a third of the LUTs its RAM sub-modules keep in the hierarchy (the default input
    buffer: 31.9k flattened, 51.9k in place).
    """
    for index, (kind, tn, tm, weight_bits) in enumerate(CONTROL_ARRAYS):
        config = control_config(kind, tn, tm, weight_bits)
        keys = control_keys(config)
        memories = {group.name: group for group in buffer_memories(config)}
        glue = in_core_target(config, None)
        if index < 2:
            yield Part("core_glue", keys["core_glue"], glue)
        for module in CORE_MODULES:
            if index >= 2 and module not in WEIGHT_WORD_PARTS:
                continue
            part_name = module.removesuffix("_buffer") + "_buffer_logic" if module.endswith("_buffer") else module
            minus: tuple[tuple[SynthTarget, int], ...] = ((glue, 1),)
            minus_memories = (0, 0)
            if module == "pe_datapath":
                part_name = "datapath_logic"
                minus += ((synth_target(config, Design.ARRAY), 1), (synth_target(config, Design.REQUANT), tn))
            if module.endswith("_buffer"):
                group = memories[module.removesuffix("_buffer")]
                minus_memories = (group.resources.lut, group.resources.ff)
            yield Part(part_name, keys[part_name], in_core_target(config, module), minus, minus_memories)


def parts() -> Iterator[Part]:
    """Every measurement of the calibration grid."""
    for name, mult, use_dsp, dsp_allowed in TAP_KINDS:
        for w in TAP_WEIGHT_BITS:
            for a in TAP_ACT_BITS:
                params = {"MULT": mult, "USE_DSP": use_dsp, "A": a, "W": w, "SHIFT_W": shift_bits_of(w),
                          "PROD_W": product_bits_of(a, w)}
                yield Part(name, (a, w), SynthTarget("pe_tap", tuple(params.items()), use_dsp=dsp_allowed))
    for n in SUM_OPERANDS:
        for p in SUM_BITS:
            yield Part("sum", (n, p), _calibration_target("calib_sum", N=n, P=p))
    for a in SELECT_ACT_BITS:
        for k in SELECT_ROWS:
            yield Part("select", (k, a), _calibration_target("calib_select", K=k, A=a))
    for acc in ACC_BITS:
        yield Part("accumulate", (acc,), _calibration_target("calib_accumulate", S=ACCUMULATE_ADDEND_BITS,
                                                              ACC_W=acc))
    for acc in ACC_BITS:
        for a in REQUANT_ACT_BITS:
            yield Part("requant", (acc, a), SynthTarget("requant", (("ACC_W", acc), ("A", a))))
    yield from control_parts()


def measure(runner: Yosys, progress: Callable[[str], None] = lambda line: None
            ) -> tuple[dict[str, dict[tuple[int, ...], tuple[int, int, int, int]]], str]:
    """``{part: {key: (lut, ff, carry, dsp)}}`` over the grid, and the Yosys banner."""
    table: dict[str, dict[tuple[int, ...], tuple[int, int, int, int]]] = {}
    for item in parts():
        result = runner.synthesize(item.target)
        counts = _minus(result, item, runner)
        table.setdefault(item.part, {})[item.key] = counts
        progress(f"{item.part} {item.key}: {counts[0]} LUT, {counts[1]} FF, {counts[2]} CARRY4, {counts[3]} DSP"
                 f"{' (cached)' if result.cached else f' ({result.seconds:.1f} s)'}")
    return table, runner.tool.banner


def _minus(result: SynthesisResult, item: Part, runner: Yosys) -> tuple[int, int, int, int]:
    """(LUT, FF, CARRY4, DSP) of ``result`` less the part's subtracted designs and memories."""
    lut, ff, carry, dsp = result.lut - item.minus_memories[0], result.ff - item.minus_memories[1], result.carry, result.dsp
    for target, count in item.minus:
        other = runner.synthesize(target)
        lut, ff, carry, dsp = (lut - count * other.lut, ff - count * other.ff, carry - count * other.carry,
                               dsp - count * other.dsp)
    return lut, ff, carry, dsp


def render(table: dict[str, dict[tuple[int, ...], tuple[int, int, int, int]]], banner: str) -> str:
    """The Python source of ``accelsim/hw/calibration.py``."""
    lines = [
        '"""Measured LUT, FF, CARRY4 and DSP48 counts of the parts of the resource model (generated; do not edit).',
        "",
        f"Made by ``python validation/calibrate_resources.py`` with {banner}",
        "(``synth_xilinx -family xc7``, ``-flatten``; the core's modules in place in the hierarchical core);",
        "what each part is: ``accelsim/synth/calibrate.py``.",
        "Keys: tap_* (act_bits, weight_bits); sum (operands, operand bits); select (kernel_max,",
        "act_bits); accumulate (acc_bits,); requant (acc_bits, act_bits); the core's other modules:",
        "the structural size of ``accelsim.hw.resources.control_keys`` (e.g. a buffer's crossbar bits).",
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
