"""A fast engine for sweeps: the schedule of docs/microarchitecture.md section 8 without SimPy.

The SimPy model (:mod:`accelsim.sim.engine`) is the reference; this engine computes the same
cycles with a plain loop over DDR requests, about ten times faster, for sweeps where speed
matters. It shares everything *what* is moved and computed with the reference (the
:func:`~accelsim.sim.plan_network` binding, request sizes and occupancies, the per-layer figures)
and re-derives only *when* it happens, from the rules:

- a load's first request waits for its trigger (layer start, or the start of the first tile
  reading the previous load of its stream), for the previous load of its stream, and for its
  half (the end of the last tile reading the load two before); its next request is made when
  its previous one ends;
- tile ``t`` starts when tile ``t-1`` has ended, its loads have ended and the store of tile
  ``t-2`` has ended;
- the store of tile ``t`` is requested when tile ``t`` and the store of ``t-1`` have ended;
- the DDR channel, when free, grants the earliest request; ties go to store, input, weight.

Every request not yet known depends on a transfer not yet granted, which ends after the next
grant, so granting the earliest known request (ties by priority) at ``max(channel free, its
request cycle)`` is exact. Its results equal the reference's field by field (the trace is not
kept and ``sim_events`` is 0); ``tests/test_dse_fastsim.py`` checks it, and a sweep re-checks a
sample of its points against the reference (:mod:`accelsim.dse.rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from ..hw.config import DdrConfig, HwConfig
from ..integer.graph import IntegerNetwork
from ..sim import LayerResult, SimulationResult, plan_network
from ..sim.engine import layer_result
from ..sim.plan import (
    DDR_PRIORITY,
    EventKind,
    LayerPlan,
    LoadJob,
    NetworkPlan,
    Transfer,
    bursts,
    request_cycles,
)


def _occupancies(transfers: Sequence[Transfer], ddr: DdrConfig) -> list[int]:
    """Channel cycles of every request of ``transfers``, in order."""
    return [request_cycles(size, ddr) for transfer in transfers for size in bursts(transfer.beats(ddr), ddr)]


class _Engine:
    """One DMA engine (input, weight or store): its jobs' requests, done in order, one at a time.

    Attributes:
        requests: channel cycles of each request, per job.
        priority: DDR tie-break rank (lower wins).
        job, index: the current job and its next request.
        ready: cycle the next request is made, or None while not yet known.
        started: cycle each job's first request was made (its buffer half acquired).
        done: cycle each job's last request ended.
    """

    def __init__(self, requests: list[list[int]], priority: int) -> None:
        self.requests = requests
        self.priority = priority
        self.job = 0
        self.index = 0
        self.ready: int | None = None
        self.started: list[int | None] = [None] * len(requests)
        self.done: list[int | None] = [None] * len(requests)

    def begin(self, at: int) -> bool:
        """Start the current job at cycle ``at``; True if it had no request and so finished at once."""
        self.started[self.job] = at
        if self.requests[self.job]:
            self.ready = at
            return False
        self.done[self.job] = at
        self.job += 1
        return True

    def grant(self, at: int) -> int:
        """Serve the next request from cycle ``at``; returns the cycle the channel is free again."""
        end = at + self.requests[self.job][self.index]
        self.index += 1
        if self.index == len(self.requests[self.job]):
            self.done[self.job] = end
            self.job, self.index, self.ready = self.job + 1, 0, None
        else:
            self.ready = end
        return end


@dataclass
class _Run:
    """The schedule of one layer so far."""

    plan: LayerPlan
    origin: int
    starts: list[int]
    ends: list[int]


def _load_start(run: _Run, engine: _Engine, jobs: Sequence[LoadJob]) -> int | None:
    """Cycle the current load of a stream is requested, if its conditions are known yet."""
    j, tiles = engine.job, len(run.starts)
    trigger = run.origin if j == 0 else (run.starts[jobs[j - 1].first_tile] if jobs[j - 1].first_tile < tiles else None)
    half = run.origin if j < 2 else (run.ends[jobs[j - 2].last_tile] if jobs[j - 2].last_tile < tiles else None)
    previous = run.origin if j == 0 else engine.done[j - 1]
    if trigger is None or half is None or previous is None:
        return None
    return max(trigger, half, previous)


def _advance(run: _Run, inputs: _Engine, weights: _Engine, stores: _Engine) -> None:
    """Start every tile, load and store whose conditions are known (until nothing changes)."""
    plan, changed = run.plan, True
    while changed:
        changed = False
        while len(run.starts) < len(plan.tiles):
            index = len(run.starts)
            tile = plan.tiles[index]
            waits = [run.ends[-1] if index else run.origin, inputs.done[tile.input_job]]
            if tile.weight_job is not None:
                waits.append(weights.done[tile.weight_job])
            if index >= 2:
                waits.append(stores.done[index - 2])
            if any(wait is None for wait in waits):
                break
            start = max(cast(list[int], waits))
            run.starts.append(start)
            run.ends.append(start + tile.cycles)
            changed = True
        for engine, jobs in ((inputs, plan.input_jobs), (weights, plan.weight_jobs)):
            while engine.ready is None and engine.job < len(jobs):
                at = _load_start(run, engine, jobs)
                if at is None:
                    break
                changed |= engine.begin(at)
        while stores.ready is None and stores.job < len(run.ends):
            previous = stores.done[stores.job - 1] if stores.job else run.origin
            assert previous is not None
            changed |= stores.begin(max(run.ends[stores.job], previous))


def _peak(intervals: Sequence[tuple[int, int, int]]) -> int:
    """Largest total bits held, from ``(acquire, release, bits)`` half-open holds."""
    events = sorted([(release, 0, -bits) for _, release, bits in intervals] +
                    [(acquire, 1, bits) for acquire, _, bits in intervals])
    held = peak = 0
    for _, _, delta in events:
        held += delta
        peak = max(peak, held)
    return peak


def simulate_layer(plan: LayerPlan, config: HwConfig, origin: int) -> LayerResult:
    """The figures of layer ``plan`` started at cycle ``origin`` (the DDR channel free then)."""
    ddr = config.ddr
    inputs = _Engine([_occupancies(job.transfers, ddr) for job in plan.input_jobs], DDR_PRIORITY[EventKind.LOAD_INPUT])
    weights = _Engine([_occupancies(job.transfers, ddr) for job in plan.weight_jobs],
                      DDR_PRIORITY[EventKind.LOAD_WEIGHT])
    stores = _Engine([_occupancies((tile.store,), ddr) for tile in plan.tiles], DDR_PRIORITY[EventKind.STORE_OUTPUT])
    run = _Run(plan, origin, [], [])
    free = origin
    busy = 0
    while True:
        _advance(run, inputs, weights, stores)
        waiting = [engine for engine in (stores, inputs, weights) if engine.ready is not None]
        if not waiting:
            break
        chosen = min(waiting, key=lambda engine: (engine.ready, engine.priority))
        assert chosen.ready is not None
        start = max(free, chosen.ready)
        free = chosen.grant(start)
        busy += free - start
    assert len(run.starts) == len(plan.tiles) and stores.job == len(plan.tiles), f"layer {plan.name} deadlocked"
    end = stores.done[-1] if plan.tiles else origin
    peaks = {
        EventKind.LOAD_INPUT: _peak([(inputs.started[j], run.ends[job.last_tile], job.bits)  # type: ignore[misc]
                                     for j, job in enumerate(plan.input_jobs)]),
        EventKind.LOAD_WEIGHT: _peak([(weights.started[j], run.ends[job.last_tile], job.bits)  # type: ignore[misc]
                                      for j, job in enumerate(plan.weight_jobs)]),
        EventKind.STORE_OUTPUT: _peak([(run.starts[t], stores.done[t], tile.store_bits)  # type: ignore[misc]
                                       for t, tile in enumerate(plan.tiles)]),
    }
    return layer_result(plan, list(zip(run.starts, run.ends)), config, origin, end, busy, peaks)


def fast_simulate_plan(plan: NetworkPlan) -> SimulationResult:
    """The result of :func:`accelsim.sim.simulate_plan` (without trace) by the fast engine."""
    layers: list[LayerResult] = []
    cycle = 0
    for layer in plan.layers:
        layers.append(simulate_layer(layer, plan.config, cycle))
        cycle = layers[-1].end_cycle
    return SimulationResult(network=plan.network, config=plan.config, layers=tuple(layers), trace=(),
                            total_cycles=cycle, sim_events=0)


def fast_simulate(network: IntegerNetwork, config: HwConfig) -> SimulationResult:
    """One inference of ``network`` on ``config`` by the fast engine (bound and checked first).

    Raises:
        ConfigError: as :func:`accelsim.sim.simulate`.
    """
    return fast_simulate_plan(plan_network(network, config))
