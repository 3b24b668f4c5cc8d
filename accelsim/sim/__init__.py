"""The SimPy model of the accelerator and its timing contract (docs/microarchitecture.md)."""

from .engine import simulate, simulate_plan
from .plan import EventKind, LayerKind, LayerPlan, NetworkPlan, Unit, plan_network
from .results import LayerResult, SimulationResult, TraceEvent
from .synthetic import NetworkBuilder, resnet_shapes, vgg16_shapes

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
