"""Speed of the SimPy accelerator model: whole VGG-16 and ResNet-110 runs against SimPy's ceiling.

Run: ``python benchmarks/simulator.py``. Each network is built once (one-shot KRP + GSNQ 4-bit
compression and lowering of the seeded workload, timed separately); the simulation of one
inference on the default configuration is timed as the best of ``--repeat`` runs. The ceiling is
a plain SimPy process doing ``yield env.timeout(1)`` in a loop: the most events per second the
engine can process here, against which the model's events per second compare.
"""

from __future__ import annotations

import argparse
import time

import simpy

from accelsim.hw import load_config
from accelsim.sim import simulate
from accelsim.sim.sources import workload_network


def timeout_loop(count: int) -> float:
    """Events per second of a bare SimPy timeout loop of ``count`` timeouts."""
    env = simpy.Environment()

    def ticker(env: simpy.Environment):
        for _ in range(count):
            yield env.timeout(1)

    env.process(ticker(env))
    start = time.perf_counter()
    env.run()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="simulations per network (best is reported)")
    parser.add_argument("--config", default="default", help="hardware configuration (default: default)")
    args = parser.parse_args()
    config = load_config(args.config)
    ceiling = timeout_loop(200_000)
    print(f"SimPy timeout loop (engine ceiling): {ceiling / 1e3:.0f} k events/s")
    print(f"{'network':<12}{'build s':>9}{'simulate s':>12}{'events':>9}{'k events/s':>12}{'of ceiling':>12}"
          f"{'cycles':>12}{'trace':>7}")
    for workload in ("vgg16", "resnet110"):
        start = time.perf_counter()
        network = workload_network(workload, act_bits=config.act_bits)
        build = time.perf_counter() - start
        best, result = float("inf"), None
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = simulate(network, config)
            best = min(best, time.perf_counter() - start)
        assert result is not None
        rate = result.sim_events / best
        print(f"{workload:<12}{build:>9.2f}{best:>12.3f}{result.sim_events:>9,}{rate / 1e3:>12.0f}"
              f"{rate / ceiling:>11.0%}{result.total_cycles:>12,}{len(result.trace):>7}")


if __name__ == "__main__":
    main()
