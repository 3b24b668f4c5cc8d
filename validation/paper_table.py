"""The KRP paper's resource table, from our RTL: one PE unit and the 32-unit module of each PE kind.

Usage: ``python validation/paper_table.py [--out validation/paper_table.md] [--no-gain]``

For each of the four PE kinds at 4- and 3-bit weights, synthesizes one PE unit (``pe_unit``) and
the 8 x 4 array (``pe_array``, the paper's 32-unit module) with Yosys, and prints them beside the
analytical model and the paper's Vivado figures (Sui et al., Sensors 2023, 23(2), 824), with the
ratios that carry the paper's claim: KRP + GSNQ against GSNQ-only LUTs (paper: 0.41 at 4 bits,
0.45 at 3 bits) and no DSP48 outside kind 1. Then the parallelism gain: within 50% of the
XC7Z035's LUTs, FFs and DSPs, how many units of each kind fit (refined model) and the simulated
VGG-16 and ResNet-56 latency of each. Synthesis results are cached.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from accelsim.hw import HwConfig, PeKind, estimate_resources
from accelsim.outputs import atomic_write_bytes
from accelsim.sim.gain import parallelism_gain
from accelsim.sim.sources import workload_network
from accelsim.synth import Yosys
from accelsim.synth.targets import Design, synth_target

OUT = Path(__file__).with_suffix(".md")
#: The paper's table (Vivado): (kind, bits) -> (unit LUT, unit FF, unit DSP, module LUT, module FF, module DSP).
PAPER = {
    (PeKind.MULT_DSP, 4): (375, 293, 9, 13438, 11463, 288),
    (PeKind.MULT_LUT, 4): (499, 257, 0, 16906, 9960, 0),
    (PeKind.GSNQ_SHIFT, 4): (397, 273, 0, 13917, 10824, 0),
    (PeKind.KRP_GSNQ, 4): (162, 165, 0, 5481, 6051, 0),
    (PeKind.MULT_DSP, 3): (250, 268, 9, 9430, 9938, 288),
    (PeKind.MULT_LUT, 3): (402, 226, 0, 13849, 9037, 0),
    (PeKind.GSNQ_SHIFT, 3): (263, 237, 0, 9500, 9348, 0),
    (PeKind.KRP_GSNQ, 3): (124, 134, 0, 4231, 4899, 0),
}
KIND_NUMBER = {PeKind.MULT_DSP: 1, PeKind.MULT_LUT: 2, PeKind.GSNQ_SHIFT: 3, PeKind.KRP_GSNQ: 4}
GAIN_BUDGET = 0.5
GAIN_WORKLOADS = ("vgg16", "resnet56")
#: What the budget holds: the PE array (the paper's comparison), then the whole accelerator.
GAIN_SCOPES = ("pe_array", "total")


def _config(kind: PeKind, bits: int) -> HwConfig:
    base = HwConfig()
    return dataclasses.replace(base, pe=dataclasses.replace(base.pe, kind=kind), weight_bits=bits)


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "-"


def resource_table(runner: Yosys) -> tuple[list[str], dict[tuple[PeKind, int], dict[str, object]]]:
    """Rows of the unit/module table and, per (kind, bits), our synthesized and modelled figures."""
    rows, figures = [], {}
    for bits in (4, 3):
        for kind in (PeKind.MULT_DSP, PeKind.MULT_LUT, PeKind.GSNQ_SHIFT, PeKind.KRP_GSNQ):
            config = _config(kind, bits)
            unit = runner.synthesize(synth_target(config, Design.UNIT))
            print(f"unit {kind.value} {bits} bits done", file=sys.stderr, flush=True)
            module = runner.synthesize(synth_target(config, Design.ARRAY))
            print(f"module {kind.value} {bits} bits done", file=sys.stderr, flush=True)
            estimate = estimate_resources(config)
            paper = PAPER[(kind, bits)]
            figures[(kind, bits)] = {"unit": unit, "module": module, "estimate": estimate, "paper": paper}
            rows.append(
                f"| {KIND_NUMBER[kind]}: {kind.value} | {bits} | {unit.lut:,} / {estimate.pe_unit.lut:,} / {paper[0]:,} | "
                f"{unit.ff:,} / {estimate.pe_unit.ff:,} / {paper[1]:,} | {unit.dsp} / {estimate.pe_unit.dsp} / {paper[2]} | "
                f"{module.lut:,} / {estimate.pe_array.lut:,} / {paper[3]:,} | {module.ff:,} / {estimate.pe_array.ff:,} / "
                f"{paper[4]:,} | {module.dsp} / {estimate.pe_array.dsp} / {paper[5]} |"
            )
    return rows, figures


def claim_rows(figures: dict[tuple[PeKind, int], dict[str, object]]) -> list[str]:
    """KRP + GSNQ against GSNQ-only, LUT and FF, unit and module: Yosys, model, paper."""
    rows = []
    for bits in (4, 3):
        krp, shift = figures[(PeKind.KRP_GSNQ, bits)], figures[(PeKind.GSNQ_SHIFT, bits)]
        for level, index, part in (("unit", 0, "pe_unit"), ("module", 3, "pe_array")):
            for resource, offset in (("LUT", 0), ("FF", 1)):
                attr = resource.lower()
                ours = _ratio(getattr(krp[level], attr), getattr(shift[level], attr))
                model = _ratio(getattr(getattr(krp["estimate"], part), attr), getattr(getattr(shift["estimate"], part), attr))
                paper = _ratio(krp["paper"][index + offset], shift["paper"][index + offset])
                rows.append(f"| {bits} | {level} | {resource} | {ours} | {model} | {paper} |")
    return rows


def gain_rows() -> list[str]:
    """The parallelism-gain table of each workload and budget scope (refined model, simulated latency)."""
    rows = []
    for name in GAIN_WORKLOADS:
        network = workload_network(name, seed=0, bits=4, act_bits=8)
        for scope in GAIN_SCOPES:
            for row in parallelism_gain(network, HwConfig(), GAIN_BUDGET, scope=scope):
                r = row.resources
                rows.append(f"| {name} | {scope} | {row.kind.value} | {row.tn} x {row.tm} | {row.units} | {r.lut:,} | "
                            f"{r.ff:,} | {r.dsp} | {r.bram36:g} | {row.limiting} | {row.cycles:,} | "
                            f"{row.latency_ms:.3f} | {row.speedup:.2f}x |")
        print(f"gain {name} done", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"markdown report (default {OUT})")
    parser.add_argument("--no-gain", action="store_true", help="skip the parallelism-gain simulations")
    args = parser.parse_args(argv)
    runner = Yosys()
    table, figures = resource_table(runner)
    dsp_free = all(figures[(kind, bits)][level].dsp == 0 for kind in PeKind if kind is not PeKind.MULT_DSP
                   for bits in (4, 3) for level in ("unit", "module"))
    lines = [
        "# The paper's resource table from our RTL",
        "",
        f"Made by `python validation/paper_table.py` with {runner.tool.banner} (`synth_xilinx -family xc7 "
        "-flatten`; `-nodsp` for kind 2, see docs/resources.md). Each cell: **Yosys / model / paper (Vivado)**. "
        "Unit: `pe_unit`; module: `pe_array` with 8 x 4 units (column adder trees and accumulators included, "
        "requantization excluded); 8-bit activations, 32-bit accumulators.",
        "",
        "| kind | bits | unit LUT | unit FF | unit DSP | module LUT | module FF | module DSP |",
        "|---|---|---|---|---|---|---|---|",
        *table,
        "",
        "## The paper's claim: KRP + GSNQ (kind 4) against GSNQ only (kind 3)",
        "",
        "| bits | level | resource | Yosys | model | paper |",
        "|---|---|---|---|---|---|",
        *claim_rows(figures),
        "",
        f"Kinds 2-4 use {'no' if dsp_free else 'SOME'} DSP48 in the unit and the module (Yosys).",
    ]
    if not args.no_gain:
        lines += [
            "",
            f"## Parallelism gain within {100 * GAIN_BUDGET:g}% of the XC7Z035's LUT, FF and DSP48 (all its BRAM)",
            "",
            "Per kind, the fastest array over tm in {1, 2, 4, 8, 16, 32}, each with the largest tn whose "
            "budgeted part fits: `pe_array`, the PE array alone (the paper's module, the part the kinds differ in), "
            "or `total`, the whole accelerator (the RTL core); either way the whole design must fit the "
            "device's DSP48s and BRAM36. LUT ... BRAM36: the whole accelerator's estimate. Default configuration "
            "otherwise (`accelsim.sim.gain.parallelism_gain`; also `accelsim run --workload vgg16 --gain 0.5 "
            "[--gain-scope total]`). Networks: CIFAR-10, one-shot KRP + 4-bit GSNQ, seeded weights.",
            "",
            "| network | budgeted | kind | tn x tm | units | LUT | FF | DSP | BRAM36 | limit | cycles | ms | speedup |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *gain_rows(),
        ]
    atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
