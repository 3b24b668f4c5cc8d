"""One result row per design point, computed where the point runs (a worker process).

A row holds the point's identity, workload and varied field values, then either its metrics
(``status = "ok"``) or the error that stopped it (``status = "error"``, metrics empty), the engine
that produced it, the wall time spent on it and the complete configuration as JSON. Errors a
user can cause (:class:`~accelsim.errors.AccelsimError`: e.g. a combination that does not fit
the device) and unexpected exceptions alike are recorded, so one bad point never stops a sweep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..hw.config import config_from_dict
from .design import evaluate
from .metrics import METRICS
from .points import DesignPoint
from .workload import network_for

#: Columns every row has before the parameter columns.
KEY_COLUMNS = ("point_id", "workload")
#: Columns after the parameters, before the metrics.
STATUS_COLUMNS = ("status", "error", "engine")
#: Columns after the metrics.
TAIL_COLUMNS = ("seconds", "config")

OK, ERROR = "ok", "error"


def _row(point: DesignPoint, outcome: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {"point_id": point.point_id, "workload": point.workload.label, **dict(point.values), **outcome,
            "seconds": seconds, "config": json.dumps(point.config, sort_keys=True)}


def error_row(point: DesignPoint, message: str, seconds: float = 0.0) -> dict[str, Any]:
    """The row of a point that failed with ``message``."""
    return _row(point, {"status": ERROR, "error": message, "engine": None, **dict.fromkeys(METRICS)}, seconds)


def point_row(point: DesignPoint) -> dict[str, Any]:
    """Evaluate ``point`` and return its row (never raises for a bad point)."""
    start = time.perf_counter()
    try:
        config = config_from_dict(point.config, f"point {point.point_id}")
        result = evaluate(network_for(point.network_key), config)
    except Exception as error:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        return error_row(point, f"{type(error).__name__}: {error}", time.perf_counter() - start)
    outcome = {"status": OK, "error": None, "engine": result.engine.value, **result.metrics()}
    return _row(point, outcome, time.perf_counter() - start)


def chunk_rows(points: Sequence[DesignPoint]) -> list[dict[str, Any]]:
    """Rows of several points (one task of an executor)."""
    return [point_row(point) for point in points]
