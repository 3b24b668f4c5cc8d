"""A sweep specification: a base configuration, the varied fields, a sampler, the workloads.

Read from YAML (``configs/sweeps/*.yaml``) with :func:`load_spec`, or built from a mapping with
:func:`spec_from_dict`; either way every entry is checked before any point runs::

    name: bandwidth
    base: default                 # bundled configuration name or YAML path
    workloads: [vgg16, resnet56]  # or {name: vgg16, seed: 1, bits: 4} or {network: model.krp}
    sampler: grid                 # grid | random | lhs
    samples: 64                   # random / lhs: points per workload (duplicates collapse)
    seed: 0                       # random / lhs
    engine: fast                  # fast (default) | simpy: what simulates each point
    check_every: 100              # fast engine: re-simulate ~1 point in 100 with SimPy and compare
    parameters:
      ddr.bytes_per_cycle: [1, 2, 4, 8, 16, 32]
      pe.kind: [krp_gsnq, gsnq_shift]
      pe.tn: {low: 4, high: 32, step: 4}
      clock_mhz: {low: 100, high: 300, log: true}
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, brief
from ..hw.config import HwConfig, config_from_dict, load_config
from ..inputs import input_file
from ..yamlfile import read_yaml_mapping
from .design import Engine
from .parameters import Parameter, parameter_from_yaml
from .workload import Workload, workload_from_yaml


class Sampler(str, enum.Enum):
    """How design points are drawn from the parameters."""

    GRID = "grid"
    RANDOM = "random"
    LHS = "lhs"


_KEYS = ("name", "base", "workloads", "sampler", "samples", "seed", "engine", "check_every", "parameters")
#: Default share of fast-engine points re-simulated by the SimPy reference: one in this many.
CHECK_EVERY = 100
#: Most design points (configurations x workloads) a spec may have: a guard against a typo or a grid
#: that would take hours to list and days to run.
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep specification.

    Attributes:
        name: sweep name (for reports).
        base: the configuration every point starts from.
        workloads: the networks; every sampled configuration runs on each.
        sampler: grid, random or Latin hypercube.
        samples: configurations drawn by the random and lhs samplers.
        seed: seed of the random and lhs samplers.
        parameters: the varied fields, in spec order.
        engine: what simulates the points.
        check_every: with the fast engine, the points whose id (a hex number) is a multiple of
            this are also simulated by the SimPy reference and must agree (0: none).
    """

    name: str
    base: HwConfig
    workloads: tuple[Workload, ...]
    sampler: Sampler
    samples: int
    seed: int
    parameters: tuple[Parameter, ...]
    engine: Engine = Engine.FAST
    check_every: int = CHECK_EVERY

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Dotted names of the varied fields."""
        return tuple(parameter.name for parameter in self.parameters)

    @property
    def identity(self) -> str:
        """SHA-256 (hex) of the spec's canonical JSON, its name aside: what a results folder records
        to refuse the results of another spec."""
        data = {key: value for key, value in self.to_dict().items() if key != "name"}
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Plain data describing the sweep (stored beside its results)."""
        return {
            "name": self.name, "base": self.base.to_dict(), "sampler": self.sampler.value,
            "samples": self.samples, "seed": self.seed, "engine": self.engine.value, "check_every": self.check_every,
            "workloads": [workload.to_dict() for workload in self.workloads],
            "parameters": {p.name: list(p.values) if p.values is not None else
                           {"low": p.low, "high": p.high, "step": p.step, "log": p.log} for p in self.parameters},
        }


def _int(data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{key} must be an integer from {low} to {high}, not {brief(value)}")
    return value


def _base(value: object, folder: Path | None) -> HwConfig:
    if isinstance(value, Mapping):
        return config_from_dict(value, "the sweep's base configuration")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"base must be a configuration name, a YAML path or a mapping of fields, not {brief(value)}")
    path = Path(value)
    if folder is not None and value.endswith((".yaml", ".yml")) and not path.is_absolute():
        path = folder / path
    return load_config(str(path) if value.endswith((".yaml", ".yml")) else value)


def _check_points(parameters: tuple[Parameter, ...], sampler: Sampler, samples: int, workloads: int) -> None:
    """ConfigError if the spec has more than :data:`MAX_POINTS` design points (or a grid range it cannot list)."""
    if sampler is Sampler.GRID:
        sizes = [parameter.grid_size() for parameter in parameters]  # ConfigError for a range a grid cannot list
        what = " x ".join(f"{size:,}" for size in sizes) + " values"
        configurations = math.prod(sizes)
    else:
        what, configurations = f"{samples:,} samples", samples
    points = configurations * workloads
    if points > MAX_POINTS:
        raise ConfigError(
            f"the sweep must have at most {MAX_POINTS:,} design points (configurations x workloads), not {points:,} "
            f"({what} x {workloads} workload{'s' * (workloads != 1)}); narrow the ranges or lists, or sample the "
            "space instead (sampler: random or lhs, with samples: N)"
        )


def spec_from_dict(data: object, folder: Path | None = None) -> SweepSpec:
    """Check a spec read from YAML; relative paths in it are taken relative to ``folder``.

    Raises:
        ConfigError: a missing or unknown key, an unknown field, an empty range or list, a value
            out of its field's range. WorkloadError: an unknown workload.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"a sweep spec must be a mapping with keys {', '.join(_KEYS)}, not {brief(data)}")
    unknown = [key for key in data if key not in _KEYS]
    if unknown:
        raise ConfigError(f"sweep spec keys must be among {', '.join(_KEYS)}, not {brief(unknown[0])}")
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name must be a non-empty string, not {brief(name)}")
    sampler_value = data.get("sampler", "grid")
    if sampler_value not in {sampler.value for sampler in Sampler}:
        raise ConfigError(f"sampler must be one of 'grid', 'random', 'lhs', not {brief(sampler_value)}")
    sampler = Sampler(sampler_value)
    if sampler is not Sampler.GRID and "samples" not in data:
        raise ConfigError(f"samples must be given for the {sampler.value} sampler, not missing")
    samples = _int(data, "samples", 1, 1, MAX_POINTS)
    seed = _int(data, "seed", 0, 0, 2**63 - 1)
    engine_value = data.get("engine", Engine.FAST.value)
    if engine_value not in {engine.value for engine in Engine}:
        raise ConfigError(f"engine must be one of 'fast', 'simpy', not {brief(engine_value)}")
    check_every = _int(data, "check_every", CHECK_EVERY, 0, 2**31)
    listed = data.get("workloads")
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not listed:
        raise ConfigError(f"workloads must be a non-empty list of workload names, not {brief(listed)}")
    chosen = tuple(workload_from_yaml(entry, f"workloads[{index}]", folder) for index, entry in enumerate(listed))
    if len(set(chosen)) != len(chosen):
        raise ConfigError(f"workloads must not repeat, not {brief([item.label for item in chosen])}")
    params = data.get("parameters")
    if not isinstance(params, Mapping) or not params:
        raise ConfigError(f"parameters must be a non-empty mapping of configuration fields to values, not {brief(params)}")
    parameters = tuple(parameter_from_yaml(key, value) for key, value in params.items())
    _check_points(parameters, sampler, samples, len(chosen))
    return SweepSpec(name.strip(), _base(data.get("base", "default"), folder), chosen, sampler, samples, seed,
                     parameters, Engine(engine_value), check_every)


def load_spec(path: str | Path) -> SweepSpec:
    """The sweep spec in the YAML file at ``path``.

    Raises:
        ConfigError: a path that is not an existing file, malformed YAML or any entry error (see
            :func:`spec_from_dict`).
    """
    file = input_file(path, "sweep spec")
    return spec_from_dict(read_yaml_mapping(file, "sweep spec"), file.parent)
