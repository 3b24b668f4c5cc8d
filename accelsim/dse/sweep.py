"""Run a sweep: every design point of a spec, on an executor, appended to a results folder.

:func:`run_sweep` opens (or resumes) the results folder, skips the points it already holds, builds
each needed network once in this process and installs it in the workers, then runs the remaining
points in chunks and appends their rows as they finish: buffered rows are written as one part
file every ``flush_seconds`` and whatever is buffered when the sweep ends, fails or is
interrupted. A point that fails is a row with its error; a network that cannot be built makes
error rows for its points without running them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AccelsimError, ConfigError, brief
from ..integer.graph import IntegerNetwork
from .executors import Executor, LocalExecutor
from .points import DesignPoint, design_points
from .rows import OK, chunk_rows, error_row
from .spec import SweepSpec
from .store import ResultStore
from .workload import NetworkKey, build_network, network_for

#: Seconds between two part files while points keep finishing.
FLUSH_SECONDS = 2.0
#: Largest number of points in one task.
MAX_CHUNK = 16


@dataclass(frozen=True)
class SweepProgress:
    """Progress of a running sweep (passed to the ``progress`` callback once before the first task
    and after each task).

    Attributes:
        done: points finished in this run (including failed ones).
        failed: points of this run that failed.
        todo: points this run has to do.
        skipped: points already in the results folder when the run started.
        seconds: wall time since the first point was submitted.
    """

    done: int
    failed: int
    todo: int
    skipped: int
    seconds: float


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep run did.

    Attributes:
        name: the sweep's name.
        out: the results folder.
        points: design points of the spec.
        skipped: points already finished before this run.
        ran: points run now (ok + failed).
        failed: points of this run that failed.
        seconds: wall time of this run's points (after building the networks), seconds.
        build_seconds: wall time to build the networks, seconds.
        parts: part files written by this run.
        workers: workers of the executor.
        unreadable: parts found unreadable and set aside (name, reason); their points were run again.
    """

    name: str
    out: str
    points: int
    skipped: int
    ran: int
    failed: int
    seconds: float
    build_seconds: float
    parts: int
    workers: int
    unreadable: tuple[tuple[str, str], ...] = ()

    @property
    def points_per_minute(self) -> float:
        """Points run per minute of wall time (network building excluded)."""
        return 60 * self.ran / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"name": self.name, "out": self.out, "points": self.points, "skipped": self.skipped,
                "ran": self.ran, "failed": self.failed, "seconds": self.seconds,
                "build_seconds": self.build_seconds, "points_per_minute": self.points_per_minute,
                "parts": self.parts, "workers": self.workers,
                "unreadable": [{"part": name, "reason": reason} for name, reason in self.unreadable]}


def chunk_size(points: int, workers: int) -> int:
    """Points per task: about eight tasks per worker, at most :data:`MAX_CHUNK`, at least 1."""
    return max(1, min(MAX_CHUNK, points // (8 * workers)))


def _chunks(points: Sequence[DesignPoint], size: int) -> list[tuple[DesignPoint, ...]]:
    return [tuple(points[index:index + size]) for index in range(0, len(points), size)]


def _build(keys: set[NetworkKey], cache: bool) -> tuple[dict[NetworkKey, IntegerNetwork], dict[NetworkKey, str]]:
    """Build each network (once per process, via the network cache; afresh without ``cache``); a user
    error becomes that network's error message."""
    built: dict[NetworkKey, IntegerNetwork] = {}
    failed: dict[NetworkKey, str] = {}
    for key in sorted(keys, key=lambda k: (k.workload.label, k.act_bits, k.weights or "")):
        try:
            built[key] = network_for(key) if cache else build_network(key, cache=False)
        except AccelsimError as error:
            failed[key] = f"{type(error).__name__}: {error}"
    return built, failed


def run_sweep(spec: SweepSpec, out: str | Path, executor: Executor | None = None, *,
              progress: Callable[[SweepProgress], None] | None = None,
              flush_seconds: float = FLUSH_SECONDS, cache: bool = True) -> SweepSummary:
    """Run the points of ``spec`` not yet in ``out`` on ``executor`` (default: local processes).

    The networks are built here (``cache``: read from or stored in the network cache) and installed
    in the workers. The results folder is locked for the whole run (see :mod:`accelsim.dse.store`).

    Raises:
        ConfigError: ``spec`` is not a sweep spec, or ``out`` is not usable (see
            :meth:`ResultStore.open`): e.g. not a path, another sweep is writing it, or it holds the
            results of another spec.
        ExecutorError: the executor failed; rows finished before are written.
    """
    if not isinstance(spec, SweepSpec):
        raise ConfigError(f"spec must be a SweepSpec (e.g. accelsim.load_spec('sweep.yaml')), not {brief(spec)}")
    with ResultStore.open(out, spec) as store:
        return _run(spec, store, executor, progress, flush_seconds, cache)


def _run(spec: SweepSpec, store: ResultStore, executor: Executor | None,
         progress: Callable[[SweepProgress], None] | None, flush_seconds: float, cache: bool) -> SweepSummary:
    """:func:`run_sweep` on an open (locked) results folder."""
    points = design_points(spec)
    finished = store.finished_ids()
    todo = [point for point in points if point.point_id not in finished]
    runner = executor or LocalExecutor()
    start = time.perf_counter()
    networks, unbuilt = _build({point.network_key for point in todo}, cache)
    build_seconds = time.perf_counter() - start
    runnable = [point for point in todo if point.network_key in networks]
    buffer = [error_row(point, unbuilt[point.network_key]) for point in todo if point.network_key in unbuilt]
    done, failed, parts = len(buffer), len(buffer), 0
    start = last_flush = time.perf_counter()

    def flush() -> None:
        nonlocal parts, buffer, last_flush
        if store.append(buffer) is not None:
            parts += 1
        buffer, last_flush = [], time.perf_counter()

    if progress is not None:
        progress(SweepProgress(done, failed, len(todo), len(finished), 0.0))
    try:
        if runnable:
            runner.install(networks)
            task = functools.partial(chunk_rows, engine=spec.engine, check_every=spec.check_every)
            for rows in runner.map_unordered(task, _chunks(runnable, chunk_size(len(runnable), runner.workers))):
                buffer.extend(rows)
                done += len(rows)
                failed += sum(row["status"] != OK for row in rows)
                if progress is not None:
                    progress(SweepProgress(done, failed, len(todo), len(finished), time.perf_counter() - start))
                if time.perf_counter() - last_flush >= flush_seconds:
                    flush()
    finally:
        flush()
        if executor is None:
            runner.close()
    return SweepSummary(spec.name, str(store.folder), len(points), len(finished), done, failed,
                        time.perf_counter() - start, build_seconds, parts, runner.workers, tuple(store.unreadable))
