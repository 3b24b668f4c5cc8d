"""Design-space exploration: evaluate designs, sweep configurations at scale, find Pareto fronts.

>>> from accelsim.dse import load_workload, evaluate, vary, load_spec, run_sweep, read_results, pareto_front
"""

from __future__ import annotations

from ..lazy import lazy_exports

#: Where each public name lives: submodule -> names (imported on first use).
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".design": (
        "DesignResult", "Engine", "evaluate", "vary",
    ),
    ".executors": (
        "DaskExecutor", "Executor", "LocalExecutor", "make_executor",
    ),
    ".metrics": (
        "METRICS", "Metric", "Sense", "metric",
    ),
    ".pareto": (
        "pareto_front",
    ),
    ".points": (
        "DesignPoint", "design_points",
    ),
    ".spec": (
        "Sampler", "SweepSpec", "load_spec", "spec_from_dict",
    ),
    ".store": (
        "read_results",
    ),
    ".sweep": (
        "SweepProgress", "SweepSummary", "run_sweep",
    ),
    ".workload": (
        "NetworkKey", "Workload", "load_workload", "network_for",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "METRICS",
    "DaskExecutor",
    "DesignPoint",
    "DesignResult",
    "Engine",
    "Executor",
    "LocalExecutor",
    "Metric",
    "NetworkKey",
    "Sampler",
    "Sense",
    "SweepProgress",
    "SweepSpec",
    "SweepSummary",
    "Workload",
    "design_points",
    "evaluate",
    "load_spec",
    "load_workload",
    "make_executor",
    "metric",
    "network_for",
    "pareto_front",
    "read_results",
    "run_sweep",
    "spec_from_dict",
    "vary",
]
