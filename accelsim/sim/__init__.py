"""The SimPy model of the accelerator and its timing contract (docs/microarchitecture.md)."""

from __future__ import annotations

from ..lazy import lazy_exports

#: Where each public name lives: submodule -> names (imported on first use).
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".engine": (
        "simulate", "simulate_plan",
    ),
    ".plan": (
        "EventKind", "LayerKind", "LayerPlan", "NetworkPlan", "Unit", "plan_network",
    ),
    ".results": (
        "LayerResult", "SimulationResult", "TraceEvent",
    ),
    ".synthetic": (
        "NetworkBuilder", "resnet_shapes", "vgg16_shapes",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

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
