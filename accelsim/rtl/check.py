"""The cross-check: the RTL against the simulator (cycles, trace) and the integer datapath (outputs).

For every chosen layer, :func:`cross_check` runs

- the SimPy model (:func:`accelsim.sim.simulate`) of the whole network: the layer's cycles and its
  events ``(event, tile, part, start, end)``, times relative to the layer's start;
- the Numba datapath (:func:`accelsim.integer.run` with ``activations=True``) on one seeded
  image: the layer's input and its bit-exact output;
- the Verilog core under Verilator (:mod:`accelsim.rtl.emit`, :mod:`accelsim.rtl.verilator`):
  the layers back to back, each on the datapath's input of that layer, one build per design
  point (cached), one run.

and compares cycles (equal or not), outputs (equal or the first differing element) and traces
(equal or the first divergent event, in the trace order of docs/microarchitecture.md,
section 10). Nothing is printed; the CLI (:mod:`accelsim.cli.rtl`) reports.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolError, brief
from ..hw.config import HwConfig
from ..integer import IntegerNetwork, run
from ..integer.graph import AddLayer, ConcatLayer, ConvLayer, LinearLayer, PoolLayer
from ..sim import simulate
from ..sim.plan import EventKind, check_arguments
from ..synth.cache import cache_root
from .emit import (
    TESTBENCH_MODULE,
    RunImage,
    design_files,
    harness_source,
    layer_run,
    library_sources,
    read_dump,
    write_run,
)
from .params import rtl_parameters
from .verilator import VerilatorRunner

#: Trace order of event kinds (docs/microarchitecture.md, section 10).
EVENT_ORDER = {kind.value: order for order, kind in enumerate(EventKind)}

#: Cycles a run may exceed twice the simulated cycles by before it is stopped (a hung RTL).
CYCLE_MARGIN = 10_000

#: Layer names a message about ``layers`` lists at most.
SHOWN_LAYERS = 12

#: One event relative to its layer's start: (event, tile, part, start, end).
Event = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class LayerCheck:
    """The comparison of one layer.

    Attributes:
        name: the layer.
        sim_cycles, rtl_cycles: cycles from the layer's start to its end on each side.
        outputs_match: whether the RTL's output feature map equals the datapath's.
        first_mismatch: ``{"index": [...], "rtl": v, "expected": v}`` of the first differing
            element (C order), or None.
        traces_match: whether the event lists are equal.
        first_divergence: ``{"position": i, "rtl": event, "sim": event}`` (an event is None past
            the end of its list), or None.
        events: events of the simulator's trace.
    """

    name: str
    sim_cycles: int
    rtl_cycles: int
    outputs_match: bool
    first_mismatch: dict[str, Any] | None
    traces_match: bool
    first_divergence: dict[str, Any] | None
    events: int

    @property
    def passed(self) -> bool:
        """Equal cycles, outputs and traces."""
        return self.sim_cycles == self.rtl_cycles and self.outputs_match and self.traces_match

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return {
            "name": self.name,
            "sim_cycles": self.sim_cycles,
            "rtl_cycles": self.rtl_cycles,
            "cycle_difference": self.rtl_cycles - self.sim_cycles,
            "outputs_match": self.outputs_match,
            "first_mismatch": self.first_mismatch,
            "traces_match": self.traces_match,
            "first_divergence": self.first_divergence,
            "events": self.events,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class CheckResult:
    """A cross-check of some layers of a network on one configuration.

    Attributes:
        network: network name.
        config: the hardware configuration.
        layers: per-layer comparisons, in run order.
        sim_seconds: wall time of the simulation of the whole network.
        datapath_seconds: wall time of the integer datapath run.
        build_seconds: wall time of the Verilator build (or of finding it in the cache).
        build_cached: whether the build was reused.
        rtl_seconds: wall time of the Verilator run (all chosen layers).
        rtl_cycles_total: cycles the RTL ran (the chosen layers back to back).
    """

    network: str
    config: HwConfig
    layers: tuple[LayerCheck, ...]
    sim_seconds: float
    datapath_seconds: float
    build_seconds: float
    build_cached: bool
    rtl_seconds: float
    rtl_cycles_total: int

    @property
    def passed(self) -> bool:
        """Whether every layer passed."""
        return all(layer.passed for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary with a ``layers`` list."""
        return {
            "network": self.network,
            "config": self.config.name,
            "pe_kind": self.config.pe.kind.value,
            "passed": self.passed,
            "sim_seconds": self.sim_seconds,
            "datapath_seconds": self.datapath_seconds,
            "build_seconds": self.build_seconds,
            "build_cached": self.build_cached,
            "rtl_seconds": self.rtl_seconds,
            "rtl_cycles_total": self.rtl_cycles_total,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def default_cache_dir() -> Path:
    """Where Verilator builds are kept: ``<accelsim cache>/verilator``."""
    return cache_root() / "verilator"


def seeded_image(network: IntegerNetwork, seed: int) -> np.ndarray:
    """One seeded input image (a batch of one) uniform over the input tensor's integer range."""
    spec = network.input
    rng = np.random.default_rng(seed)
    return rng.integers(spec.lo, spec.hi + 1, size=(1, *spec.shape)).astype(np.int64)


def check_layer_names(network: IntegerNetwork, layers: Sequence[str] | None) -> None:
    """Every name of ``layers`` must be a layer of ``network`` (checked before anything runs).

    Raises:
        ConfigError: ``layers`` is a string, not a list, or names no layer of ``network``; the message
            lists the layers the RTL runs (the first :data:`SHOWN_LAYERS`).
    """
    if layers is None:
        return
    if isinstance(layers, str):
        raise ConfigError(f"layers must be a list of layer names, not the string {brief(layers)}")
    known = {layer.name for layer in network.layers}
    unknown = [name for name in layers if name not in known]
    if unknown:
        runnable = [layer.name for layer in network.layers
                    if isinstance(layer, (ConvLayer, LinearLayer, PoolLayer, AddLayer))]
        shown = ", ".join(repr(name) for name in runnable[:SHOWN_LAYERS])
        more = f", ... ({len(runnable)} in all)" if len(runnable) > SHOWN_LAYERS else ""
        raise ConfigError(f"layers must name layers of network {network.name!r} the RTL runs ({shown}{more}), "
                          f"not {brief(unknown[0])}")


def _layer_inputs(
    network: IntegerNetwork, image: np.ndarray, activations: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, ...]]:
    """Each layer's inputs (two for an add), one image."""
    values = {"input": image, **activations}
    inputs = {}
    for layer in network.layers:
        sources = layer.inputs if isinstance(layer, (AddLayer, ConcatLayer)) else (layer.input,)
        inputs[layer.name] = tuple(values[source][0] for source in sources)
    return inputs


def parse_trace(path: Path) -> tuple[dict[int, list[Event]], dict[int, tuple[int, int]], list[str]]:
    """The testbench's trace file: events and ``(start, end)`` per run layer, and error lines."""
    events: dict[int, list[Event]] = {}
    spans: dict[int, tuple[int, int]] = {}
    errors: list[str] = []
    for line in path.read_text().splitlines():
        layer, event, tile, part, start, end = line.split()
        index = int(layer)
        if event == "layer":
            spans[index] = (int(start), int(end))
        elif event == "request":  # +requests=1 debugging lines
            continue
        elif event in EVENT_ORDER:
            events.setdefault(index, []).append((event, int(tile), int(part), int(start), int(end)))
        else:
            errors.append(line)
    return events, spans, errors


def _ordered(events: Sequence[Event], origin: int) -> list[Event]:
    """Events relative to ``origin``, in trace order: start, event kind, tile, part."""
    moved = [
        (event, tile, part, start - origin, end - origin)
        for event, tile, part, start, end in events
    ]
    return sorted(moved, key=lambda e: (e[3], EVENT_ORDER[e[0]], e[1], e[2]))


def first_divergence(rtl: Sequence[Event], sim: Sequence[Event]) -> dict[str, Any] | None:
    """The first position where two event lists differ, or None when they are equal."""
    for position in range(max(len(rtl), len(sim))):
        left = rtl[position] if position < len(rtl) else None
        right = sim[position] if position < len(sim) else None
        if left != right:
            return {
                "position": position,
                "rtl": list(left) if left else None,
                "sim": list(right) if right else None,
            }
    return None


def first_mismatch(rtl: np.ndarray, expected: np.ndarray) -> dict[str, Any] | None:
    """The first differing element (C order) of two equally shaped arrays, or None."""
    differ = np.argwhere(rtl != expected)
    if differ.size == 0:
        return None
    index = tuple(int(v) for v in differ[0])
    return {"index": list(index), "rtl": int(rtl[index]), "expected": int(expected[index])}


def cross_check(
    network: IntegerNetwork,
    config: HwConfig,
    *,
    layers: Sequence[str] | None = None,
    seed: int = 0,
    runner: VerilatorRunner | None = None,
    work_dir: Path | None = None,
    timeout: float | None = None,
) -> CheckResult:
    """Compare the RTL with the simulator and the datapath on ``layers`` of ``network``.

    Args:
        network: the integer network.
        config: the hardware configuration.
        layers: names of convolution, linear, pooling or add layers (default: all of them).
        seed: seed of the input image.
        runner: the Verilator runner (default: builds cached in :func:`default_cache_dir`).
        work_dir: folder for the run's files (default: a temporary folder, removed afterwards).
        timeout: seconds the Verilator run may take.

    Raises:
        ConfigError, UnsupportedLayerError: the configuration, a layer the RTL cannot run, or a
            name of ``layers`` that is no layer of the network (raised before anything is built). ToolNotFound, ToolError: Verilator.
    """
    check_arguments(network, config)
    check_layer_names(network, layers)
    params = rtl_parameters(config)
    image = seeded_image(network, seed)
    began = time.perf_counter()
    activations = run(network, image, activations=True).activations
    datapath_seconds = time.perf_counter() - began
    assert activations is not None
    run_image, _ = layer_run(
        network,
        config,
        _layer_inputs(network, image, activations),
        list(layers) if layers is not None else None,
    )
    began = time.perf_counter()
    sim = simulate(network, config)
    sim_seconds = time.perf_counter() - began
    run_names = {region.name for region in run_image.regions}
    runner = runner or VerilatorRunner(default_cache_dir())
    build = runner.build(
        library_sources(simulation=True) + [harness_source()],
        design_files(params),
        TESTBENCH_MODULE,
    )
    with tempfile.TemporaryDirectory(prefix="accelsim-rtl-") as scratch:
        folder = Path(work_dir) if work_dir is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        write_run(run_image, folder)
        expected_cycles = sum(layer.cycles for layer in sim.layers if layer.name in run_names)
        plusargs: dict[str, str | int] = {
            "ddr": str(folder / "ddr.hex"),
            "desc": str(folder / "desc.hex"),
            "trace": str(folder / "trace.txt"),
            "dump": str(folder / "dump.hex"),
            "dump_bytes": run_image.dump_bytes,
            "latency": config.ddr.latency_cycles,
            "max_cycles": 2 * expected_cycles + CYCLE_MARGIN,
        }
        outcome = runner.run(build, plusargs, folder, timeout=timeout)
        events, spans, errors = parse_trace(folder / "trace.txt")
        dump = read_dump(folder / "dump.hex", run_image.dump_bytes)
    if errors:
        raise ToolError(
            "the RTL run must finish cleanly, not stop with an error (see the trace line)",
            stderr=errors[0],
        )
    checks = _compare(run_image, sim, activations, events, spans, dump)
    return CheckResult(
        network=network.name,
        config=config,
        layers=checks,
        sim_seconds=sim_seconds,
        datapath_seconds=datapath_seconds,
        build_seconds=build.seconds,
        build_cached=build.cached,
        rtl_seconds=outcome.seconds,
        rtl_cycles_total=max((end for _, end in spans.values()), default=0),
    )


def _compare(
    run_image: RunImage,
    sim: Any,
    activations: dict[str, np.ndarray],
    events: dict[int, list[Event]],
    spans: dict[int, tuple[int, int]],
    dump: np.ndarray,
) -> tuple[LayerCheck, ...]:
    """Per-layer comparisons of one RTL run."""
    sim_layers = {layer.name: layer for layer in sim.layers}
    checks = []
    for region in run_image.regions:
        sim_layer = sim_layers[region.name]
        start, end = spans.get(region.index, (0, -1))
        rtl_events = _ordered(events.get(region.index, []), start)
        sim_events = _ordered(
            [
                (e.event.value, e.tile, e.part, e.start, e.end)
                for e in sim.trace
                if e.layer == region.name
            ],
            sim_layer.start_cycle,
        )
        expected = activations[region.name][0]
        output = run_image.output(region, dump).astype(expected.dtype)
        mismatch = first_mismatch(output, expected)
        divergence = first_divergence(rtl_events, sim_events)
        checks.append(
            LayerCheck(
                name=region.name,
                sim_cycles=sim_layer.cycles,
                rtl_cycles=end - start,
                outputs_match=mismatch is None,
                first_mismatch=mismatch,
                traces_match=divergence is None,
                first_divergence=divergence,
                events=len(sim_events),
            )
        )
    return tuple(checks)
