"""Sweep speed: design points per minute for VGG-16 with the local process pool.

Run: ``python benchmarks/sweep.py [--workers 2]``. The network (one-shot KRP + GSNQ 4-bit VGG-16,
lowered) is built once in this process, as ``accelsim sweep`` does (read from the network cache
when it holds it); the grid :data:`SPEC` (PE kind x DDR bytes per cycle x DDR latency x tn x tm
on the default configuration) runs on a fresh ``LocalExecutor`` into a temporary results folder.
Not every point fits the device: a design over the device's LUTs or FFs is a finished row with
``fits`` false, one the resource model refuses (e.g. more DSP48s than the device has) an error row;
both are counted, errors grouped by message.
Reported:

- ``build``: seconds to build (or read) the network (not part of the rate);
- ``fit``: points that fit the device (finished rows with ``fits`` true), finished points that do
  not, and failed points (error rows);
- ``sweep``: wall seconds from the first submitted point to the last written part, including
  worker start-up (spawned processes import accelsim and receive the network);
- ``points/min``: points run / sweep seconds x 60;
- ``steady points/min``: the same rate between the first and the last finished task, i.e.
  without worker start-up;
- ``CPU per point``: CPU time of evaluating a sample of the same points in this process, with
  each engine (a figure the load of other programs on the machine inflates less than wall time),
  and the rate ``workers`` cores would reach at that cost with no overhead.

The sweep runs as ``accelsim sweep`` does by default: the fast engine, with one point in 20
re-simulated by the SimPy reference and compared (``check_every``).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from accelsim.dse import (
    Engine,
    LocalExecutor,
    SweepProgress,
    design_points,
    run_sweep,
    spec_from_dict,
)
from accelsim.dse.rows import OK, counts, failures, point_row
from accelsim.dse.store import read_results
from accelsim.dse.workload import NetworkKey, Workload, network_for

#: A grid of 768 VGG-16 designs on the default device (XC7Z035); the largest arrays do not fit.
SPEC = {
    "name": "benchmark",
    "workloads": ["vgg16"],
    "parameters": {
        "pe.kind": ["krp_gsnq", "gsnq_shift", "mult_lut", "mult_dsp"],
        "ddr.bytes_per_cycle": [1, 2, 4, 8, 16, 32, 64, 128],
        "ddr.latency_cycles": [20, 30, 40],
        "pe.tn": [2, 4, 8, 16],  # powers of two (docs/microarchitecture.md, section 1)
        "pe.tm": [2, 4],
    },
}


def cpu_per_point(spec_data: dict[str, Any], fitting: set[str], count: int, engine: Engine) -> float:
    """CPU seconds per point of ``count`` points sampled from the spec's ``fitting`` ones, in this process."""
    points = random.Random(0).sample([p for p in design_points(spec_from_dict(spec_data)) if p.point_id in fitting],
                                     count)
    start = time.process_time()
    for point in points:
        assert point_row(point, engine)["status"] == OK
    return (time.process_time() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    spec = spec_from_dict(SPEC)
    start = time.perf_counter()
    network_for(NetworkKey(Workload("vgg16"), spec.base.act_bits))
    build = time.perf_counter() - start
    stamps: list[float] = []
    done: list[int] = []

    def progress(state: SweepProgress) -> None:
        if state.done:  # from the first finished task on: no worker start-up
            stamps.append(state.seconds)
            done.append(state.done)

    with tempfile.TemporaryDirectory() as folder, LocalExecutor(args.workers) as executor:
        summary = run_sweep(spec, Path(folder) / "results", executor, progress=progress)
        rows = read_results(Path(folder) / "results").to_pylist()
    finished = [row for row in rows if row["status"] == OK]
    fitting = {row["point_id"] for row in finished if counts(row)}
    steady = 60 * (done[-1] - done[0]) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    print(f"VGG-16 sweep, {summary.workers} local workers, {spec.engine.value} engine checked every "
          f"{spec.check_every}: {summary.ran} points ({summary.failed} failed)")
    print(f"fit {len(fitting)} of {len(rows)} points fit the device; {len(finished) - len(fitting)} finished "
          f"without fitting (column fits false), {len(rows) - len(finished)} failed:")
    for message, count in failures(rows).most_common():
        print(f"    {count} x {message}")
    print(f"build {build:.2f} s, sweep {summary.seconds:.2f} s")
    print(f"points/min {summary.points_per_minute:,.0f} (with worker start-up), steady points/min {steady:,.0f}")
    for engine in Engine:
        cpu = cpu_per_point(SPEC, fitting, 60, engine)
        print(f"CPU per point, {engine.value:<5} engine: {1e3 * cpu:.1f} ms in one process; {args.workers} cores at "
              f"that cost reach {args.workers * 60 / cpu:,.0f} points/min")


if __name__ == "__main__":
    main()
