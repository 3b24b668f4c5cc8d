"""The PE datapath (convolutions, and pooling / residual adds in vector mode) as a small SimPy resource."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy
from simpy.events import Event


class ComputeUnit:
    """The PE datapath: runs one tile at a time for a given number of cycles.

    Attributes:
        name: the unit's name (for reports).
        busy_cycles: cycles spent computing so far.
    """

    def __init__(self, env: simpy.Environment, name: str) -> None:
        self.env = env
        self.name = name
        self.busy_cycles = 0
        self._unit = simpy.Resource(env, capacity=1)

    def run(self, cycles: int) -> Generator[Event, Any, tuple[int, int]]:
        """Compute one tile of ``cycles`` cycles (``yield from``); returns ``(start, end)``."""
        with self._unit.request() as request:
            yield request
            start = int(self.env.now)
            yield self.env.timeout(cycles)
        self.busy_cycles += cycles
        return start, int(self.env.now)
