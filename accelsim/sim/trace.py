"""Export of a simulation trace: Chrome trace-event JSON (opens in Perfetto) and CSV.

Both return bytes; the caller writes them (``accelsim.outputs.atomic_write_bytes``). The CSV
columns are the trace tuple of ``docs/microarchitecture.md`` section 10
(``layer,event,tile,part,start,end``, cycles), which the RTL testbench logs too.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from ..errors import ConfigError, brief
from .plan import EventKind
from .results import SimulationResult

#: One Perfetto track (thread) per engine, in display order.
TRACKS: dict[EventKind, tuple[int, str]] = {
    EventKind.LOAD_INPUT: (1, "input DMA"),
    EventKind.LOAD_WEIGHT: (2, "weight DMA"),
    EventKind.COMPUTE: (3, "PE array"),
    EventKind.VECTOR: (4, "PE datapath, vector mode"),
    EventKind.STORE_OUTPUT: (5, "store DMA"),
}
LAYER_TRACK = (0, "layers")
CSV_COLUMNS = ("layer", "event", "tile", "part", "start", "end")


def trace_csv(result: SimulationResult) -> bytes:
    """The trace as CSV, one event per row, cycles as integers."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in result.trace:
        writer.writerow((event.layer, event.event.value, event.tile, event.part, event.start, event.end))
    return text.getvalue().encode()


def _metadata(tid: int, name: str) -> dict[str, object]:
    return {"name": "thread_name", "ph": "M", "pid": 0, "tid": tid, "args": {"name": name}}


def _span(name: str, category: str, tid: int, start: int, end: int, mhz: float,
          args: dict[str, object]) -> dict[str, object]:
    """A complete ("X") event; ``ts``/``dur`` in microseconds, cycles kept in ``args``."""
    return {
        "name": name, "cat": category, "ph": "X", "pid": 0, "tid": tid,
        "ts": start / mhz, "dur": (end - start) / mhz,
        "args": {**args, "start_cycle": start, "end_cycle": end},
    }


def trace_chrome_json(result: SimulationResult) -> bytes:
    """The trace as Chrome trace-event JSON: a track per engine plus one of layer spans."""
    mhz = result.config.clock_mhz
    events: list[dict[str, object]] = [{"name": "process_name", "ph": "M", "pid": 0,
                                        "args": {"name": f"accelsim {result.network} on {result.config.name}"}}]
    events += [_metadata(tid, name) for tid, name in (LAYER_TRACK, *TRACKS.values())]
    for layer in result.layers:
        if layer.cycles:
            events.append(_span(layer.name, "layer", LAYER_TRACK[0], layer.start_cycle, layer.end_cycle, mhz,
                                {"kind": layer.kind.value, "stall_cycles": layer.stall_cycles}))
    for event in result.trace:
        events.append(_span(event.event.value, event.layer, TRACKS[event.event][0], event.start, event.end, mhz,
                            {"layer": event.layer, "tile": event.tile, "part": event.part}))
    payload = {"traceEvents": events, "displayTimeUnit": "ns",
               "otherData": {"clock_mhz": mhz, "total_cycles": result.total_cycles}}
    return (json.dumps(payload) + "\n").encode()


def trace_format(path: str | Path) -> str:
    """``"json"`` (Chrome trace) or ``"csv"``: the trace format named by ``path``'s suffix.

    Raises:
        ConfigError: another suffix.
    """
    suffix = Path(path).suffix.lower() if isinstance(path, (str, os.PathLike)) else None
    if suffix not in (".json", ".csv"):
        shown = brief(os.fspath(path)) if suffix is not None else brief(path)
        raise ConfigError(f"trace path must end in '.json' (Chrome trace) or '.csv', not {shown}")
    return suffix[1:]


def export_trace(result: SimulationResult, path: str | Path) -> bytes:
    """The trace in the format named by ``path``'s suffix: ``.json`` (Chrome) or ``.csv``.

    Raises:
        ConfigError: ``result`` is not a simulation result, or ``path`` has another suffix.
    """
    if not isinstance(result, SimulationResult):
        raise ConfigError(f"result must be a SimulationResult (from accelsim.simulate), not {brief(result)}")
    return trace_chrome_json(result) if trace_format(path) == "json" else trace_csv(result)
