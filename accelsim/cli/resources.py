"""``accelsim resources``: the resource estimate of a configuration, and optionally Yosys's count.

Prints the analytical model's LUT / FF / DSP48 / BRAM36 / CARRY4 by part, the utilization of the
device and whether the design fits (and which resource limits it). With ``--synth`` it also
synthesizes the RTL of the chosen design (``--design``: the whole core, the PE array or one PE
unit) with Yosys and prints both side by side with the model's error, and the design's deepest
register-to-register path (logic levels and the clock they allow, ``accelsim.synth.timing``)
against the configured ``clock_mhz``.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..hw import HwConfig, estimate_resources, fits, load_device
from ..hw.resources import RESOURCE_NAMES, ResourceEstimate, Resources, requant_lane
from ..synth import SynthesisResult, Yosys
from ..synth.targets import Design, synth_target
from ..synth.timing import NET_DELAY_PS
from .numbers import count
from .run import configure

#: The estimate part that corresponds to each synthesizable design.
DESIGN_PART = {Design.CORE: "total", Design.ARRAY: "pe_array", Design.UNIT: "pe_unit", Design.REQUANT: "requant_lane"}
COLUMNS = ("lut", "ff", "dsp", "bram36", "carry")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``resources`` sub-command."""
    parser = subparsers.add_parser(
        "resources",
        help="estimate LUT/FF/DSP/BRAM of a configuration (and synthesize its RTL with Yosys)",
        description=(
            "Estimate the FPGA resources of a hardware configuration with the analytical model (by part: PE "
            "unit, PE array, requantization lanes, buffers, control with the vector lanes), its utilization of the "
            "device and whether it fits. With --synth, also synthesize the RTL of --design with Yosys "
            "(synth_xilinx), compare, and report its deepest register-to-register path in logic levels and "
            "the clock it allows."
        ),
    )
    parser.add_argument("--config", metavar="NAME|PATH", default="default",
                        help="bundled configuration name or YAML file (default: default)")
    parser.add_argument("--set", metavar="FIELD=VALUE", action="append", default=[],
                        help="change a configuration field by dotted name, e.g. --set pe.tn=16 (repeatable)")
    parser.add_argument("--device", metavar="NAME|PATH", help="device to fit against (default: the config's)")
    parser.add_argument("--budget", metavar="FRACTION", type=float, default=1.0,
                        help="fraction of every device resource the design may use (default 1.0)")
    parser.add_argument("--synth", action="store_true", help="also synthesize the RTL with Yosys and compare")
    parser.add_argument("--design", choices=[item.value for item in Design], default=Design.CORE.value,
                        help="what --synth synthesizes (default core: the whole accelerator core, hierarchical, "
                             "1 to 10 minutes; array: the PE array, the paper's module, 20 s to a few minutes; "
                             "unit: one PE unit, seconds); results are cached")
    parser.set_defaults(handler=run)
    return parser


def _part(estimate: ResourceEstimate, design: Design, config: HwConfig) -> Resources:
    if design is Design.REQUANT:
        return requant_lane(config)
    return getattr(estimate, DESIGN_PART[design])


def _row(label: str, values: dict[str, float]) -> str:
    return f"{label:<16}" + "".join(f"{count(values[key]):>10}" for key in COLUMNS)


def _relative_error(model: float, measured: float) -> float | None:
    return None if measured == 0 else (model - measured) / measured


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Estimate (and synthesize); print the report; return it as a dict."""
    config = configure(args.config, args.set)
    device = load_device(args.device) if args.device else config.device_profile
    design = Design(args.design)
    estimate = estimate_resources(config)
    report = fits(config, device, args.budget)
    parts = {"pe_unit": estimate.pe_unit, "pe_array": estimate.pe_array, "requant": estimate.requant,
             "buffers": estimate.buffers, "control": estimate.control, "total": estimate.total}
    print(f"{config.name!r}: {count(config.pe.units)} {config.pe.kind.value} units ({config.pe.tn} x {config.pe.tm}), "
          f"{config.act_bits}-bit activations, {config.weight_bits}-bit weights, on {device.name}")
    print(f"{'part':<16}" + "".join(f"{key.upper():>10}" for key in COLUMNS))
    for name, part in parts.items():
        print(_row(name, part.as_dict()))
    print("(total = pe_array + requant + buffers + control: the RTL core, accel_core)")
    print(f"\nutilization of {device.name}" + (f" (budget {100 * args.budget:g}%)" if args.budget != 1.0 else ""))
    for key in RESOURCE_NAMES:
        print(f"  {key.upper():<7}{count(report.need[key]):>10} of {count(getattr(device, key)):>8}  {100 * report.usage[key]:6.1f}%")
    verdict = "fits" if report.fits else "does NOT fit"
    print(f"the design {verdict}; limiting resource: {report.limiting.upper()}")
    chosen = _part(estimate, design, config)
    result: dict[str, Any] = {
        "config": config.name, "device": device.name, "design": design.value,
        "estimate": {**chosen.as_dict(), "parts": {name: part.as_dict() for name, part in parts.items()}},
        "fit": report.to_dict(),
    }
    if args.synth:
        synthesis = Yosys().synthesize(synth_target(config, design))
        _print_synthesis(design, chosen, synthesis, config.clock_mhz)
        result["synthesis"] = synthesis.to_dict()
        result["error"] = {key: _relative_error(getattr(chosen, key), getattr(synthesis, key)) for key in COLUMNS}
    return result


def _print_synthesis(design: Design, model: Resources, synthesis: SynthesisResult, clock_mhz: float) -> None:
    source = "cache" if synthesis.cached else f"{synthesis.seconds:.1f} s"
    print(f"\nYosys ({synthesis.tool}, {source}): {design.value} = {synthesis.target.describe()}")
    print(f"{'':<16}" + "".join(f"{key.upper():>10}" for key in COLUMNS))
    print(_row("model", model.as_dict()))
    print(_row("yosys", {key: getattr(synthesis, key) for key in COLUMNS}))
    errors = {key: _relative_error(getattr(model, key), getattr(synthesis, key)) for key in COLUMNS}
    print(f"{'error':<16}" + "".join(f"{'-' if value is None else f'{100 * value:+.1f}%':>10}"
                                      for value in errors.values()))
    path = synthesis.critical_path
    if path is None:
        print("no register-to-register path to time")
    else:
        verdict = "meets" if path.fmax_mhz >= clock_mhz else "does NOT meet"
        print(f"deepest register-to-register path: {path.describe()}; {verdict} clock_mhz = {clock_mhz:g}")
        print(f"  (Yosys sta: the cells' delays and {NET_DELAY_PS} ps before every routed input; "
              "docs/resources.md section 6)")
    if not synthesis.target.use_dsp:
        print("(synthesized with -nodsp: Yosys 0.23 ignores the RTL's use_dsp=\"no\" on LUT multipliers)")
