"""Sweep speed: design points per minute for VGG-16 with the local process pool (issue 16's target).

Run: ``python benchmarks/sweep.py [--workers 2]``. The sweep :data:`SPEC` is a 10,000-point grid of
VGG-16 designs on the default device (XC7Z035): the PE array (4 kinds x ``tn`` 2..32 x ``tm`` 1..8)
times the DDR bandwidth (5 widths x 25 latencies). It runs as ``accelsim sweep`` runs it: the fast
engine, one point in 100 re-simulated by the SimPy reference and compared (``check_every``), on a
fresh ``LocalExecutor`` into a temporary results folder. Not every point fits the device: a design
over the device's LUTs or FFs is a finished row with ``fits`` false, one the resource model refuses
(more DSP48s or BRAM36 than the device has) an error row; all are counted, errors grouped by
message.

Reported, side by side with the target (>= 20,000 points/min on 2 cores, network building included):

- ``one-time compilation``: seconds of the first fast-engine call in this process (Numba compiles
  the schedule loop, or loads it from its on-disk cache); done before the clock starts, so every
  other figure excludes it (workers load the compiled loop from the cache as they start);
- ``build``: seconds to build (or read from the network cache) the network inside the sweep;
- ``total``: wall seconds of the whole ``run_sweep`` call: design points, results folder, network
  building, worker start-up (spawned processes import accelsim and Numba and receive the network),
  every point, the last part written: the ``points/min`` of the target;
- ``steady points/min``: between the first and the last finished task (no start-up, no build);
- ``CPU of the sweep``: CPU seconds of this process and its workers over the same span, per point,
  and the rate ``workers`` cores at that cost would reach were they not shared with other programs;
- ``CPU per point``: CPU time of evaluating a sample of the fitting points in this process with
  each engine (a figure the load of other programs inflates less than wall time), and the rate
  ``workers`` cores would reach at that cost with no overhead;
- the machine's load average before and after (the machine is shared; under load the wall-time
  figures drop while the CPU figures hold).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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
from accelsim.dse.fastsim import fast_simulate
from accelsim.dse.rows import OK, counts, failures, point_row
from accelsim.dse.store import read_results
from accelsim.hw import load_config
from accelsim.sim.synthetic import resnet_shapes

#: The target of issue 16: points per minute on 2 cores, network building included.
TARGET = 20_000

#: 10,000 VGG-16 designs on the default device: 80 PE arrays x 125 DDR bandwidths.
SPEC = {
    "name": "benchmark",
    "workloads": ["vgg16"],
    "parameters": {
        "pe.kind": ["krp_gsnq", "gsnq_shift", "mult_lut", "mult_dsp"],
        "pe.tn": [2, 4, 8, 16, 32],  # powers of two (docs/microarchitecture.md, section 1)
        "pe.tm": [1, 2, 4, 8],
        "ddr.bytes_per_cycle": [2, 4, 8, 16, 32],
        "ddr.latency_cycles": list(range(8, 201, 8)),
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


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children (the workers)."""
    return tuple(usage.ru_utime + usage.ru_stime  # type: ignore[return-value]
                 for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def load() -> str:
    """The machine's 1-minute load average and its CPUs."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--check-every", type=int, default=None,
                        help="points re-simulated by SimPy: one in N (default: the sweep default, 100; 0: none)")
    args = parser.parse_args()
    spec = spec_from_dict(SPEC if args.check_every is None else {**SPEC, "check_every": args.check_every})
    before = load()
    start = time.perf_counter()
    fast_simulate(resnet_shapes(1), load_config())  # Numba: compile, or load from the on-disk cache
    compilation = time.perf_counter() - start
    stamps: list[float] = []
    done: list[int] = []

    def progress(state: SweepProgress) -> None:
        if state.done:  # from the first finished task on: no worker start-up
            stamps.append(state.seconds)
            done.append(state.done)

    cpu_before = cpu_seconds()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with LocalExecutor(args.workers) as executor:  # closed (workers joined) inside the clock
            summary = run_sweep(spec, Path(folder) / "results", executor, progress=progress)
        total = time.perf_counter() - start
        parent, workers = (after - before for after, before in zip(cpu_seconds(), cpu_before))
        cpu = parent + workers
        rows = read_results(Path(folder) / "results").to_pylist()
    after = load()
    finished = [row for row in rows if row["status"] == OK]
    fitting = {row["point_id"] for row in finished if counts(row)}
    checked = sum(bool(row["checked"]) for row in finished)
    steady = 60 * (done[-1] - done[0]) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    rate = 60 * summary.ran / total
    print(f"VGG-16 sweep, {summary.workers} local workers, {spec.engine.value} engine checked every "
          f"{spec.check_every}: {summary.ran:,} points ({summary.failed} failed), {checked} re-simulated by SimPy "
          "and equal field by field")
    print(f"fit {len(fitting):,} of {len(rows):,} points fit the device; {len(finished) - len(fitting):,} finished "
          f"without fitting (column fits false), {len(rows) - len(finished)} failed:")
    for message, count in failures(rows).most_common(4):
        print(f"    {count} x {message}")
    print(f"one-time compilation {compilation:.2f} s (before the clock: excluded from every figure below)")
    print(f"build {summary.build_seconds:.2f} s, points {summary.seconds:.2f} s, total {total:.2f} s")
    print(f"points/min {rate:,.0f} (network building and worker start-up included; target {TARGET:,}: "
          f"{'met' if rate >= TARGET else f'{rate / TARGET:.0%} of it'}), steady points/min {steady:,.0f}")
    print(f"CPU of the sweep: {cpu:.1f} s ({parent:.1f} s this process, {workers:.1f} s the workers), "
          f"{1e3 * cpu / summary.ran:.2f} ms per point; "
          f"{args.workers} cores at that cost reach {args.workers * 60 * summary.ran / cpu:,.0f} points/min")
    print(f"machine: {before} before, {after} after")
    for engine in Engine:
        cpu = cpu_per_point(SPEC, fitting, 200 if engine is Engine.FAST else 20, engine)
        print(f"CPU per point, {engine.value:<5} engine: {1e3 * cpu:.2f} ms in one process; {args.workers} cores at "
              f"that cost reach {args.workers * 60 / cpu:,.0f} points/min")


if __name__ == "__main__":
    main()
