"""Which network a design point runs: a built-in workload or a ``.krp`` file, and its cache.

Compressing and lowering a workload takes seconds (VGG-16: several), far longer than simulating
it, so a sweep builds each network once in the parent process (or reads it from the network cache,
:mod:`accelsim.sim.netcache`) and installs it in every worker (:func:`install`);
:func:`network_for` returns the installed network, or builds it once per process
(:func:`functools.lru_cache`, reading the network cache) where none was installed (e.g. a Dask
worker that joined late). Shipping a built network (a pickle of about 130 MB for VGG-16, well under a second) is
much faster than building it in each worker (docs/dse.md, "Networks").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import workloads

from ..compression.defaults import MAX_BITS, MIN_BITS
from ..errors import ConfigError, NetworkFileError, brief
from ..hw.config import PeKind
from ..integer.graph import IntegerNetwork, WeightFormat
from ..sim.sources import file_network, workload_network

_KEYS = ("name", "network", "seed", "bits")


@dataclass(frozen=True)
class Workload:
    """A network to simulate.

    Attributes:
        name: built-in workload name (``vgg16``, ``resnet56``, ...); for a ``network`` file, the
            workload it was compressed from (or its file name); a user model's ``module:factory``
            spec here rebuilds a file that records no architecture (see
            :func:`accelsim.compression.load_network`).
        network: path of a ``.krp`` compressed-network file, or ``None`` for the built-in one
            compressed one-shot.
        seed: seed of the built-in workload's weights (and of the calibration inputs).
        bits: weight bits of the one-shot compression of a built-in workload (GSNQ or uniform, as
            the PE kind that runs it applies: :class:`NetworkKey`).
    """

    name: str
    network: str | None = None
    seed: int = 0
    bits: int = 4

    @property
    def label(self) -> str:
        """Short name for reports and the ``workload`` column: the name, plus non-default options."""
        extras = [f"seed={self.seed}"] * (self.seed != 0) + [f"bits={self.bits}"] * (self.bits != 4)
        base = self.name if self.network is None else f"{self.name}@{self.network}"
        return base if not extras else f"{base}[{','.join(extras)}]"

    def to_dict(self) -> dict[str, object]:
        """Plain data (what a spec file holds)."""
        return {"name": self.name, "network": self.network, "seed": self.seed, "bits": self.bits}


def workload_from_yaml(data: object, where: str, folder: Path | None = None) -> Workload:
    """A workload from a spec entry: a name, or a mapping with ``name`` / ``network``, ``seed``, ``bits``.

    A relative ``network`` path is taken relative to ``folder`` (the spec file's folder).

    Raises:
        WorkloadError: an unknown built-in workload. ConfigError: a malformed entry, a seed or bits
            out of range, a user model's ``module:factory`` spec as the name, a missing file, or a
            name the file does not record. NetworkFileError: a named file whose header is unreadable.
    """
    entry = {"name": data} if isinstance(data, str) else data
    if not isinstance(entry, Mapping) or not set(entry) <= set(_KEYS) or not ({"name", "network"} & set(entry)):
        raise ConfigError(f"{where} must be a workload name or a mapping with keys name or network, seed, bits; "
                          f"not {brief(data)}")
    for key, default, low, high in (("seed", 0, 0, 2**63 - 1), ("bits", 4, MIN_BITS, MAX_BITS)):
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{where}.{key} must be an integer from {low} to {high}, not {brief(value)}")
    network = entry.get("network")
    if network is not None:
        path = Path(str(network))
        if folder is not None and not path.is_absolute():
            path = folder / path
        if not path.is_file():
            raise ConfigError(f"{where}.network must be an existing .krp file, not {brief(str(network))}")
        if "name" in entry:
            recorded = recorded_workload(path)
            if entry["name"] != recorded:
                raise ConfigError(f"{where}.name must be the workload network file {str(path)!r} records, "
                                  f"{recorded!r}, or be left out, not {brief(entry['name'])}")
        return Workload(str(entry.get("name", path.stem)), str(path.resolve()), entry.get("seed", 0), entry.get("bits", 4))
    name = entry["name"]
    if not isinstance(name, str):
        raise ConfigError(f"{where}.name must be a workload name, not {brief(name)}")
    if workloads.is_import_spec(name):
        raise ConfigError(
            f"{where}.name must be a built-in workload, not the user model {name!r} (a sweep cannot know its input "
            f"shape): compress it (accelsim compress --workload {name} --input-shape C,H,W --out FILE.krp) and "
            "list it as {network: FILE.krp}"
        )
    workloads.info(name)  # WorkloadError naming the choices if unknown
    return Workload(name, None, entry.get("seed", 0), entry.get("bits", 4))


def recorded_workload(path: Path) -> str:
    """The workload (built-in name or ``module:factory`` spec) the ``.krp`` file at ``path`` records,
    read from its header and manifest only (no weight is decoded, no model built).

    Raises:
        NetworkFileError: the file cannot be read, is not a network file, or its manifest is
            truncated, modified or malformed.
    """
    # imports torch: only when a file is named
    from ..compression.netfile import read_manifest

    manifest = read_manifest(path)
    try:
        return str(manifest["workload"])
    except KeyError as error:
        raise NetworkFileError(f"network file {str(path)!r} has a malformed manifest: {error}") from None


@dataclass(frozen=True)
class NetworkKey:
    """A built network: the workload lowered at ``act_bits`` activation bits; a built-in workload
    compressed with ``weights`` (the format of the PE kind that runs it, :attr:`PeKind.weight_format`;
    a ``.krp`` file records its own, so ``weights`` is None for one)."""

    workload: Workload
    act_bits: int
    weights: WeightFormat | None = WeightFormat.GSNQ

    @classmethod
    def of(cls, workload: Workload, act_bits: int, kind: PeKind) -> NetworkKey:
        """The network ``workload`` runs on the PE kind ``kind`` at ``act_bits`` activation bits."""
        return cls(workload, act_bits, kind.weight_format if workload.network is None else None)


def build_network(key: NetworkKey, cache: bool = True) -> IntegerNetwork:
    """Compress (built-in) or read (``.krp``) and lower the network of ``key`` (or read it from the cache)."""
    source = key.workload
    if source.network is not None:  # a user model's spec given as the name confirms it (load_network)
        spec = source.name if workloads.is_import_spec(source.name) else None
        return file_network(source.network, workload=spec, act_bits=key.act_bits, seed=source.seed, cache=cache)
    return workload_network(source.name, seed=source.seed, bits=source.bits, act_bits=key.act_bits,
                            weights=key.weights or WeightFormat.GSNQ, cache=cache)


#: Networks installed in this process by :func:`install`.
_INSTALLED: dict[NetworkKey, IntegerNetwork] = {}


def install(networks: Mapping[NetworkKey, IntegerNetwork]) -> int:
    """Make ``networks`` available to :func:`network_for` in this process; returns how many it has."""
    _INSTALLED.update(networks)
    return len(_INSTALLED)


@functools.lru_cache(maxsize=8)
def _built(key: NetworkKey) -> IntegerNetwork:
    return build_network(key)


def network_for(key: NetworkKey) -> IntegerNetwork:
    """The network of ``key``: installed, or built once in this process (read from the network cache)."""
    installed = _INSTALLED.get(key)
    return installed if installed is not None else _built(key)


def load_workload(name: str, *, seed: int = 0, bits: int = 4, act_bits: int = 8) -> IntegerNetwork:
    """Built-in workload ``name`` compressed one-shot (KRP + ``bits``-bit GSNQ) and lowered; cached per process.

    Raises:
        WorkloadError: an unknown workload.
    """
    workloads.info(name)
    return network_for(NetworkKey(Workload(name, None, seed, bits), act_bits))
