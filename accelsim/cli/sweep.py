"""``accelsim sweep``: run a design-space sweep from a YAML spec into a Parquet results folder.

Thin: loads the spec (every error before any point runs), connects the executor (local processes,
or Dask with ``--scheduler``), shows a progress bar on stderr, and prints what the sweep did and
the fastest design of each workload among those that fit their device (``--include-unfit``: among
all finished ones).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from ..dse.executors import CONNECT_TIMEOUT_S
from ..dse.lifetime import sigterm_interrupts
from .numbers import count
from .run import NO_CACHE_HELP

if TYPE_CHECKING:
    from ..dse import SweepProgress, SweepSpec


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` sub-command."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a design-space sweep (grid, random or Latin hypercube) into a Parquet results folder",
        description=(
            "Simulate every design point of a sweep spec (configuration fields x workloads; see "
            "configs/sweeps/*.yaml and docs/dse.md) on local worker processes or a Dask cluster. Results are "
            "appended to the folder --out as points finish; rerunning resumes and skips finished points."
        ),
    )
    parser.add_argument("spec", metavar="SPEC.yaml", help="the sweep spec")
    parser.add_argument("--out", metavar="RESULTS", required=True,
                        help="results folder (created; an existing one of the same sweep is resumed)")
    parser.add_argument("--scheduler", metavar="ADDRESS|local",
                        help="run on the Dask scheduler at ADDRESS (e.g. tcp://host:8786), or 'local' for a new "
                             "local Dask cluster; default: local worker processes")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes (local pool or local Dask cluster; default: one per CPU)")
    parser.add_argument("--timeout", type=float, default=CONNECT_TIMEOUT_S, metavar="SECONDS",
                        help=f"wait this long for the Dask scheduler and a worker, and at most this long without "
                             f"a scheduler or any worker mid-sweep (default {CONNECT_TIMEOUT_S:g})")
    parser.add_argument("--include-unfit", action="store_true",
                        help="the fastest design may be one that does not fit its device (column fits false, e.g. "
                             "over its LUTs); by default only designs that fit count")
    parser.add_argument("--no-cache", action="store_true", help=NO_CACHE_HELP)
    parser.set_defaults(handler=run)
    return parser


class ProgressBar:
    """A tqdm bar on stderr fed by :class:`SweepProgress` updates: points done, rate, ETA, failures."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def __call__(self, state: SweepProgress) -> None:
        if self.bar is None:
            self.bar = tqdm(total=state.todo + state.skipped, initial=state.skipped, unit="pt", file=sys.stderr,
                            dynamic_ncols=True, desc="points", smoothing=0.1)
        self.bar.update(state.skipped + state.done - self.bar.n)
        self.bar.set_postfix(failed=state.failed, refresh=False)

    def close(self) -> None:
        """Finish the bar's line."""
        if self.bar is not None:
            self.bar.close()


def _describe(spec: SweepSpec) -> None:
    print(f"sweep {spec.name!r}: {spec.sampler.value} sampler over {', '.join(spec.parameter_names)}; "
          f"workloads {', '.join(w.label for w in spec.workloads)}; base configuration {spec.base.name!r}")


def _best(rows: list[dict[str, Any]], names: tuple[str, ...], include_unfit: bool) -> list[dict[str, Any]]:
    """Per workload, the counted row (:func:`accelsim.dse.rows.counts`) of lowest latency."""
    from ..dse.rows import counts

    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        if counts(row, include_unfit) and (row["workload"] not in best or
                                           row["total_cycles"] < best[row["workload"]]["total_cycles"]):
            best[row["workload"]] = row
    return [{"workload": w, "point_id": r["point_id"], **{n: r[n] for n in names}, "total_cycles": r["total_cycles"],
             "latency_ms": r["latency_ms"], "lut": r["lut"], "dsp": r["dsp"], "bram36": r["bram36"], "fits": r["fits"]}
            for w, r in best.items()]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load the spec, connect the executor, run the sweep with a progress bar; print the summary."""
    from ..dse import load_spec, make_executor, read_results, run_sweep
    from ..dse.rows import OK, counts, failures

    spec = load_spec(args.spec)
    _describe(spec)
    bar = ProgressBar()
    with sigterm_interrupts(), make_executor(args.scheduler, args.workers, args.timeout) as executor:
        where = "local processes" if args.scheduler is None else f"Dask ({args.scheduler})"
        print(f"executor: {executor.workers} workers on {where}; building networks...", flush=True)
        try:
            summary = run_sweep(spec, args.out, executor, progress=bar, cache=not args.no_cache)
        finally:
            bar.close()
    rows = read_results(args.out).to_pylist()
    errors = failures(rows)
    print(f"points    {summary.points} in the spec: {summary.skipped} already done, {summary.ran} run now "
          f"({summary.failed} failed)")
    print(f"time      {summary.seconds:.1f} s ({summary.points_per_minute:,.0f} points/min on {summary.workers} "
          f"workers) after {summary.build_seconds:.1f} s building networks")
    print(f"results   {len(rows)} rows in {args.out} ({summary.parts} part files written now)")
    for message, times in errors.most_common(5):
        print(f"failed    {times} x {message}")
    for name, reason in summary.unreadable:
        print(f"set aside {name}: unreadable ({reason}); its points were run again")
    finished = [row for row in rows if row["status"] == OK]
    fitting = sum(counts(row) for row in finished)
    print(f"fit       {fitting} of {len(finished)} finished designs fit their device"
          + ("" if fitting == len(finished) or args.include_unfit else
             "; the others are left out of the fastest (--include-unfit counts them)"))
    best = _best(rows, spec.parameter_names, args.include_unfit)
    for row in best:
        values = ", ".join(f"{name}={row[name]}" for name in spec.parameter_names)
        print(f"fastest   {row['workload']}: {row['latency_ms']:.3f} ms ({count(row['total_cycles'])} cycles), "
              f"{count(row['lut'])} LUT, {count(row['dsp'])} DSP, {count(row['bram36'])} BRAM36 at {values}"
              + ("" if row["fits"] else " (does NOT fit its device)"))
    for workload in sorted({row["workload"] for row in finished} - {row["workload"] for row in best}):
        print(f"fastest   {workload}: none of its finished designs fits its device (--include-unfit counts them)")
    return {**summary.to_dict(), "rows": len(rows), "errors": dict(errors), "fits": fitting, "fastest": best}
