"""A content-addressed disk cache of compressed and lowered networks.

Compressing and lowering a workload takes seconds (VGG-16 for CIFAR-10: about 2 s, VGG-16 at
224x224: about 10 s); reading the lowered network back takes a small fraction of that. ``accelsim
run``, ``plot``, ``rtl check`` and sweeps (:func:`accelsim.dse.workload.network_for`) therefore keep
every network they build in ``$ACCELSIM_CACHE_DIR/networks`` (default
``~/.cache/accelsim/networks``; :func:`accelsim.synth.cache.cache_root`) unless told not to
(``--no-cache``).

An entry is named by the SHA-256 of everything its network depends on (the *key*, canonical JSON):
where it comes from (a built-in workload and its seed, or a ``.krp`` file's SHA-256 and the
workload named with it), the compression (one-shot method, weight format: GSNQ or uniform, and
bits), the activation bits, the input shape and the calibration set, and accelsim itself: its
version, a digest of the source code that builds networks (compression, lowering, workloads) and
the versions of numpy and torch. A change to any of them is another key, so a stale network is
never returned.

An entry is one ``<key>.npz`` file (read with ``allow_pickle=False``: no object is unpickled):
the network's arrays (:mod:`accelsim.integer.netarrays`), its description and the key as JSON (in
uint8 arrays), and a SHA-256 checksum over all of them. It is written to a temporary file and
renamed over the entry (:func:`accelsim.outputs.atomic_write_bytes`), so concurrent writers of one
entry each leave a whole file and a reader never sees part of one. An entry that cannot be read,
or whose checksum or key does not match, is rebuilt and rewritten, never trusted.

A cache folder that cannot be written (``$ACCELSIM_CACHE_DIR`` naming a file, or a folder accelsim
cannot create or write) does not stop a run: the network is built as without the cache, and a
warning naming the folder and ``ACCELSIM_CACHE_DIR`` is logged once per process and folder
(entries already in a read-only folder are still read).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..integer.graph import IntegerNetwork
from ..integer.netarrays import network_from_arrays, network_to_arrays
from ..outputs import atomic_write_bytes
from ..synth.cache import CACHE_ENV, cache_root, content_key

LOG = logging.getLogger(__name__)

#: Sub-folder of the accelsim cache folder that holds the networks.
FOLDER = "networks"
#: Layout of an entry; part of every key, so a new layout never reads an old entry.
FORMAT = 1
#: Source folders (relative to the repository root) whose code determines a built network.
CODE = ("accelsim/compression", "accelsim/integer", "accelsim/sim/sources.py", "workloads")
#: Array names an entry holds besides the network's arrays.
_META, _KEY, _CHECKSUM = "__network__", "__key__", "__checksum__"
#: Cache folders this process has reported unwritable (each is reported once).
_UNWRITABLE: set[Path] = set()


def cache_folder() -> Path:
    """Where the networks are kept: ``<accelsim cache folder>/networks`` (not created)."""
    return cache_root() / FOLDER


@functools.lru_cache(maxsize=1)
def code_identity() -> dict[str, str]:
    """accelsim's version, the SHA-256 of the code that builds networks, numpy's and torch's versions."""
    from .. import __version__

    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for entry in CODE:
        path = root / entry
        sources = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
        for source in sources:
            digest.update(str(source.relative_to(root)).encode() + b"\0" + source.read_bytes() + b"\0")
    versions = {name: importlib.metadata.version(name) for name in ("numpy", "torch")}
    return {"accelsim": __version__, "code": digest.hexdigest(), **versions}


def entry_key(source: Mapping[str, Any]) -> dict[str, Any]:
    """The full key of a network built from ``source`` (JSON-able): ``source`` plus the code identity."""
    return {"format": FORMAT, "source": dict(source), "code": code_identity()}


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.data)
    return digest.hexdigest()


def _text(value: Any) -> np.ndarray:
    """``value`` as canonical JSON in a uint8 array."""
    return np.frombuffer(json.dumps(value, sort_keys=True).encode(), dtype=np.uint8)


def write_entry(path: Path, key: Mapping[str, Any], network: IntegerNetwork) -> None:
    """Store ``network`` under ``key`` at ``path``, atomically (the folder is created)."""
    data, arrays = network_to_arrays(network)
    arrays = {**arrays, _META: _text(data), _KEY: _text(key)}
    arrays[_CHECKSUM] = np.frombuffer(_checksum(arrays).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def read_entry(path: Path, key: Mapping[str, Any]) -> IntegerNetwork | None:
    """The network stored at ``path`` under ``key``, or None if absent, unreadable, corrupt or another key's."""
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        checksum = arrays.pop(_CHECKSUM).tobytes().decode()
        if checksum != _checksum(arrays) or json.loads(arrays.pop(_KEY).tobytes()) != json.loads(json.dumps(key)):
            return None
        return network_from_arrays(json.loads(arrays.pop(_META).tobytes()), arrays)
    except (OSError, EOFError, KeyError, TypeError, ValueError, UnicodeDecodeError, zipfile.BadZipFile):
        return None


def cached_network(source: Mapping[str, Any], build: Callable[[], IntegerNetwork], *, cache: bool = True,
                   folder: Path | None = None) -> IntegerNetwork:
    """The network built from ``source``: read from the cache, or built with ``build()`` and stored.

    Args:
        source: what the network is built from (JSON-able; see the module docstring).
        build: builds the network (on a miss).
        cache: False builds without reading or writing the cache.
        folder: the cache folder (default :func:`cache_folder`).
    """
    if not cache:
        return build()
    key = entry_key(source)
    path = (folder or cache_folder()) / f"{content_key(key)}.npz"
    network = read_entry(path, key)
    if network is None:
        network = build()
        try:
            write_entry(path, key, network)
        except OSError as error:  # an unwritable cache folder costs the next run the build, said once
            _report_unwritable(path.parent, error)
    return network


def _report_unwritable(folder: Path, error: OSError) -> None:
    """Log, once per process, that the networks of ``folder`` cannot be stored, and how to fix it."""
    if folder in _UNWRITABLE:
        return
    _UNWRITABLE.add(folder)
    setting = os.environ.get(CACHE_ENV)
    fix = (f"{CACHE_ENV} must name a folder accelsim can create and write, not {setting!r}" if setting
           else f"set {CACHE_ENV} to a folder accelsim can create and write")
    LOG.warning("accelsim: warning: the network cache %s cannot be written (%s), so networks are built afresh "
                "on every run: %s (or pass --no-cache)", str(folder), error.strerror or type(error).__name__, fix)
