"""FPGA device profiles: the programmable-logic resources of a part.

Profiles are YAML files bundled in ``accelsim/configs/devices/`` (one per part, named after it):
``xc7z035`` (the KRP paper's Zynq-7000) and ``xczu9eg`` (ZCU102). :func:`load_device` takes a
bundled name or a path to a YAML file with the same keys.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ConfigError, brief
from ..yamlfile import read_yaml_mapping
from .fields import build, check_fields, int_field, name_field


@dataclass(frozen=True)
class Device:
    """The programmable-logic resources of one FPGA part.

    Attributes:
        name: part name, e.g. ``"xc7z035"``.
        family: device family, e.g. ``"xc7"`` (7-series) or ``"xczu"`` (UltraScale+).
        description: one line for reports.
        lut: 6-input LUTs.
        ff: flip-flops.
        dsp: DSP48 slices.
        bram36: 36 Kb block RAMs.
    """

    name: str = name_field("xc7z035")
    family: str = name_field("xc7")
    description: str = name_field("device")
    lut: int = int_field(1, 1)
    ff: int = int_field(1, 1)
    dsp: int = int_field(0, 0)
    bram36: int = int_field(0, 0)

    def __post_init__(self) -> None:
        check_fields(self, "device")


def _bundled() -> Path:
    """The folder of the bundled device profiles."""
    return Path(str(resources.files("accelsim") / "configs" / "devices"))


def device_names() -> tuple[str, ...]:
    """Names of the bundled device profiles, sorted."""
    return tuple(sorted(path.stem for path in _bundled().glob("*.yaml")))


def load_device(name_or_path: str | os.PathLike[str]) -> Device:
    """The device profile called ``name_or_path`` (bundled name) or read from that YAML path.

    Raises:
        ConfigError: unknown name, a path that is not an existing file, unreadable or malformed
            file (named, its contents never shown; see :mod:`accelsim.yamlfile`), or a field out
            of range.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(f"device must be one of {_choices()} (or a YAML file), not {brief(name_or_path)}")
    return _load_device(os.fspath(name_or_path))


def _choices() -> str:
    return ", ".join(repr(name) for name in device_names())


@functools.cache
def _load_device(name_or_path: str) -> Device:
    """:func:`load_device` of a name or path string (read once per process)."""
    path = Path(name_or_path)
    if not (name_or_path.endswith((".yaml", ".yml")) or path.exists()):
        if name_or_path not in device_names():
            raise ConfigError(f"device must be one of {_choices()} (or a YAML file), not {brief(name_or_path)}")
        path = _bundled() / f"{name_or_path}.yaml"
    return build(Device, read_yaml_mapping(path, "device file"), "device")
