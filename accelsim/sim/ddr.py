"""The one shared DDR channel: requests, a fixed latency, a data rate, an arbiter.

A transfer moves whole data beats (each of its segments starts a new beat) and is split into
requests of at most ``burst_bytes / bytes_per_cycle`` beats (:func:`accelsim.sim.plan.bursts`).
A granted request holds the channel for ``latency_cycles + beats`` cycles; the channel serves one request at a time, without preemption. When the channel is free
at cycle ``t`` it grants, among the requests made at or before ``t``, the one made earliest; ties
go to the stream of higher priority (store, then input, then weight:
:data:`accelsim.sim.plan.DDR_PRIORITY`). A request made at cycle ``t`` can be granted at ``t``.

To see every request of cycle ``t`` before deciding, the arbiter decides in an event of priority
:data:`END_OF_CYCLE`, which SimPy processes after all ordinary events of the same time.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy
from simpy.events import Event, EventPriority

from ..hw.config import DdrConfig
from .plan import DDR_PRIORITY, EventKind, Transfer, bursts, request_cycles

#: Priority of the arbitration event: after SimPy's URGENT (0) and NORMAL (1) events of a cycle.
END_OF_CYCLE = EventPriority(2)


class _EndOfCycle(Event):
    """An event processed after every ordinary event of the current cycle.

    Initialized like :class:`simpy.events.Timeout` (already successful, scheduled on creation),
    with delay 0 and priority :data:`END_OF_CYCLE`.
    """

    def __init__(self, env: simpy.Environment, callback: Callable[[Event], None]) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, END_OF_CYCLE, 0)


class DdrChannel:
    """The shared DDR channel of :mod:`this module <accelsim.sim.ddr>`.

    Attributes:
        busy_cycles: cycles the channel has been held by requests so far.
        bytes_read, bytes_written: payload bytes moved so far.
    """

    def __init__(self, env: simpy.Environment, config: DdrConfig) -> None:
        self.env = env
        self.config = config
        self.busy_cycles = 0
        self.bytes_read = 0
        self.bytes_written = 0
        self._busy = False
        self._arbitrating = False
        self._pending: list[tuple[int, int, Event]] = []

    def _request(self, kind: EventKind) -> Event:
        """An event that succeeds when the channel grants a request of stream ``kind``."""
        grant = self.env.event()
        self._pending.append((int(self.env.now), DDR_PRIORITY[kind], grant))
        self._schedule_arbitration()
        return grant

    def _schedule_arbitration(self) -> None:
        if not self._busy and self._pending and not self._arbitrating:
            self._arbitrating = True
            _EndOfCycle(self.env, self._arbitrate)

    def _arbitrate(self, _: Event) -> None:
        """Grant the earliest request (ties: stream priority) at the end of the cycle."""
        self._arbitrating = False
        winner = min(range(len(self._pending)), key=lambda i: self._pending[i][:2])
        self._busy = True
        self._pending.pop(winner)[2].succeed()

    def _release(self) -> None:
        self._busy = False
        self._schedule_arbitration()

    def transfer(self, kind: EventKind, transfer: Transfer) -> Generator[Event, Any, tuple[int, int]]:
        """Move ``transfer`` for stream ``kind`` (a SimPy process body: ``yield from``).

        Returns:
            ``(start, end)``: the cycle the first request was granted and the cycle the channel
            became free after the last one.
        """
        start = -1
        for size in bursts(transfer.beats(self.config), self.config):
            yield self._request(kind)
            if start < 0:
                start = int(self.env.now)
            cycles = request_cycles(size, self.config)
            yield self.env.timeout(cycles)
            self.busy_cycles += cycles
            self._release()
        if kind is EventKind.STORE_OUTPUT:
            self.bytes_written += transfer.nbytes
        else:
            self.bytes_read += transfer.nbytes
        return start, int(self.env.now)
