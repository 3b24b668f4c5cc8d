"""Simulate one design and read its typed result: totals, the slowest layers, the resources.

Run: ``python examples/evaluate_design.py [--workload resnet56] [--set pe.tn=16]``.
"""

from __future__ import annotations

import argparse

import yaml

from accelsim.dse import evaluate, load_workload
from accelsim.hw import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="resnet56")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    changes = {field: yaml.safe_load(value) for field, _, value in (item.partition("=") for item in args.set)}
    config = load_config("default").replace(**changes)           # vary fields by dotted name, checked
    network = load_workload(args.workload, act_bits=config.act_bits)  # built once per process, cached
    result = evaluate(network, config)                            # simulation + resource estimate

    print(f"{network.name} on {config.pe.units} {config.pe.kind.value} units at {config.clock_mhz:g} MHz")
    print(f"latency      {result.total_cycles:,} cycles = {result.latency_ms:.3f} ms")
    print(f"throughput   {result.simulation.throughput_fps:.1f} frames/s, {result.simulation.effective_gops:.2f} GOPS")
    total = result.resources.total
    print(f"resources    {total.lut:,} LUT, {total.ff:,} FF, {total.dsp} DSP, {total.bram36} BRAM36 "
          f"({100 * result.fit.usage[result.fit.limiting]:.1f}% of the {result.fit.limiting})")
    print("slowest layers:")
    for layer in sorted(result.layers, key=lambda layer: layer.cycles, reverse=True)[:5]:
        print(f"  {layer.name:<10} {layer.cycles:>9,} cycles ({layer.stall_cycles:,} stalled), "
              f"PE utilization {100 * layer.pe_utilization:.0f}%")


if __name__ == "__main__":
    main()
