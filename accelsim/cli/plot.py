"""``accelsim plot KIND``: the architect's plots, written as PNG, SVG or PDF (by the --out suffix).

Kinds: ``bandwidth`` (latency versus DDR bandwidth per workload and PE kind, knees marked),
``roofline`` (per layer), ``layers`` (stacked cycles per layer), ``timeline`` (utilization from
the event trace), ``pareto`` (a sweep's results). Thin: parses, calls :mod:`accelsim.plots`,
prints the plotted numbers' summary.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..dse.workload import NetworkKey, Workload, build_network, network_for
from ..errors import ConfigError, brief
from ..hw import HwConfig, PeKind
from ..integer.graph import IntegerNetwork
from ..outputs import check_output
from ..plots import (
    bandwidth_curves,
    layer_cycles,
    pareto_groups,
    plot_bandwidth,
    plot_layer_cycles,
    plot_pareto,
    plot_roofline,
    plot_timeline,
    roofline,
    save_figure,
    utilization_timeline,
)
from ..plots.bandwidth import DEFAULT_BYTES_PER_CYCLE
from ..plots.figure import output_format
from ..plots.timeline import DEFAULT_BINS, check_bins
from ..sim import SimulationResult, simulate
from ..sim.sources import file_network
from .options import network_file, workload_name
from .run import DEFAULT_WORKLOAD, NO_CACHE_HELP, configure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KINDS = ("bandwidth", "roofline", "layers", "timeline", "pareto")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``plot`` sub-command."""
    parser = subparsers.add_parser(
        "plot",
        help="plot bandwidth curves, rooflines, per-layer cycles, timelines or a sweep's Pareto front",
        description=(
            "bandwidth: latency vs DDR bandwidth per workload and PE kind, knees marked. roofline: per layer. "
            "layers: stacked compute / memory stall / drain cycles per layer. timeline: engine activity and "
            "utilization from the event trace. pareto: a sweep's designs and Pareto front (--results). "
            "The format follows the --out suffix: .png, .svg or .pdf."
        ),
    )
    parser.add_argument("kind", choices=KINDS, metavar="KIND", help=f"one of {', '.join(KINDS)}")
    parser.add_argument("--out", metavar="FILE", required=True, help="the plot file (.png, .svg or .pdf)")
    parser.add_argument("--workload", metavar="NAME", action="append", default=[], type=workload_name,
                        help=f"built-in workload (default {DEFAULT_WORKLOAD}); bandwidth: repeatable; pareto: keep "
                             "only this workload's points")
    parser.add_argument("--network", metavar="FILE", type=network_file, help="simulate this compressed network file (.krp) instead")
    parser.add_argument("--config", metavar="NAME|PATH", default="default", help="hardware configuration")
    parser.add_argument("--set", metavar="FIELD=VALUE", action="append", default=[],
                        help="change a configuration field, e.g. --set pe.tn=16 (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the workload's weights (default 0)")
    parser.add_argument("--bits", type=int, default=4, help="GSNQ weight bits of the workload (default 4)")
    parser.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    parser.add_argument("--kinds", metavar="K1,K2",
                        help="bandwidth: PE kinds to compare, each on the workload compressed as it applies (default: "
                             "all four; with --network, the kinds that apply the file's weights)")
    parser.add_argument("--bandwidths", metavar="B1,B2", default=",".join(map(str, DEFAULT_BYTES_PER_CYCLE)),
                        help="bandwidth: DDR widths in bytes per cycle (default: powers of two 1..128)")
    parser.add_argument("--bins", type=int, default=DEFAULT_BINS, help=f"timeline: time bins (default {DEFAULT_BINS})")
    parser.add_argument("--results", metavar="DIR", help="pareto: the sweep's results folder")
    parser.add_argument("--x", default="latency_ms", metavar="METRIC", help="pareto: x metric (default latency_ms)")
    parser.add_argument("--y", default="lut", metavar="METRIC", help="pareto: y metric (default lut)")
    parser.add_argument("--color", metavar="METRIC", help="pareto: a third metric, shown as colour and in the front")
    parser.add_argument("--by", default="workload", metavar="COLUMN",
                        help="pareto: one front per value of this column (default workload)")
    parser.add_argument("--include-unfit", action="store_true",
                        help="pareto: also the designs that do not fit their device (column fits false, e.g. over "
                             "its LUTs); by default only the designs that fit")
    parser.set_defaults(handler=run)
    return parser


def _split(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"--{what} must be a comma-separated list, not {brief(text)}")
    return items


def _kinds(text: str) -> list[PeKind]:
    allowed = {kind.value: kind for kind in PeKind}
    chosen = _split(text, "kinds")
    for item in chosen:
        if item not in allowed:
            raise ConfigError(f"--kinds must name PE kinds among {', '.join(allowed)}, not {brief(item)}")
    return [allowed[item] for item in chosen]


def _bandwidths(text: str) -> list[int]:
    items = _split(text, "bandwidths")
    if not all(item.isdigit() for item in items):
        raise ConfigError(f"--bandwidths must be positive integers (bytes per cycle), not {brief(text)}")
    return [int(item) for item in items]


def _networks(args: argparse.Namespace, config: HwConfig, kind: PeKind | None = None) -> list[IntegerNetwork]:
    """The network of ``--network``, or those of ``--workload`` compressed in the weight format of the PE
    kind ``kind`` (default: the configuration's)."""
    if args.network is not None:  # as accelsim run: --workload, if given, must be the model the file records
        if len(args.workload) > 1:
            raise ConfigError(f"--workload must be given at most once with --network, not {len(args.workload)} times")
        return [file_network(args.network, workload=args.workload[0] if args.workload else None,
                             act_bits=config.act_bits, seed=args.seed, cache=not args.no_cache)]
    sources = [Workload(name, None, args.seed, args.bits) for name in args.workload or [DEFAULT_WORKLOAD]]
    keys = [NetworkKey.of(source, config.act_bits, kind or config.pe.kind) for source in sources]
    return [network_for(key) if not args.no_cache else build_network(key, cache=False) for key in keys]


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


def _pareto(args: argparse.Namespace) -> dict[str, Any]:
    from ..dse import read_results

    if not args.results:
        raise ConfigError("--results must name a sweep's results folder for a pareto plot, not None")
    rows = read_results(args.results).to_pylist()
    if args.workload:
        rows = [row for row in rows if row["workload"] in args.workload]
    metrics = [args.x, args.y] + ([args.color] if args.color else [])
    groups = pareto_groups(rows, metrics, args.by, include_unfit=args.include_unfit)
    save_figure(plot_pareto(groups, args.x, args.y, args.color), args.out)
    for group in groups:
        kind = "designs" if args.include_unfit else "designs that fit their device"
        print(f"{group.name}: {len(group.front)} of {len(group.rows)} {kind} on the front over {', '.join(metrics)}")
        for index in sorted(group.front, key=lambda i: group.rows[i][args.x]):
            row = group.rows[index]
            print("  " + ", ".join(f"{name}={_number(row[name])}" for name in metrics) + f"  ({row['point_id']})")
    return {"kind": "pareto", "metrics": metrics, "groups": [group.to_dict(metrics) for group in groups]}


def _bandwidth(args: argparse.Namespace, config: HwConfig) -> dict[str, Any]:
    """Each workload on each kind, compressed as the kind applies; a network file on the kinds of --kinds, by
    default those that apply its weights."""
    from ..sim.plan import foreign_weights, weight_formats

    widths = _bandwidths(args.bandwidths)
    if args.network is not None:
        network = _networks(args, config)[0]
        kinds = _kinds(args.kinds) if args.kinds is not None else [
            kind for kind in PeKind if foreign_weights(weight_formats(network), kind) is None]
        curves = bandwidth_curves([network], config, kinds, widths)
    else:
        kinds = _kinds(args.kinds if args.kinds is not None else ",".join(kind.value for kind in PeKind))
        by_kind = {kind: _networks(args, config, kind) for kind in kinds}
        curves = tuple(curve for index in range(len(by_kind[kinds[0]])) for kind in kinds
                       for curve in bandwidth_curves([by_kind[kind][index]], config, [kind], widths))
    save_figure(plot_bandwidth(curves), args.out)
    width = max([10, *(len(curve.workload) for curve in curves)])
    for curve in curves:
        knee = f"knee {curve.knee_gbps:g} GB/s" if curve.knee_gbps is not None else "no knee in the sweep"
        points = ", ".join(f"{g:g}: {ms:.3f}" for g, ms in zip(curve.gbps, curve.latency_ms))
        print(f"{curve.workload:<{width}} {curve.kind.value:<11} {knee:<20} latency ms at GB/s {points}")
    return {"kind": "bandwidth", "curves": [curve.to_dict() for curve in curves]}


def _roofline(result: SimulationResult) -> tuple[Figure, dict[str, Any]]:
    data = roofline(result)
    print(f"roofs: {data.peak_gops:g} GOPS peak, {data.bandwidth_gbps:g} GB/s, ridge {data.ridge:.3g} ops/B")
    for point in data.points:
        print(f"  {point.layer:<16} {point.intensity:>9.2f} ops/B {point.gops:>9.2f} GOPS "
              f"({100 * point.gops / data.attainable(point.intensity):.0f}% of the roof)")
    return plot_roofline(data), data.to_dict()


def _layers(result: SimulationResult) -> tuple[Figure, dict[str, Any]]:
    data = layer_cycles(result)
    print(f"{result.network}: {sum(data.compute):,} compute + {sum(data.stall):,} stall + "
          f"{sum(data.drain):,} drain = {result.total_cycles:,} cycles")
    return plot_layer_cycles(data), data.to_dict()


def _timeline(result: SimulationResult, bins: int) -> tuple[Figure, dict[str, Any]]:
    data = utilization_timeline(result, bins)
    print(f"{result.network}: {len(result.trace)} events over {result.total_cycles:,} cycles in "
          f"{len(data.edges) - 1} bins")
    return plot_timeline(result, data), data.to_dict()


def _one_network(args: argparse.Namespace, config: HwConfig) -> dict[str, Any]:
    """A plot of one simulated network: roofline, layers or timeline."""
    if len(args.workload) > 1:
        raise ConfigError(f"--workload must be given once for a {args.kind} plot, not {len(args.workload)} times")
    if args.kind == "timeline":
        check_bins(args.bins)  # before the simulation
    result = simulate(_networks(args, config)[0], config, keep_trace=args.kind == "timeline")
    if args.kind == "roofline":
        figure, data = _roofline(result)
    elif args.kind == "layers":
        figure, data = _layers(result)
    else:
        figure, data = _timeline(result, args.bins)
    save_figure(figure, args.out)
    return {"kind": args.kind, **data}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Compute the plot's data, draw it to --out, print a summary; return the data."""
    output_format(check_output(args.out, "--out"))  # a bad path or suffix fails before any simulation
    if args.kind == "pareto":
        report = _pareto(args)
    elif args.kind == "bandwidth":
        report = _bandwidth(args, configure(args.config, args.set))
    else:
        report = _one_network(args, configure(args.config, args.set))
    print(f"plot -> {args.out}")
    return {**report, "out": args.out}
