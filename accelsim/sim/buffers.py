"""The double-buffered on-chip memories (input, weight, output) as a small SimPy resource."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy
from simpy.events import Event


class PingPongBuffer:
    """A buffer of two halves; each half is held by one user (a load, a tile) at a time.

    A user acquires a half with the number of bits it occupies and releases it when done; an
    acquire waits while the half is held. The buffer tracks its peak occupancy (both halves).

    Attributes:
        name: ``"input"``, ``"weight"`` or ``"output"``.
        half_bits: capacity of one half in bits.
        peak_bits: largest total occupancy seen so far, bits.
    """

    def __init__(self, env: simpy.Environment, name: str, half_bits: int) -> None:
        self.env = env
        self.name = name
        self.half_bits = half_bits
        self.peak_bits = 0
        self._halves = (simpy.Resource(env, capacity=1), simpy.Resource(env, capacity=1))
        self._held: list[tuple[simpy.resources.resource.Request, int] | None] = [None, None]

    def acquire(self, half: int, bits: int) -> Generator[Event, Any, None]:
        """Hold ``half`` for ``bits`` bits, waiting until it is free (``yield from``)."""
        request = self._halves[half].request()
        yield request
        self._held[half] = (request, bits)
        self.peak_bits = max(self.peak_bits, self.occupied_bits)

    def release(self, half: int) -> None:
        """Free ``half``."""
        held = self._held[half]
        assert held is not None, f"{self.name} half {half} released while free"
        self._halves[half].release(held[0])
        self._held[half] = None

    @property
    def occupied_bits(self) -> int:
        """Bits held now in both halves."""
        return sum(held[1] for held in self._held if held is not None)

