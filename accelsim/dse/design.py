"""The script-facing evaluation of one design: simulate a network on a configuration.

>>> from accelsim.hw import load_config
>>> from accelsim.sim import vgg16_shapes
>>> result = evaluate(vgg16_shapes(), load_config("default"))
>>> result.latency_ms > 0 and result.resources.total.lut > 0
True
>>> [c.ddr.bytes_per_cycle for c in vary(load_config("default"), "ddr.bytes_per_cycle", [4, 8])]
[4, 8]
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..compression.checks import enum_option
from ..errors import ConfigError, brief
from ..hw.config import HwConfig
from ..hw.resources import FitReport, ResourceEstimate, estimate_resources, fits
from ..integer.graph import IntegerNetwork
from ..sim import LayerResult, SimulationResult, simulate
from ..sim.plan import check_arguments
from .fastsim import fast_simulate
from .metrics import METRICS
from .parameters import config_field


class Engine(str, enum.Enum):
    """What produced a result: the SimPy model of the timing contract (the reference), or the fast
    engine of :mod:`accelsim.dse.fastsim` (same figures, no trace, about five times faster)."""

    SIMPY = "simpy"
    FAST = "fast"


@dataclass(frozen=True)
class DesignResult:
    """A simulated design: the timing (per layer and totals) and the resource estimate.

    Attributes:
        simulation: the simulator's result (``simulation.layers`` per layer, the trace if kept).
        resources: the resource estimate by part (``resources.total`` for the whole accelerator).
        fit: usage of the configuration's device, per resource.
        engine: what produced the timing.
    """

    simulation: SimulationResult
    resources: ResourceEstimate
    fit: FitReport
    engine: Engine = Engine.SIMPY

    @property
    def config(self) -> HwConfig:
        """The configuration."""
        return self.simulation.config

    @property
    def layers(self) -> tuple[LayerResult, ...]:
        """Per-layer results in execution order."""
        return self.simulation.layers

    @property
    def total_cycles(self) -> int:
        """Network latency in cycles."""
        return self.simulation.total_cycles

    @property
    def latency_ms(self) -> float:
        """Network latency in milliseconds."""
        return self.simulation.latency_ms

    @property
    def ddr_gbps(self) -> float:
        """Peak DDR bandwidth of the configuration in GB/s (bytes per cycle x clock)."""
        return self.config.ddr.bytes_per_cycle * self.config.clock_mhz / 1e3

    def metrics(self) -> dict[str, int | float]:
        """Every metric of :data:`~accelsim.dse.metrics.METRICS` for this design."""
        sim, total = self.simulation, self.resources.total
        layers = sim.layers
        values: dict[str, int | float] = {
            "total_cycles": sim.total_cycles, "latency_ms": sim.latency_ms,
            "throughput_fps": sim.throughput_fps, "effective_gops": sim.effective_gops,
            "dense_gops": sim.dense_gops, "pe_utilization": sim.pe_utilization,
            "compute_cycles": sum(layer.compute_cycles for layer in layers),
            "memory_cycles": sum(layer.memory_cycles for layer in layers),
            "stall_cycles": sum(layer.stall_cycles for layer in layers),
            "drain_cycles": sum(layer.drain_cycles for layer in layers),
            "ddr_bytes_read": sum(layer.ddr_bytes_read for layer in layers),
            "ddr_bytes_written": sum(layer.ddr_bytes_written for layer in layers),
            "ddr_gbps": self.ddr_gbps, "units": self.config.pe.units,
            "lut": total.lut, "ff": total.ff, "dsp": total.dsp, "bram36": total.bram36,
            "device_usage": self.fit.usage[self.fit.limiting],
        }
        assert list(values) == list(METRICS)
        return values

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the simulation summary (with ``layers``), the metrics and the engine."""
        return {**self.simulation.to_dict(), **self.metrics(), "engine": self.engine.value,
                "resources": {item.name: getattr(self.resources, item.name).as_dict()
                              for item in dataclasses.fields(self.resources)}}


def evaluate(network: IntegerNetwork, config: HwConfig, *, keep_trace: bool = False,
             engine: Engine = Engine.SIMPY) -> DesignResult:
    """Simulate one inference of ``network`` on ``config`` and estimate its resources.

    Raises:
        ConfigError: not a network or a configuration, an unknown engine, the design does not fit
            its device, a buffer or width is too small, or a trace asked of the fast engine.
        UnsupportedLayerError: a layer the accelerator cannot run.
    """
    check_arguments(network, config)
    engine = enum_option(Engine, engine, "engine")
    if engine is Engine.FAST:
        if keep_trace:
            raise ConfigError("engine must be 'simpy' to keep the trace, not 'fast'")
        simulation = fast_simulate(network, config)
    else:
        simulation = simulate(network, config, keep_trace=keep_trace)
    return DesignResult(simulation, estimate_resources(config), fits(config), engine)


def vary(config: HwConfig, field: str, values: Iterable[object]) -> tuple[HwConfig, ...]:
    """One copy of ``config`` per value of the dotted ``field``, each checked like a loaded file.

    Raises:
        ConfigError: an unknown field, no values (or a string or number instead of a list of them),
            a value out of range, or a copy that no longer fits its device.
    """
    config_field(field)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"values must be a list of values of {field}, not {brief(values)}")
    copies = tuple(config.replace(**{field: value}) for value in values)
    if not copies:
        raise ConfigError(f"values must list at least one value of {field}, not none")
    return copies
