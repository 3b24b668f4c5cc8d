"""Design-space exploration: evaluate designs, sweep configurations at scale, find Pareto fronts.

>>> from accelsim.dse import load_workload, evaluate, vary, load_spec, run_sweep, read_results, pareto_front
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .design import DesignResult, Engine, evaluate, vary
    from .executors import DaskExecutor, Executor, LocalExecutor, make_executor
    from .metrics import METRICS, Metric, Sense, metric
    from .pareto import pareto_front
    from .points import DesignPoint, design_points
    from .spec import Sampler, SweepSpec, load_spec, spec_from_dict
    from .store import read_results
    from .sweep import SweepProgress, SweepSummary, run_sweep
    from .workload import NetworkKey, Workload, load_workload, network_for

__getattr__, __dir__ = lazy_exports(__name__, globals())

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
