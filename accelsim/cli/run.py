"""``accelsim run``: simulate a compressed network on the accelerator, cycle by the contract.

With no arguments: VGG-16 for CIFAR-10 with seeded weights, compressed one-shot with KRP and
4-bit GSNQ, on the default configuration (the paper's 32-unit KRP module on an XC7Z035).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, brief
from ..hw import HwConfig, fits, load_config
from ..hw.resources import RESOURCE_NAMES, FitReport
from ..outputs import atomic_write_bytes, check_output
from ..yamlfile import parse_yaml
from .compress import InputShapeAction
from .numbers import count
from .options import network_file, workload_name

if TYPE_CHECKING:
    from ..integer.graph import IntegerNetwork, WeightFormat
    from ..sim import SimulationResult
    from ..sim.gain import GainRow

DEFAULT_WORKLOAD = "vgg16"
#: Help of every command's ``--no-cache``.
NO_CACHE_HELP = ("neither read nor write the network cache ($ACCELSIM_CACHE_DIR/networks, default "
                 "~/.cache/accelsim/networks): compress and lower afresh")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser(
        "run",
        help="simulate a compressed network on the FPGA accelerator (cycles, stalls, DDR traffic)",
        description=(
            "Compress a workload one-shot with KRP + GSNQ (or read a .krp file), lower it to integers and "
            "simulate one inference on the accelerator of a hardware configuration, layer by layer, by the "
            "timing contract of docs/microarchitecture.md. Prints a per-layer table and the totals."
        ),
    )
    parser.add_argument("--workload", metavar="NAME", type=workload_name,
                        help=f"built-in workload (default {DEFAULT_WORKLOAD}); with --network, the 'module:factory' "
                             "spec of a user model whose file records no architecture")
    parser.add_argument("--network", metavar="FILE", type=network_file, help="simulate this compressed network file (.krp)")
    parser.add_argument("--config", metavar="NAME|PATH", default="default",
                        help="bundled configuration name or YAML file (default: default)")
    parser.add_argument("--set", metavar="FIELD=VALUE", action="append", default=[],
                        help="change a configuration field by dotted name, e.g. --set pe.tn=16 (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the workload's weights (default 0)")
    parser.add_argument("--bits", type=int, default=4, help="weight bits for --workload (default 4): GSNQ for the shift PE kinds, uniform for the multipliers")
    parser.add_argument("--input-shape", metavar="C,H,W", action=InputShapeAction,
                        help="run --workload at this input shape instead of its own (e.g. 3,224,224); a .krp "
                             "file records its shape")
    parser.add_argument("--trace", metavar="PATH", help="write the event trace: .json (Chrome/Perfetto) or .csv")
    parser.add_argument("--gain", metavar="FRACTION", type=float,
                        help="also compare the PE kinds within this fraction of the device's logic (e.g. 0.5)")
    parser.add_argument("--gain-scope", choices=["pe_array", "total"], default="pe_array",
                        help="what --gain budgets: the PE array, as the paper compares (default), or the "
                             "whole accelerator")
    parser.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    parser.set_defaults(handler=run)
    return parser


def configure(name: str, settings: list[str]) -> HwConfig:
    """The configuration ``name`` with ``FIELD=VALUE`` changes (values read as YAML, by
    :func:`accelsim.yamlfile.parse_yaml`).

    Raises:
        ConfigError: a malformed setting, a value that is not valid YAML, or any field error.
    """
    config = load_config(name)
    changes: dict[str, object] = {}
    for setting in settings:
        field, sep, value = setting.partition("=")
        if not sep or not field:
            raise ConfigError(f"--set must be FIELD=VALUE (e.g. pe.tn=16), not {brief(setting)}")
        changes[field.strip()] = parse_yaml(value, f"--set {brief(field.strip())}")
    return config.replace(**changes) if changes else config


def build_network(args: argparse.Namespace, config: HwConfig, weights: WeightFormat | None = None) -> IntegerNetwork:
    """The network of ``--network``, or of ``--workload``, ``--seed``, ``--bits`` compressed in ``weights``,
    by default the weight format of the configuration's PE kind (:attr:`PeKind.weight_format`); cached
    unless ``--no-cache``."""
    from ..sim.sources import file_network, workload_network

    if args.network is not None and getattr(args, "input_shape", None) is not None:
        raise ConfigError("--input-shape must be left out with --network: the network file records its input "
                          "shape (compress it again with accelsim compress --input-shape C,H,W for another)")
    if args.network is not None:
        return file_network(args.network, workload=args.workload, act_bits=config.act_bits, seed=args.seed,
                            cache=not args.no_cache)
    return workload_network(args.workload or DEFAULT_WORKLOAD, seed=args.seed, bits=args.bits,
                            act_bits=config.act_bits, weights=weights or config.pe.kind.weight_format, cache=not args.no_cache,
                            input_shape=getattr(args, "input_shape", None))


def _kib(nbytes: int) -> str:
    return f"{nbytes / 1024:.1f}"


def print_layers(result: SimulationResult) -> None:
    """The per-layer table."""
    width = max([22, *(len(layer.name) + 2 for layer in result.layers)])  # long names keep a gap
    header = (f"{'layer':<{width}}{'kind':<8}{'tiles':>6}{'cycles':>11}{'compute':>11}{'memory':>10}"
              f"{'stall':>10}{'util':>7}{'read KiB':>10}{'write KiB':>10}")
    print(header)
    print("-" * len(header))
    for layer in result.layers:
        print(f"{layer.name:<{width}}{layer.kind.value:<8}{layer.tiles:>6}{layer.cycles:>11,}{layer.compute_cycles:>11,}"
              f"{layer.memory_cycles:>10,}{layer.stall_cycles:>10,}{100 * layer.pe_utilization:>6.1f}%"
              f"{_kib(layer.ddr_bytes_read):>10}{_kib(layer.ddr_bytes_written):>10}")


def print_totals(result: SimulationResult) -> None:
    """Network totals."""
    config = result.config
    read = sum(layer.ddr_bytes_read for layer in result.layers)
    written = sum(layer.ddr_bytes_written for layer in result.layers)
    print(f"latency            {result.total_cycles:,} cycles = {result.latency_ms:.3f} ms at {config.clock_mhz:g} MHz")
    print(f"throughput         {result.throughput_fps:.1f} frames/s (one image at a time)")
    print(f"effective          {result.effective_gops:.2f} GOPS ({2 * result.macs / 1e6:.1f} M non-zero ops)")
    print(f"dense-equivalent   {result.dense_gops:.2f} GOPS ({2 * result.dense_macs / 1e6:.1f} M dense ops)")
    print(f"PE utilization     {100 * result.pe_utilization:.1f}% of {count(config.pe.units)} units x {config.pe.taps} taps")
    print(f"DDR traffic        {_kib(read)} KiB read, {_kib(written)} KiB written")


def print_fit(report: FitReport) -> None:
    """The resource model's need against the device, and whether the design fits."""
    used = ", ".join(f"{count(report.need[key])} {key.upper()} ({100 * report.usage[key]:.1f}%)" for key in RESOURCE_NAMES)
    verdict = "fits" if report.fits else f"does NOT fit (limited by {report.limiting.upper()})"
    print(f"resources (model)  {used} of {report.device.name}: {verdict}")


def print_gain(rows: tuple[GainRow, ...], fraction: float, device: str, scope: str) -> None:
    """The parallelism-gain table (LUT ... BRAM36: the whole accelerator's estimate)."""
    held = "the PE array" if scope == "pe_array" else "the whole accelerator"
    print(f"\nparallelism gain: {held} within {100 * fraction:g}% of {device}'s LUT/FF/DSP "
          "(per kind the fastest tn x tm that fits; resources of the whole accelerator):")
    print(f"{'kind':<12}{'tn x tm':>9}{'units':>7}{'LUT':>9}{'FF':>9}{'DSP':>6}{'BRAM36':>8}  {'limit':<7}"
          f"{'cycles':>12}{'ms':>9}{'speedup':>9}")
    for row in rows:
        r = row.resources
        if not row.units:
            print(f"{row.kind.value:<12}  not one unit fits the budget  {row.limiting:<7}")
            continue
        print(f"{row.kind.value:<12}{f'{row.tn} x {row.tm}':>9}{count(row.units):>7}{count(r.lut):>9}{count(r.ff):>9}"
              f"{count(r.dsp):>6}{count(r.bram36):>8}  {row.limiting:<7}{count(row.cycles):>12}{row.latency_ms:>9.3f}"
              f"{row.speedup:>8.2f}x")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the network, simulate, print the report; return it as a dict."""
    from ..integer.graph import WeightFormat
    from ..sim import simulate
    from ..sim.gain import logic_budget, parallelism_gain
    from ..sim.plan import concat_slices, reads_slice
    from ..sim.trace import export_trace, trace_format

    config = configure(args.config, args.set)
    if args.trace is not None:  # the arguments are checked before the network is built and simulated
        trace_format(check_output(args.trace, "--trace"))
    if args.gain is not None:
        logic_budget(args.gain, "--gain")
    network = build_network(args, config)
    result = simulate(network, config, keep_trace=args.trace is not None)
    print(f"{network.name} on {config.name!r}: {count(config.pe.units)} {config.pe.kind.value} units "
          f"({config.pe.tn} x {config.pe.tm}), {config.device}, DDR {config.ddr.bytes_per_cycle} B/cycle")
    print_layers(result)
    print_totals(result)
    fit = fits(config)
    print_fit(fit)
    places = concat_slices(network, config)
    sliced = [layer.name for layer in network.layers if any(reads_slice(layer, places))]
    if sliced:
        print(f"note: {len(sliced)} layer{'s' if len(sliced) > 1 else ''} ({', '.join(sliced[:3])}"
              f"{', ...' if len(sliced) > 3 else ''}) read a concatenated tensor on their own, one DDR segment "
              "per row as the timing contract binds it; the RTL core does not run such layers yet (docs/rtl.md), "
              "so `accelsim rtl check` cannot confirm their cycles")
    report = {"workload": network.name, **result.to_dict(), "resources": fit.to_dict()}
    if args.trace is not None:
        atomic_write_bytes(args.trace, export_trace(result, args.trace))
        print(f"trace              {len(result.trace)} events -> {args.trace}")
        report["trace"] = args.trace
    if args.gain is not None:
        # a built-in workload is compared on every kind, compressed as each applies; a file on the kinds that apply it
        compared = network if args.network is not None else {
            weights: network if weights is config.pe.kind.weight_format else build_network(args, config, weights)
            for weights in WeightFormat}
        rows = parallelism_gain(compared, config, args.gain, scope=args.gain_scope)
        print_gain(rows, args.gain, config.device, args.gain_scope)
        report["parallelism_gain"] = {"budget": args.gain, "scope": args.gain_scope,
                                      "rows": [row.to_dict() for row in rows]}
    return report
