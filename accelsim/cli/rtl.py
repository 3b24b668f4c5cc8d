"""``accelsim rtl check``: the Verilog core under Verilator against the simulator and the datapath.

Per layer (convolutions, linear layers, pooling and residual adds): simulated cycles against RTL
cycles (must be equal), the RTL's output feature map against the bit-exact integer datapath (first
mismatch), the RTL's event trace against the simulator's (first divergent event), and the wall time
of each side. The exit status is 1 when any layer differs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..outputs import check_output_folder
from .options import network_file, workload_name
from .run import DEFAULT_WORKLOAD, NO_CACHE_HELP, build_network, configure

if TYPE_CHECKING:
    from ..rtl.check import CheckResult


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``rtl`` command with its ``check`` sub-command; returns the ``check`` parser."""
    parser = subparsers.add_parser(
        "rtl",
        help="Verilog core: cross-check it with Verilator against the simulator and the datapath",
        description="The emitted Verilog implementation of the timing contract.",
    )
    commands = parser.add_subparsers(dest="rtl_command", metavar="SUBCOMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="run layers on the RTL (Verilator) and compare cycles, outputs and traces",
        description=(
            "Run the chosen layers (convolution, linear, pooling, add) of a network on the Verilog "
            "core under Verilator, each on the integer datapath's input of that layer, and compare with the "
            "simulator (cycles and event trace, zero difference required) and the datapath (outputs, "
            "bit for bit). Exit status 1 on any difference."
        ),
    )
    check.add_argument(
        "--workload",
        metavar="NAME",
        type=workload_name,
        help=f"built-in workload (default {DEFAULT_WORKLOAD}); with --network, the 'module:factory' "
        "spec of a user model whose file records no architecture",
    )
    check.add_argument(
        "--network", metavar="FILE", type=network_file, help="check this compressed network file (.krp)"
    )
    check.add_argument(
        "--config",
        metavar="NAME|PATH",
        default="default",
        help="bundled configuration name or YAML file (default: default)",
    )
    check.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        help="change a configuration field by dotted name, e.g. --set ddr.bytes_per_cycle=2",
    )
    check.add_argument(
        "--layers",
        metavar="NAME",
        nargs="+",
        help="layers to check (default: every layer but flattens, which move no data)",
    )
    check.add_argument(
        "--seed", type=int, default=0, help="seed of the workload's weights and the input image"
    )
    check.add_argument(
        "--bits", type=int, default=4, help="weight bits for --workload (default 4): GSNQ for the shift PE kinds, uniform for the multipliers"
    )
    check.add_argument(
        "--cache", metavar="DIR",
        help="Verilator build cache (default: verilator/ in $ACCELSIM_CACHE_DIR, else in ~/.cache/accelsim)"
    )
    check.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    check.add_argument(
        "--jobs", type=int, default=1, help="parallel C++ compile jobs of a build (default 1)"
    )
    check.add_argument(
        "--keep", metavar="DIR", help="keep the run's files (DDR image, trace, dump) in DIR"
    )
    check.set_defaults(handler=run_check)
    return check


def _layer_names(values: list[str] | None) -> list[str] | None:
    """``--layers`` values, comma-separated lists allowed."""
    if values is None:
        return None
    names = [name for value in values for name in value.split(",") if name]
    if not names:
        raise ConfigError("--layers must name at least one layer, not be empty")
    return names


def print_check(result: CheckResult) -> None:
    """The per-layer comparison table and the totals."""
    width = max([24, *(len(layer.name) + 2 for layer in result.layers)])  # long names keep a gap
    header = f"{'layer':<{width}}{'sim cycles':>12}{'rtl cycles':>12}{'diff':>7}  {'outputs':<9}{'trace':<9}{'events':>7}"
    print(header)
    print("-" * len(header))
    for layer in result.layers:
        print(
            f"{layer.name:<{width}}{layer.sim_cycles:>12,}{layer.rtl_cycles:>12,}"
            f"{layer.rtl_cycles - layer.sim_cycles:>7}  {'equal' if layer.outputs_match else 'DIFFER':<9}"
            f"{'equal' if layer.traces_match else 'DIFFER':<9}{layer.events:>7}"
        )
        if layer.first_mismatch:
            m = layer.first_mismatch
            print(
                f"    first output mismatch at {tuple(m['index'])}: rtl {m['rtl']}, datapath {m['expected']}"
            )
        if layer.first_divergence:
            d = layer.first_divergence
            print(
                f"    first divergent event #{d['position']}: rtl {d['rtl']}, sim {d['sim']} "
                "(event, tile, part, start, end; cycles from the layer start)"
            )
    build = "cached" if result.build_cached else "built"
    print(f"simulator          {result.sim_seconds:.3f} s (whole network)")
    print(f"integer datapath   {result.datapath_seconds:.3f} s (one image)")
    print(
        f"verilator          {result.build_seconds:.1f} s build ({build}), {result.rtl_seconds:.2f} s run "
        f"({result.rtl_cycles_total:,} cycles)"
    )
    passed = sum(layer.passed for layer in result.layers)
    print(
        f"result             {passed} of {len(result.layers)} layers equal"
        f"{'' if result.passed else ' -- DIFFERENCES FOUND'}"
    )


def run_check(args: argparse.Namespace) -> dict[str, Any]:
    """Build the network, cross-check it, print the report; return it as a dict."""
    from ..rtl.check import cross_check, default_cache_dir
    from ..rtl.verilator import VerilatorRunner

    config = configure(args.config, args.set)
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be an integer >= 1, not {args.jobs}")
    layers = _layer_names(args.layers)
    # before the network is built: a folder that cannot be made, or no Verilator, fails at once
    cache = default_cache_dir() if args.cache is None else check_output_folder(args.cache, "--cache")
    keep = None if args.keep is None else check_output_folder(args.keep, "--keep")
    runner = VerilatorRunner(cache, jobs=args.jobs)
    network = build_network(args, config)
    result = cross_check(network, config, layers=layers, seed=args.seed, runner=runner, work_dir=keep)
    print(
        f"{network.name} on {config.name!r}: {config.pe.units} {config.pe.kind.value} units "
        f"({config.pe.tn} x {config.pe.tm}), DDR {config.ddr.bytes_per_cycle} B/cycle, "
        f"latency {config.ddr.latency_cycles}, bursts of {config.ddr.burst_bytes} B"
    )
    print_check(result)
    return {"workload": network.name, **result.to_dict(), "exit_status": 0 if result.passed else 1}
