"""The SimPy model of the accelerator and its timing contract (docs/microarchitecture.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .engine import simulate, simulate_plan
    from .plan import EventKind, LayerKind, LayerPlan, NetworkPlan, Unit, plan_network
    from .results import LayerResult, SimulationResult, TraceEvent
    from .synthetic import NetworkBuilder, resnet_shapes, vgg16_shapes

__getattr__, __dir__ = lazy_exports(__name__, globals())

__all__ = [
    "EventKind",
    "LayerKind",
    "LayerPlan",
    "LayerResult",
    "NetworkBuilder",
    "NetworkPlan",
    "SimulationResult",
    "TraceEvent",
    "Unit",
    "plan_network",
    "resnet_shapes",
    "simulate",
    "simulate_plan",
    "vgg16_shapes",
]
