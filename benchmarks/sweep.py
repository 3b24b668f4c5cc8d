"""Sweep speed: design points per minute for VGG-16 with the local process pool.

Run: ``python benchmarks/sweep.py [--workers 2] [--points 512]``. The network (one-shot KRP +
GSNQ 4-bit VGG-16, lowered) is built once in this process, as ``accelsim sweep`` does; the grid
below (DDR bytes per cycle x PE kind x tn x tm, on the default configuration) runs on a fresh
``LocalExecutor`` into a temporary results folder. Reported:

- ``build``: seconds to build the network (not part of the rate);
- ``sweep``: wall seconds from the first submitted point to the last written part, including
  worker start-up (spawned processes import accelsim and receive the network);
- ``points/min``: points run / sweep seconds x 60 (every point, failed ones included; failures
  are configurations that do not fit the device);
- ``steady points/min``: the same rate between the first and the last finished task, i.e.
  without worker start-up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from accelsim.dse import LocalExecutor, SweepProgress, run_sweep, spec_from_dict
from accelsim.dse.workload import NetworkKey, Workload, network_for

KINDS = ["krp_gsnq", "gsnq_shift", "mult_lut", "mult_dsp"]
BANDWIDTHS = [1, 2, 4, 8, 16, 32, 64, 128]


def grid(points: int) -> dict[str, object]:
    """A grid of about ``points`` VGG-16 design points (4 kinds x 8 bandwidths x tn x tm)."""
    per = max(1, points // (len(KINDS) * len(BANDWIDTHS)))
    tms = [2, 4, 8][: max(1, min(3, per // 4))]
    tns = list(range(4, 4 * (per // len(tms) + 1), 4))[: max(1, per // len(tms))]
    return {"name": "benchmark", "workloads": ["vgg16"],
            "parameters": {"pe.kind": KINDS, "ddr.bytes_per_cycle": BANDWIDTHS, "pe.tn": tns, "pe.tm": tms}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--points", type=int, default=512, help="approximate number of design points (default 512)")
    args = parser.parse_args()
    spec = spec_from_dict(grid(args.points))
    start = time.perf_counter()
    network_for(NetworkKey(Workload("vgg16"), spec.base.act_bits))
    build = time.perf_counter() - start
    stamps: list[float] = []
    done: list[int] = []

    def progress(state: SweepProgress) -> None:
        stamps.append(state.seconds)
        done.append(state.done)

    with tempfile.TemporaryDirectory() as folder, LocalExecutor(args.workers) as executor:
        summary = run_sweep(spec, Path(folder) / "results", executor, progress=progress)
    steady = 60 * (done[-1] - done[0]) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    print(f"VGG-16 sweep, {summary.workers} local workers: {summary.ran} points ({summary.failed} do not fit)")
    print(f"build {build:.2f} s, sweep {summary.seconds:.2f} s")
    print(f"points/min {summary.points_per_minute:,.0f} (with worker start-up), steady points/min {steady:,.0f}")


if __name__ == "__main__":
    main()
