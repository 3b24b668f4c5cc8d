"""Trace export: CSV and Chrome trace-event JSON carry exactly the simulated events."""

from __future__ import annotations

import csv
import io
import json

import pytest

from accelsim.errors import ConfigError
from accelsim.hw import DdrConfig, HwConfig, PeConfig
from accelsim.sim import NetworkBuilder, simulate
from accelsim.sim.trace import export_trace, trace_chrome_json, trace_csv


@pytest.fixture(scope="module")
def result():
    builder = NetworkBuilder((2, 4, 4))
    builder.conv(4, kernel=3, name="conv")
    builder.pool(2, name="pool")
    config = HwConfig(clock_mhz=100, pe=PeConfig(tn=2, tm=2, pipeline_depth=4),
                      ddr=DdrConfig(bytes_per_cycle=4, latency_cycles=2, burst_bytes=64))
    return simulate(builder.build(), config)


def test_csv_rows_are_the_trace(result):
    rows = list(csv.reader(io.StringIO(trace_csv(result).decode())))
    assert rows[0] == ["layer", "event", "tile", "part", "start", "end"]
    assert rows[1:] == [[e.layer, e.event.value, str(e.tile), str(e.part), str(e.start), str(e.end)]
                        for e in result.trace]
    assert rows[1] == ["conv", "load_input", "0", "0", "0", "10"]  # 32 B at 4 B/cycle + 2


def test_chrome_trace_has_one_span_per_event_in_microseconds(result):
    payload = json.loads(trace_chrome_json(result))
    spans = [e for e in payload["traceEvents"] if e["ph"] == "X" and e["cat"] != "layer"]
    assert len(spans) == len(result.trace)
    first = spans[0]
    assert (first["name"], first["args"]["start_cycle"], first["args"]["end_cycle"]) == ("load_input", 0, 10)
    assert first["ts"] == 0 and first["dur"] == pytest.approx(0.1)  # 10 cycles at 100 MHz = 0.1 us
    layers = [e for e in payload["traceEvents"] if e.get("cat") == "layer"]
    assert [e["name"] for e in layers] == ["conv", "pool"]
    assert layers[-1]["args"]["end_cycle"] == result.total_cycles
    names = {e["args"]["name"] for e in payload["traceEvents"] if e["name"] == "thread_name"}
    assert {"PE array", "PE datapath, vector mode", "input DMA", "store DMA"} <= names


def test_export_picks_the_format_by_suffix(result):
    assert export_trace(result, "t.csv") == trace_csv(result)
    assert export_trace(result, "t.JSON") == trace_chrome_json(result)
    with pytest.raises(ConfigError, match=r"^trace path must end in '.json' .* not 'trace.txt'$"):
        export_trace(result, "trace.txt")
