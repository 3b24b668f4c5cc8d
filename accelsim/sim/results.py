"""Typed results of a simulation: the trace, per-layer figures and network totals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..hw.config import HwConfig
from .plan import EventKind, LayerKind, Unit


@dataclass(frozen=True)
class TraceEvent:
    """One load, compute or store of one tile: busy over cycles ``[start, end)``.

    Attributes:
        layer: layer name.
        event: what happened (:class:`~accelsim.sim.plan.EventKind`).
        tile: the tile (for a load: the first tile that reads it).
        part: transfer index within a load (1 for a residual add's second operand), else 0.
        start: first cycle (a transfer: the grant of its first request).
        end: first cycle after it (a transfer: the channel is free again).
    """

    layer: str
    event: EventKind
    tile: int
    part: int
    start: int
    end: int


@dataclass(frozen=True)
class LayerResult:
    """What one layer cost.

    Attributes:
        name, kind, unit: the layer, what it is and the unit that ran it.
        start_cycle, end_cycle: the layer spans ``[start_cycle, end_cycle)``.
        compute_cycles: cycles the PE datapath was busy: what it alone would take.
        memory_cycles: cycles the DDR channel was busy: what the DDR alone would take.
        stall_cycles: cycles, before its last compute ended, that the unit waited (for loaded
            data or a free output half).
        drain_cycles: cycles from the end of the last compute to the end of the last store.
        ddr_bytes_read, ddr_bytes_written: DDR traffic in bytes.
        input_peak_bits, weight_peak_bits, output_peak_bits: peak buffer occupancy (both halves).
        tiles, tile_rows, row_groups, channel_groups, input_groups, passes: the tiling.
        macs, dense_macs: non-zero and dense multiply-accumulates.
        pe_utilization: ``macs / (tn * tm * taps * cycles)``; 0 for layers off the PE array.
    """

    name: str
    kind: LayerKind
    unit: Unit
    start_cycle: int
    end_cycle: int
    compute_cycles: int
    memory_cycles: int
    stall_cycles: int
    drain_cycles: int
    ddr_bytes_read: int
    ddr_bytes_written: int
    input_peak_bits: int
    weight_peak_bits: int
    output_peak_bits: int
    tiles: int
    tile_rows: int
    row_groups: int
    channel_groups: int
    input_groups: int
    passes: int
    macs: int
    dense_macs: int
    pe_utilization: float

    @property
    def cycles(self) -> int:
        """Cycles the layer took."""
        return self.end_cycle - self.start_cycle

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures (enums as values, ``cycles`` included)."""
        return {
            "name": self.name, "kind": self.kind.value, "unit": self.unit.value,
            "cycles": self.cycles, "start_cycle": self.start_cycle, "end_cycle": self.end_cycle,
            "compute_cycles": self.compute_cycles, "memory_cycles": self.memory_cycles,
            "stall_cycles": self.stall_cycles, "drain_cycles": self.drain_cycles,
            "ddr_bytes_read": self.ddr_bytes_read, "ddr_bytes_written": self.ddr_bytes_written,
            "input_peak_bits": self.input_peak_bits, "weight_peak_bits": self.weight_peak_bits,
            "output_peak_bits": self.output_peak_bits, "tiles": self.tiles, "tile_rows": self.tile_rows,
            "row_groups": self.row_groups, "channel_groups": self.channel_groups,
            "input_groups": self.input_groups, "passes": self.passes, "macs": self.macs,
            "dense_macs": self.dense_macs, "pe_utilization": self.pe_utilization,
        }


@dataclass(frozen=True)
class SimulationResult:
    """A simulated inference of one image.

    Attributes:
        network: network name.
        config: the hardware configuration.
        layers: per-layer results in execution order.
        trace: every load, compute and store (empty if the trace was not kept).
        total_cycles: cycles from the first request to the end of the last store.
        sim_events: SimPy events the simulation processed (a measure of its cost, not of the design).
    """

    network: str
    config: HwConfig
    layers: tuple[LayerResult, ...]
    trace: tuple[TraceEvent, ...]
    total_cycles: int
    sim_events: int = 0

    @property
    def latency_ms(self) -> float:
        """Latency of one image in milliseconds at the configured clock."""
        return self.total_cycles / (self.config.clock_mhz * 1e3)

    @property
    def throughput_fps(self) -> float:
        """Images per second, one image at a time (no overlap between images)."""
        return 1e3 / self.latency_ms if self.total_cycles else 0.0

    @property
    def macs(self) -> int:
        """Non-zero multiply-accumulates of the network."""
        return sum(layer.macs for layer in self.layers)

    @property
    def dense_macs(self) -> int:
        """Multiply-accumulates of the dense (unpruned) network."""
        return sum(layer.dense_macs for layer in self.layers)

    @property
    def effective_gops(self) -> float:
        """Useful operations (2 per non-zero MAC) per second, in 1e9/s."""
        return 2 * self.macs / (self.latency_ms * 1e6) if self.total_cycles else 0.0

    @property
    def dense_gops(self) -> float:
        """Dense-equivalent operations (2 per dense MAC) per second, in 1e9/s."""
        return 2 * self.dense_macs / (self.latency_ms * 1e6) if self.total_cycles else 0.0

    @property
    def pe_utilization(self) -> float:
        """``macs / (tn * tm * taps * total_cycles)`` over the whole network."""
        pe = self.config.pe
        return self.macs / (pe.units * pe.taps * self.total_cycles) if self.total_cycles else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary with a ``layers`` list (the trace is exported separately)."""
        return {
            "network": self.network,
            "config": self.config.name,
            "pe_kind": self.config.pe.kind.value,
            "clock_mhz": self.config.clock_mhz,
            "total_cycles": self.total_cycles,
            "latency_ms": self.latency_ms,
            "throughput_fps": self.throughput_fps,
            "effective_gops": self.effective_gops,
            "dense_gops": self.dense_gops,
            "pe_utilization": self.pe_utilization,
            "macs": self.macs,
            "dense_macs": self.dense_macs,
            "ddr_bytes_read": sum(layer.ddr_bytes_read for layer in self.layers),
            "ddr_bytes_written": sum(layer.ddr_bytes_written for layer in self.layers),
            "layers": [layer.to_dict() for layer in self.layers],
        }
