"""Time per design point for VGG-16: the SimPy model against the Verilog core under Verilator.

Run: ``python benchmarks/rtl_vs_sim.py`` (``--set FIELD=VALUE`` for another design point). The
network is the seeded VGG-16 workload, compressed one-shot with KRP + 4-bit GSNQ and lowered
(timed separately, shared by both sides). The simulator's time is the best of ``--repeat``
simulations of the whole network. The RTL's time is one fresh Verilator build of the design point
(an empty cache, so nothing is reused) and one run of every layer back to back (convolutions,
pooling, linear layers; each on the datapath's input of that layer), then a second run alone; the
cross-check of that run (cycles, outputs, traces) must pass, or the script stops.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from accelsim.cli.run import configure
from accelsim.rtl.check import cross_check
from accelsim.rtl.verilator import VerilatorRunner
from accelsim.sim import simulate
from accelsim.sim.sources import workload_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", default="default", help="hardware configuration (default: default)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a configuration field, e.g. --set ddr.bytes_per_cycle=4",
    )
    parser.add_argument("--repeat", type=int, default=5, help="simulations (the best is reported)")
    parser.add_argument(
        "--jobs", type=int, default=2, help="C++ compile jobs of the Verilator build"
    )
    args = parser.parse_args()
    config = configure(args.config, args.set)

    start = time.perf_counter()
    network = workload_network("vgg16", act_bits=config.act_bits)
    lowering = time.perf_counter() - start
    sim_seconds, result = float("inf"), None
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = simulate(network, config)
        sim_seconds = min(sim_seconds, time.perf_counter() - start)
    assert result is not None

    with tempfile.TemporaryDirectory(prefix="accelsim-rtl-bench-") as scratch:
        runner = VerilatorRunner(Path(scratch) / "cache", jobs=args.jobs)
        first = cross_check(network, config, runner=runner, work_dir=Path(scratch) / "run1")
        second = cross_check(network, config, runner=runner, work_dir=Path(scratch) / "run2")
    for check in (first, second):
        if not check.passed:
            failed = [layer.name for layer in check.layers if not layer.passed]
            raise SystemExit(
                f"the RTL must match the simulator before timing it, not differ on {failed}"
            )
    assert not first.build_cached and second.build_cached
    build, run = first.build_seconds, min(first.rtl_seconds, second.rtl_seconds)
    rtl_cycles = first.rtl_cycles_total

    print(
        f"VGG-16 on {config.name!r} ({config.pe.units} {config.pe.kind.value} units, "
        f"DDR {config.ddr.bytes_per_cycle} B/cycle); lowering {lowering:.1f} s (shared)"
    )
    print(f"{'side':<36}{'seconds':>10}{'cycles':>14}{'cycles/s':>14}")
    print(
        f"{f'accelsim simulate ({len(result.layers)} layers)':<36}{sim_seconds:>10.3f}{result.total_cycles:>14,}"
        f"{result.total_cycles / sim_seconds:>14,.0f}"
    )
    print(f"{'verilator build':<36}{build:>10.1f}")
    print(
        f"{f'verilator run ({len(first.layers)} layers)':<36}{run:>10.2f}{rtl_cycles:>14,}{rtl_cycles / run:>14,.0f}"
    )
    print(f"{'verilator build + run':<36}{build + run:>10.1f}")
    print(f"ratio (build + run) / simulate   {(build + run) / sim_seconds:,.0f}x")
    print(f"ratio run / simulate             {run / sim_seconds:,.1f}x")
    print(f"cross-check: {len(first.layers)} layers, cycles, outputs and traces equal")


if __name__ == "__main__":
    main()
