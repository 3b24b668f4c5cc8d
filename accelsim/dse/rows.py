"""One result row per design point, computed where the point runs (a worker process).

A row holds the point's identity, workload and varied field values, then either its metrics
(``status = "ok"``) or the error that stopped it (``status = "error"``, metrics empty), the engine
that produced it, whether the SimPy reference re-simulated it to check the fast engine
(``checked``), whether the design fits its device, LUTs and FFs included (``fits``: the verdict of
:func:`accelsim.hw.fits`; a design over the LUTs still simulates, so it is a finished row), the wall
time spent on it and the complete configuration as JSON. Summaries and Pareto fronts count only
the rows :func:`counts` accepts: finished designs that fit, unless asked to include the others. Errors a user
can cause (:class:`~accelsim.errors.AccelsimError`: e.g. a combination that does not fit the
device) and unexpected exceptions alike are recorded, so one bad point never stops a sweep. A
checked point whose fast result differs from the reference in any field is an error row naming
the first difference.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..hw.config import config_from_dict
from ..hw.resources import estimate_resources, fits
from ..sim import SimulationResult, simulate
from .design import DesignResult, Engine, evaluate
from .fastsim import fast_simulate
from .metrics import METRICS
from .points import DesignPoint
from .workload import network_for

#: Columns every row has before the parameter columns.
KEY_COLUMNS = ("point_id", "workload")
#: Columns after the parameters, before the metrics.
STATUS_COLUMNS = ("status", "error", "engine", "checked", "fits")
#: Columns after the metrics.
TAIL_COLUMNS = ("seconds", "config")

OK, ERROR = "ok", "error"


def _row(point: DesignPoint, outcome: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {"point_id": point.point_id, "workload": point.workload.label, **dict(point.values), **outcome,
            "seconds": seconds, "config": json.dumps(point.config, sort_keys=True)}


def counts(row: Mapping[str, Any], include_unfit: bool = False) -> bool:
    """Whether ``row`` counts in a summary or a Pareto front: a finished point (``status`` ok) whose
    design fits its device (``fits``; a row without the column counts), or any finished point with
    ``include_unfit``."""
    return row.get("status", OK) == OK and (include_unfit or row.get("fits", True) is not False)


def error_row(point: DesignPoint, message: str, seconds: float = 0.0, engine: Engine | None = None,
              checked: bool = False) -> dict[str, Any]:
    """The row of a point that failed with ``message``."""
    outcome = {"status": ERROR, "error": message, "engine": engine.value if engine else None, "checked": checked,
               "fits": None, **dict.fromkeys(METRICS)}
    return _row(point, outcome, seconds)


def is_checked(point: DesignPoint, check_every: int) -> bool:
    """Whether the fast engine's result of ``point`` is re-simulated by the reference."""
    return check_every > 0 and int(point.point_id, 16) % check_every == 0


def disagreement(fast: SimulationResult, reference: SimulationResult) -> str | None:
    """The first field in which ``fast`` differs from ``reference`` (trace and event count aside)."""
    if len(fast.layers) != len(reference.layers):
        return f"{len(fast.layers)} layers, the reference {len(reference.layers)}"
    for mine, theirs in zip(fast.layers, reference.layers):
        for field in dataclasses.fields(mine):
            if getattr(mine, field.name) != getattr(theirs, field.name):
                return (f"layer {mine.name!r} {field.name} = {getattr(mine, field.name)!r}, "
                        f"the reference {getattr(theirs, field.name)!r}")
    if fast.total_cycles != reference.total_cycles:
        return f"total_cycles = {fast.total_cycles}, the reference {reference.total_cycles}"
    return None


def point_row(point: DesignPoint, engine: Engine = Engine.FAST, check_every: int = 0) -> dict[str, Any]:
    """Evaluate ``point`` with ``engine`` (checked against the reference if chosen) and return its row.

    Never raises for a bad point: its row records the error.
    """
    start = time.perf_counter()
    checked = engine is Engine.FAST and is_checked(point, check_every)
    try:
        config = config_from_dict(point.config, f"point {point.point_id}")  # requires the design to fit
        network = network_for(point.network_key)
        if engine is Engine.FAST:  # evaluate(), without requiring the fit a second time
            result = DesignResult(fast_simulate(network, config, fit_checked=True), estimate_resources(config),
                                  fits(config), Engine.FAST)
        else:
            result = evaluate(network, config, engine=engine)
        if checked:
            differs = disagreement(result.simulation, simulate(network, config, keep_trace=False))
            if differs is not None:
                return error_row(point, f"the fast engine disagrees with the simpy reference: {differs}",
                                 time.perf_counter() - start, engine, checked)
    except Exception as error:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        return error_row(point, f"{type(error).__name__}: {error}", time.perf_counter() - start)
    outcome = {"status": OK, "error": None, "engine": result.engine.value, "checked": checked,
               "fits": result.fit.fits, **result.metrics()}
    return _row(point, outcome, time.perf_counter() - start)


def failures(rows: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """How many failed rows have each error, the point's id left out so identical failures group.

    Errors name their point (e.g. ``ConfigError: point 3f2a...: ... does not fit``); the id is
    replaced by ``<point>`` in the message that is counted.
    """
    return Counter(str(row["error"]).replace(str(row["point_id"]), "<point>")
                   for row in rows if row["status"] != OK)


def chunk_rows(points: Sequence[DesignPoint], engine: Engine = Engine.FAST, check_every: int = 0) -> list[dict[str, Any]]:
    """Rows of several points (one task of an executor)."""
    return [point_row(point, engine, check_every) for point in points]
