"""accelsim: compress CNNs with KRP + GSNQ and simulate their FPGA accelerator cycle by cycle.

The public API is re-exported here; submodules are implementation detail. Names are imported on
first use (module ``__getattr__``), so ``import accelsim`` and ``accelsim --help`` load neither
torch nor Numba, Dask, pyarrow or matplotlib until something needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .compression import (
        CompressedModel,
        CompressionConfig,
        EncodingReport,
        FirstLayerPolicy,
        GsnqSplit,
        PointwisePolicy,
        PruningReport,
        RetrainConfig,
        compress,
        fc_prune,
        gsnq_quantize,
        krp_prune,
        load_network,
        pruning_report,
        retrain,
        save_network,
        train,
    )
    from .dse import (
        DaskExecutor,
        DesignResult,
        Engine,
        LocalExecutor,
        evaluate,
        load_spec,
        load_workload,
        make_executor,
        pareto_front,
        read_results,
        run_sweep,
        vary,
    )
    from .errors import (
        AccelsimError,
        CheckpointError,
        ConfigError,
        DataError,
        ExecutorError,
        NetworkFileError,
        ToolError,
        ToolNotFound,
        UnsupportedLayerError,
        WorkloadError,
    )
    from .hw import (
        Device,
        FitReport,
        HwConfig,
        PeKind,
        ResourceEstimate,
        config_names,
        device_names,
        estimate_resources,
        fits,
        load_config,
        load_device,
    )
    from .integer import (
        AddLayer,
        ConvLayer,
        FlattenLayer,
        InferenceResult,
        IntegerNetwork,
        LinearLayer,
        PoolKind,
        PoolLayer,
        Requant,
        TensorSpec,
        dequantize,
        lower,
        quantize_input,
        run,
    )
    from .rtl import CheckResult, LayerCheck, VerilatorRunner, cross_check
    from .sim import (
        EventKind,
        LayerResult,
        SimulationResult,
        TraceEvent,
        plan_network,
        simulate,
    )
    from .sim.gain import GainRow, parallelism_gain
    from .sim.sources import file_network, workload_network
    from .sim.trace import export_trace
    from .synth import Design, SynthesisResult, SynthTarget, Yosys, synth_target

__version__ = "0.1.0"

__getattr__, __dir__ = lazy_exports(__name__, globals())

__all__ = [
    "AccelsimError",
    "AddLayer",
    "CheckResult",
    "CheckpointError",
    "CompressedModel",
    "CompressionConfig",
    "ConfigError",
    "ConvLayer",
    "DaskExecutor",
    "DataError",
    "Design",
    "DesignResult",
    "Device",
    "EncodingReport",
    "Engine",
    "EventKind",
    "ExecutorError",
    "FirstLayerPolicy",
    "FitReport",
    "FlattenLayer",
    "GainRow",
    "GsnqSplit",
    "HwConfig",
    "InferenceResult",
    "IntegerNetwork",
    "LayerCheck",
    "LayerResult",
    "LinearLayer",
    "LocalExecutor",
    "NetworkFileError",
    "PeKind",
    "PointwisePolicy",
    "PoolKind",
    "PoolLayer",
    "PruningReport",
    "Requant",
    "ResourceEstimate",
    "RetrainConfig",
    "SimulationResult",
    "SynthTarget",
    "SynthesisResult",
    "TensorSpec",
    "ToolError",
    "ToolNotFound",
    "TraceEvent",
    "UnsupportedLayerError",
    "VerilatorRunner",
    "WorkloadError",
    "Yosys",
    "__version__",
    "compress",
    "config_names",
    "cross_check",
    "dequantize",
    "device_names",
    "estimate_resources",
    "evaluate",
    "export_trace",
    "fc_prune",
    "file_network",
    "fits",
    "gsnq_quantize",
    "krp_prune",
    "load_config",
    "load_device",
    "load_network",
    "load_spec",
    "load_workload",
    "lower",
    "make_executor",
    "parallelism_gain",
    "pareto_front",
    "plan_network",
    "pruning_report",
    "quantize_input",
    "read_results",
    "retrain",
    "run",
    "run_sweep",
    "save_network",
    "simulate",
    "synth_target",
    "train",
    "vary",
    "workload_network",
]
