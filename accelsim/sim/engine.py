"""The SimPy model of the accelerator: a controller walks each layer's tiles.

Per layer four processes run (``docs/microarchitecture.md``, "Schedule"): the input and weight
load engines, the compute process and the store engine. They share the DDR channel
(:class:`~accelsim.sim.ddr.DdrChannel`), the three ping-pong buffers
(:class:`~accelsim.sim.buffers.PingPongBuffer`) and the PE datapath
(:class:`~accelsim.sim.units.ComputeUnit`), which also runs pooling and adds in vector mode. The rules:

- load ``j`` of a stream is requested at the layer start (``j = 0``) or when the first tile
  reading load ``j-1`` starts computing; it fills half ``j % 2`` of its buffer;
- tile ``t`` computes when tile ``t-1`` is done, its loads are complete and output half ``t % 2``
  is free (the store of tile ``t-2`` is done); it releases its input/weight half if it is their
  last reader;
- the store of tile ``t`` is requested when tile ``t`` is computed and the store of ``t-1`` done;
- a layer ends when its last store ends; the next layer starts at that cycle.

Time is in clock cycles (integers). The model prints and writes nothing.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import simpy
from simpy.events import Event

from ..hw.config import HwConfig
from ..hw.geometry import input_buffer, output_buffer, weight_buffer
from ..integer.graph import IntegerNetwork
from .buffers import PingPongBuffer
from .ddr import DdrChannel
from .plan import EventKind, LayerPlan, NetworkPlan, Unit, plan_network
from .results import LayerResult, SimulationResult, TraceEvent
from .units import ComputeUnit


class Accelerator:
    """The accelerator's shared hardware in one SimPy environment."""

    def __init__(self, env: simpy.Environment, config: HwConfig) -> None:
        self.env = env
        self.config = config
        self.ddr = DdrChannel(env, config.ddr)
        self.buffers = {
            kind: PingPongBuffer(env, geometry.name, geometry.half_bits)
            for kind, geometry in ((EventKind.LOAD_INPUT, input_buffer(config)),
                                   (EventKind.LOAD_WEIGHT, weight_buffer(config)),
                                   (EventKind.STORE_OUTPUT, output_buffer(config)))
        }
        self.datapath = ComputeUnit(env, "datapath")


class LayerRun:
    """The processes that execute one layer plan on an :class:`Accelerator`."""

    def __init__(self, hw: Accelerator, plan: LayerPlan, trace: list[TraceEvent]) -> None:
        env = hw.env
        self.hw = hw
        self.plan = plan
        self.trace = trace
        self.jobs = {EventKind.LOAD_INPUT: plan.input_jobs, EventKind.LOAD_WEIGHT: plan.weight_jobs}
        self.requested = {kind: [env.event() for _ in jobs] for kind, jobs in self.jobs.items()}
        self.loaded = {kind: [env.event() for _ in jobs] for kind, jobs in self.jobs.items()}
        self.computed = [env.event() for _ in plan.tiles]
        self.compute_spans: list[tuple[int, int]] = []

    def run(self) -> Generator[Event, Any, None]:
        """The layer, start to end of its last store (a SimPy process body)."""
        env = self.hw.env
        for kind, jobs in self.jobs.items():
            if jobs:
                self.requested[kind][0].succeed()
                env.process(self._loads(kind))
        if self.plan.tiles:
            env.process(self._computes())
        yield env.process(self._stores())

    def _log(self, event: EventKind, tile: int, part: int, start: int, end: int) -> None:
        self.trace.append(TraceEvent(self.plan.name, event, tile, part, start, end))

    def _loads(self, kind: EventKind) -> Generator[Event, Any, None]:
        """A load engine: its loads in order, each when requested and its half is free."""
        buffer = self.hw.buffers[kind]
        for index, job in enumerate(self.jobs[kind]):
            yield self.requested[kind][index]
            yield from buffer.acquire(index % 2, job.bits)
            for part, transfer in enumerate(job.transfers):
                start, end = yield from self.hw.ddr.transfer(kind, transfer)
                self._log(kind, job.first_tile, part, start, end)
            self.loaded[kind][index].succeed()

    def _computes(self) -> Generator[Event, Any, None]:
        """The compute process: tiles in order on the datapath."""
        unit = self.hw.datapath
        output = self.hw.buffers[EventKind.STORE_OUTPUT]
        event = EventKind.COMPUTE if self.plan.unit is Unit.PE else EventKind.VECTOR
        for tile in self.plan.tiles:
            reads = [(kind, index) for kind, index in
                     ((EventKind.LOAD_INPUT, tile.input_job), (EventKind.LOAD_WEIGHT, tile.weight_job))
                     if index is not None]
            for kind, index in reads:
                yield self.loaded[kind][index]
            yield from output.acquire(tile.index % 2, tile.store_bits)
            for kind, index in reads:
                if self.jobs[kind][index].first_tile == tile.index and index + 1 < len(self.jobs[kind]):
                    self.requested[kind][index + 1].succeed()
            start, end = yield from unit.run(tile.cycles)
            self.compute_spans.append((start, end))
            self._log(event, tile.index, 0, start, end)
            for kind, index in reads:
                if self.jobs[kind][index].last_tile == tile.index:
                    self.hw.buffers[kind].release(index % 2)
            self.computed[tile.index].succeed()

    def _stores(self) -> Generator[Event, Any, None]:
        """The store engine: each tile's outputs, in tile order."""
        output = self.hw.buffers[EventKind.STORE_OUTPUT]
        for tile in self.plan.tiles:
            yield self.computed[tile.index]
            start, end = yield from self.hw.ddr.transfer(EventKind.STORE_OUTPUT, tile.store)
            self._log(EventKind.STORE_OUTPUT, tile.index, 0, start, end)
            output.release(tile.index % 2)


def layer_result(plan: LayerPlan, compute_spans: Sequence[tuple[int, int]], config: HwConfig,
                 start: int, end: int, ddr_busy: int, peaks: dict[EventKind, int]) -> LayerResult:
    """Figures of one simulated layer.

    ``compute_spans`` are the ``[start, end)`` cycles of its tiles' computes in tile order,
    ``start``/``end`` the layer's first and past-the-end cycles, ``ddr_busy`` the cycles the DDR
    channel was held during the layer and ``peaks`` the peak occupancy of each buffer in bits.
    """
    busy = sum(stop - begin for begin, stop in compute_spans)
    last = compute_spans[-1][1] if compute_spans else start
    pe = config.pe
    cycles = end - start
    utilization = plan.macs / (pe.units * pe.taps * cycles) if plan.unit is Unit.PE and cycles else 0.0
    return LayerResult(
        name=plan.name, kind=plan.kind, unit=plan.unit, start_cycle=start, end_cycle=end,
        compute_cycles=busy, memory_cycles=ddr_busy, stall_cycles=last - start - busy,
        drain_cycles=end - last, ddr_bytes_read=plan.ddr_bytes_read,
        ddr_bytes_written=plan.ddr_bytes_written,
        input_peak_bits=peaks[EventKind.LOAD_INPUT], weight_peak_bits=peaks[EventKind.LOAD_WEIGHT],
        output_peak_bits=peaks[EventKind.STORE_OUTPUT], tiles=len(plan.tiles),
        tile_rows=plan.tile_rows, row_groups=plan.row_groups, channel_groups=plan.channel_groups,
        input_groups=plan.input_groups, passes=plan.passes, macs=plan.macs,
        dense_macs=plan.dense_macs, pe_utilization=utilization,
    )


_EVENT_ORDER = {kind: order for order, kind in enumerate(EventKind)}


def _trace_order(event: TraceEvent) -> tuple[int, int, int, int]:
    """Trace order: by start cycle, then event kind, tile and part (layers never overlap)."""
    return (event.start, _EVENT_ORDER[event.event], event.tile, event.part)


def simulate_plan(plan: NetworkPlan, *, keep_trace: bool = True) -> SimulationResult:
    """Simulate a bound network (layer after layer) and collect the figures."""
    env = simpy.Environment()
    hw = Accelerator(env, plan.config)
    trace: list[TraceEvent] = []
    results: list[LayerResult] = []

    def network() -> Generator[Event, Any, None]:
        for layer in plan.layers:
            start, ddr_before = env.now, hw.ddr.busy_cycles
            for buffer in hw.buffers.values():
                buffer.peak_bits = 0
            run = LayerRun(hw, layer, trace)
            yield env.process(run.run())
            peaks = {kind: buffer.peak_bits for kind, buffer in hw.buffers.items()}
            results.append(layer_result(layer, run.compute_spans, plan.config, int(start), int(env.now),
                                         hw.ddr.busy_cycles - ddr_before, peaks))

    env.process(network())
    steps = 0
    try:
        while True:
            env.step()
            steps += 1
    except simpy.core.EmptySchedule:
        pass
    return SimulationResult(
        network=plan.network, config=plan.config, layers=tuple(results),
        trace=tuple(sorted(trace, key=_trace_order)) if keep_trace else (), total_cycles=int(env.now),
        sim_events=steps,
    )


def simulate(network: IntegerNetwork, config: HwConfig, *, keep_trace: bool = True) -> SimulationResult:
    """Simulate one inference of ``network`` on ``config``.

    Binding (:func:`~accelsim.sim.plan.plan_network`) checks the configuration against the
    network first, so bad input raises before any simulation.

    Raises:
        ConfigError: the design does not fit its device, or a buffer or width is too small.
        UnsupportedLayerError: a layer the accelerator cannot run.
    """
    return simulate_plan(plan_network(network, config), keep_trace=keep_trace)
