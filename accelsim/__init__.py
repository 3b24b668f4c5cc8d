"""accelsim: compress CNNs with KRP + GSNQ and simulate their FPGA accelerator cycle by cycle.

The public API is re-exported here; submodules are implementation detail.
"""

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
from .errors import (
    AccelsimError,
    CheckpointError,
    ConfigError,
    DataError,
    NetworkFileError,
    ToolError,
    ToolNotFound,
    UnsupportedLayerError,
    WorkloadError,
)
from .integer import (
    InferenceResult,
    IntegerNetwork,
    dequantize,
    lower,
    quantize_input,
    run,
)

__version__ = "0.1.0"

__all__ = [
    "AccelsimError",
    "CheckpointError",
    "CompressedModel",
    "CompressionConfig",
    "ConfigError",
    "DataError",
    "EncodingReport",
    "FirstLayerPolicy",
    "GsnqSplit",
    "InferenceResult",
    "IntegerNetwork",
    "NetworkFileError",
    "PointwisePolicy",
    "PruningReport",
    "RetrainConfig",
    "ToolError",
    "ToolNotFound",
    "UnsupportedLayerError",
    "WorkloadError",
    "__version__",
    "compress",
    "dequantize",
    "fc_prune",
    "gsnq_quantize",
    "krp_prune",
    "load_network",
    "lower",
    "pruning_report",
    "quantize_input",
    "retrain",
    "run",
    "save_network",
    "train",
]
