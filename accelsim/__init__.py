"""accelsim: compress CNNs with KRP + GSNQ and simulate their FPGA accelerator cycle by cycle.

The public API is re-exported here; submodules are implementation detail.
"""

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

__version__ = "0.1.0"

__all__ = [
    "AccelsimError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "NetworkFileError",
    "ToolError",
    "ToolNotFound",
    "UnsupportedLayerError",
    "WorkloadError",
    "__version__",
]
