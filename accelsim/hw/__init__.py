"""Hardware description: configurations, device profiles and the resource model."""

from .config import (
    BufferConfig,
    DdrConfig,
    HwConfig,
    PeConfig,
    PeKind,
    config_from_dict,
    config_names,
    load_config,
)
from .devices import Device, device_names, load_device
from .resources import (
    FitReport,
    ResourceEstimate,
    Resources,
    estimate_resources,
    fits,
    require_fits,
)

__all__ = [
    "BufferConfig",
    "DdrConfig",
    "Device",
    "FitReport",
    "HwConfig",
    "PeConfig",
    "PeKind",
    "ResourceEstimate",
    "Resources",
    "config_from_dict",
    "config_names",
    "device_names",
    "estimate_resources",
    "fits",
    "load_config",
    "load_device",
    "require_fits",
]
