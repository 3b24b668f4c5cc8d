"""The compressed-network file (``.krp``): what the datapath, simulator and RTL read.

A safe binary format (no pickle; nothing in it is executed):

======  =====================================================================================
bytes   content
======  =====================================================================================
8       magic ``b"ACCELSIM"``
2       format version, uint16 little-endian (this module writes and reads version 1)
4       manifest length L in bytes, uint32 little-endian
32      SHA-256 of the manifest
L       manifest: UTF-8 JSON (below)
rest    payload: the encoded arrays, back to back; its length and SHA-256 are in the manifest
======  =====================================================================================

The manifest records the workload (name or ``"module:factory"`` spec that rebuilds the
architecture), the input shape, the compression config, the payload's length and SHA-256, and:

* per prunable layer (``layers``): name, kind, pruning method, weight shape, rows kept, levels
  (``format``: ``"gsnq"`` with bits and each sign's exponent range, or ``"uniform"`` with bits
  and step; a file written before uniform quantization existed has no ``format``: GSNQ), and the
  location (offset, bytes) of its arrays:

  - ``codes``: the codes of the *stored* weights, packed at ``bits`` bits each (both layouts in
    :mod:`.levels`); or, for a model not quantized, ``values``: their float32 values;
  - ``rows`` (KRP layers): the kept row index of every kernel, ascending within a kernel,
    packed at ``ceil(log2 KH)`` bits each;
  - ``indices`` (magnitude-pruned layers): the kept positions (:mod:`.sparse`).

  The stored weights are, for KRP, only the kept rows (``rows_kept * KW`` weights per kernel, in
  (out channel, in channel, kept row, column) order), never the pruned zeros; for a
  magnitude-pruned layer the weights at the kept positions; for a dense layer all of them.
* every other state-dict tensor (``tensors``: biases, BatchNorm weight, bias, running mean and
  variance, ``num_batches_tracked``), raw little-endian in its own dtype (float32 for parameters):
  the *per-layer parameters*.

Any truncation or modification is detected (lengths and both SHA-256 digests) and reported as a
:class:`~accelsim.errors.NetworkFileError`; the file is written atomically.

:func:`read_manifest` reads a file's header and manifest only (which workload it records, say);
:func:`decode_network` and :func:`load_network` read the whole file.

Sizes: ``encoded_bytes`` = codes + row indices + sparse indices + per-layer parameters, the
byte lengths of the encoded arrays as written (it equals the payload length);
``dense_float32_bytes`` = 4 bytes for every element of every state-dict tensor (parameters and
buffers) of the model; ``compression_ratio = dense_float32_bytes / encoded_bytes``. The header and
manifest are reported as ``header_bytes`` and counted in ``file_bytes`` but not in the ratio.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import workloads

from ..errors import AccelsimError, ConfigError, NetworkFileError, brief
from ..inputs import input_file
from ..outputs import atomic_write_bytes
from .architecture import build as build_architecture
from .bitpack import bits_for, pack, unpack
from .krp import row_mask
from .levels import levels_from_dict
from .pipeline import CompressedModel, CompressionConfig
from .records import LayerKind, LayerRecord, PruneMethod
from .sparse import EncodedPositions, IndexEncoding, decode_positions, encode_positions

MAGIC = b"ACCELSIM"
VERSION = 1
_HEADER = struct.Struct("<8sHI32s")
#: Raw dtypes a per-layer tensor may have in the file.
_DTYPES = {
    torch.float32: "<f4",
    torch.float64: "<f8",
    torch.float16: "<f2",
    torch.int64: "<i8",
    torch.int32: "<i4",
    torch.int16: "<i2",
    torch.int8: "i1",
    torch.uint8: "u1",
    torch.bool: "?",
}
_FLOAT32_BYTES = 4
#: Largest input image a manifest may declare, in elements (e.g. 3 x 2048 x 2048 fits).
MAX_INPUT_ELEMENTS = 1 << 24
#: Largest tensor (weight, bias, buffer) a manifest may declare, in elements (1 GiB of float32).
MAX_TENSOR_ELEMENTS = 1 << 28


@dataclass(frozen=True)
class LayerEncoding:
    """Encoded size of one prunable layer.

    Attributes:
        name, kind, method: as in its record.
        stored_weights: number of weights stored (kept rows, kept positions, or all).
        code_bytes: bytes of their codes (float32 values if not quantized).
        row_index_bytes: bytes of the KRP kept-row indices (0 otherwise).
        sparse_index_bytes: bytes of the sparse positions (0 unless magnitude-pruned).
        index_encoding: "bitmap" or "delta" for a sparse layer, else None.
        index_bits: bits per sparse index entry, else None.
    """

    name: str
    kind: LayerKind
    method: PruneMethod
    stored_weights: int
    code_bytes: int
    row_index_bytes: int
    sparse_index_bytes: int
    index_encoding: IndexEncoding | None
    index_bits: int | None

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "method": self.method.value,
            "stored_weights": self.stored_weights,
            "code_bytes": self.code_bytes,
            "row_index_bytes": self.row_index_bytes,
            "sparse_index_bytes": self.sparse_index_bytes,
            "index_encoding": None if self.index_encoding is None else self.index_encoding.value,
            "index_bits": self.index_bits,
        }


@dataclass(frozen=True)
class EncodingReport:
    """Measured sizes of a network file, in bytes (see the module docstring for what counts)."""

    layers: tuple[LayerEncoding, ...]
    param_bytes: int
    header_bytes: int
    file_bytes: int
    dense_float32_bytes: int

    @property
    def code_bytes(self) -> int:
        """Bytes of all weight codes (float32 values if not quantized)."""
        return sum(layer.code_bytes for layer in self.layers)

    @property
    def row_index_bytes(self) -> int:
        """Bytes of all KRP kept-row indices."""
        return sum(layer.row_index_bytes for layer in self.layers)

    @property
    def sparse_index_bytes(self) -> int:
        """Bytes of all sparse positions."""
        return sum(layer.sparse_index_bytes for layer in self.layers)

    @property
    def encoded_bytes(self) -> int:
        """Codes + row indices + sparse indices + per-layer parameters."""
        return self.code_bytes + self.row_index_bytes + self.sparse_index_bytes + self.param_bytes

    @property
    def compression_ratio(self) -> float:
        """``dense_float32_bytes / encoded_bytes``."""
        return self.dense_float32_bytes / self.encoded_bytes

    def to_dict(self) -> dict[str, object]:
        """JSON-able form with every total."""
        return {
            "code_bytes": self.code_bytes,
            "row_index_bytes": self.row_index_bytes,
            "sparse_index_bytes": self.sparse_index_bytes,
            "param_bytes": self.param_bytes,
            "header_bytes": self.header_bytes,
            "encoded_bytes": self.encoded_bytes,
            "file_bytes": self.file_bytes,
            "dense_float32_bytes": self.dense_float32_bytes,
            "compression_ratio": self.compression_ratio,
            "layers": [layer.to_dict() for layer in self.layers],
        }


class _Payload:
    """The payload being written: arrays appended back to back."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes, **description: Any) -> dict[str, Any]:
        """Append ``data``; its manifest entry (offset, bytes and ``description``)."""
        entry = {"offset": self.size, "bytes": len(data), **description}
        self.parts.append(data)
        self.size += len(data)
        return entry


def _stored_weights(record: LayerRecord, weight: torch.Tensor) -> torch.Tensor:
    """The 1-D weights of a layer that the file stores (see the module docstring), in order."""
    if record.method is PruneMethod.KRP:
        if record.kept_rows is None or not torch.equal(record.mask, row_mask(record.kept_rows, record.shape)):
            raise ValueError(f"layer {record.name!r}: a KRP mask must be exactly its kept rows")
        index = record.kept_rows.unsqueeze(3).expand(*record.kept_rows.shape, record.shape[3])
        stored = weight.gather(2, index).reshape(-1)
    elif record.method is PruneMethod.MAGNITUDE:
        stored = weight.reshape(-1)[record.mask.reshape(-1)]
    else:
        stored = weight.reshape(-1)
    if int(torch.count_nonzero(stored)) != int(torch.count_nonzero(weight)):
        raise ValueError(f"layer {record.name!r} has non-zero weights outside its mask")
    return stored


def _encode_layer(record: LayerRecord, weight: torch.Tensor, payload: _Payload) -> tuple[dict[str, Any], LayerEncoding]:
    """The manifest entry and size report of one prunable layer; its arrays go to ``payload``."""
    stored = _stored_weights(record, weight)
    entry: dict[str, Any] = {
        "name": record.name,
        "kind": record.kind.value,
        "method": record.method.value,
        "shape": list(record.shape),
        "rows_kept": record.rows_kept,
        "levels": None if record.levels is None else record.levels.to_dict(),
    }
    if record.levels is not None:
        bits = record.levels.bits
        entry["codes"] = payload.add(pack(record.levels.encode(stored), bits), count=stored.numel(), bits=bits)
    else:
        entry["values"] = payload.add(stored.to(torch.float32).numpy().astype("<f4").tobytes(), count=stored.numel())
    rows = indices = 0
    positions: EncodedPositions | None = None
    if record.kept_rows is not None:
        bits = bits_for(record.shape[2])
        entry["rows"] = payload.add(pack(record.kept_rows.numpy(), bits), count=record.kept_rows.numel(), bits=bits)
        rows = entry["rows"]["bytes"]
    if record.method is PruneMethod.MAGNITUDE:
        positions = encode_positions(np.flatnonzero(record.mask.reshape(-1).numpy()), record.weights)
        entry["indices"] = payload.add(
            positions.data, encoding=positions.encoding.value, bits=positions.bits, entries=positions.entries
        )
        indices = entry["indices"]["bytes"]
    codes = entry["codes" if record.levels is not None else "values"]["bytes"]
    report = LayerEncoding(
        name=record.name,
        kind=record.kind,
        method=record.method,
        stored_weights=stored.numel(),
        code_bytes=codes,
        row_index_bytes=rows,
        sparse_index_bytes=indices,
        index_encoding=None if positions is None else positions.encoding,
        index_bits=None if positions is None else positions.bits,
    )
    return entry, report


def encode_network(compressed: CompressedModel) -> tuple[bytes, EncodingReport]:
    """The bytes of the network file of ``compressed`` and its measured sizes.

    Raises:
        ConfigError: ``compressed`` is not a :class:`CompressedModel`.
    """
    if not isinstance(compressed, CompressedModel):
        raise ConfigError(f"compressed must be a CompressedModel (from accelsim.compress), not {brief(compressed)}")
    state = {key: value.detach().cpu() for key, value in compressed.model.state_dict().items()}
    payload = _Payload()
    layers, reports = [], []
    weight_keys = {f"{record.name}.weight" for record in compressed.records}
    for record in compressed.records:
        entry, report = _encode_layer(record, state[f"{record.name}.weight"], payload)
        layers.append(entry)
        reports.append(report)
    tensors = []
    for key, tensor in state.items():
        if key in weight_keys:
            continue
        if tensor.dtype not in _DTYPES:
            raise NetworkFileError(f"tensor {key!r} must have a numeric dtype the file can store, not {tensor.dtype}")
        data = tensor.contiguous().numpy().astype(_DTYPES[tensor.dtype]).tobytes()
        tensors.append(payload.add(data, key=key, dtype=_DTYPES[tensor.dtype], shape=list(tensor.shape)))
    body = b"".join(payload.parts)
    manifest = {
        "format": "accelsim-network",
        "workload": compressed.workload,
        "input_shape": None if compressed.input_shape is None else list(compressed.input_shape),
        "config": compressed.config.to_dict(),
        "layers": layers,
        "tensors": tensors,
        "payload": {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()},
    }
    if compressed.architecture is not None:
        manifest["architecture"] = compressed.architecture
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    header = _HEADER.pack(MAGIC, VERSION, len(text), hashlib.sha256(text).digest())
    blob = header + text + body
    report = EncodingReport(
        layers=tuple(reports),
        param_bytes=sum(entry["bytes"] for entry in tensors),
        header_bytes=len(header) + len(text),
        file_bytes=len(blob),
        dense_float32_bytes=_FLOAT32_BYTES * sum(tensor.numel() for tensor in state.values()),
    )
    return blob, report


def save_network(compressed: CompressedModel, path: str | os.PathLike[str]) -> EncodingReport:
    """Write the network file of ``compressed`` to ``path`` atomically; return its measured sizes.

    Raises:
        ConfigError: the output folder does not exist (nothing is written).
    """
    blob, report = encode_network(compressed)
    atomic_write_bytes(path, blob)
    return report


@dataclass(frozen=True, eq=False)
class NetworkContents:
    """A decoded network file, before its architecture is built.

    Attributes:
        workload: name or spec that rebuilds the architecture.
        input_shape: (C, H, W), or None if unknown.
        config: the compression config.
        state_dict: every tensor of the model's state dict, decoded.
        records: the compression state of every prunable layer.
        architecture: the recorded architecture of a user or ONNX model (:mod:`.architecture`),
            or None.
    """

    workload: str
    input_shape: tuple[int, ...] | None
    config: CompressionConfig
    state_dict: dict[str, torch.Tensor]
    records: tuple[LayerRecord, ...]
    architecture: dict[str, Any] | None = None


def _check_header(data: bytes, where: str) -> tuple[int, bytes]:
    """``(manifest length, manifest digest)`` of a file's bytes, or the NetworkFileError saying what is wrong."""
    if not data:
        raise NetworkFileError(f"network file {where!r} is empty (0 bytes): it must be written by accelsim compress")
    if not data.startswith(MAGIC[: len(data)]):
        raise NetworkFileError(
            f"network file {where!r} is not an accelsim network file: it must start with {MAGIC!r}, "
            f"not {data[: len(MAGIC)]!r}"
        )
    if len(data) < _HEADER.size:
        raise NetworkFileError(
            f"network file {where!r} is truncated: it has {len(data)} bytes, less than its {_HEADER.size}-byte header"
        )
    _, version, length, digest = _HEADER.unpack_from(data)
    if version != VERSION:
        newer = " (written by a newer accelsim: upgrade accelsim)" if version > VERSION else ""
        raise NetworkFileError(f"network file {where!r}: format version must be {VERSION}, not {version}{newer}")
    if len(data) < _HEADER.size + length:
        raise NetworkFileError(
            f"network file {where!r} is truncated: it has {len(data)} bytes, its header and manifest "
            f"take {_HEADER.size + length}"
        )
    return length, digest


def _parse_manifest(data: bytes, where: str) -> tuple[Any, int]:
    """The parsed manifest of a file's bytes (its header and manifest at least) and the offset of its
    payload, in bytes.

    Raises:
        NetworkFileError: empty, wrong magic, another version, truncated, or a manifest that was
            modified or is not JSON.
    """
    length, digest = _check_header(data, where)
    start = _HEADER.size + length
    text = data[_HEADER.size : start]
    if hashlib.sha256(text).digest() != digest:
        raise NetworkFileError(
            f"network file {where!r}: manifest checksum mismatch: the file was modified or corrupted"
        )
    try:
        return json.loads(text), start
    except ValueError as error:
        raise NetworkFileError(f"network file {where!r} has a malformed manifest: {error}") from error
    except RecursionError:
        raise NetworkFileError(f"network file {where!r} has a malformed manifest: nested too deeply") from None


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the network file at ``path`` (workload, input shape, compression config, the
    layers' entries: the module docstring), read from its header and manifest only: the payload is
    neither read nor checked, no weight is decoded and no model built.

    Raises:
        NetworkFileError: the file is missing or cannot be read, is empty, is not a network file or
            of another version, or its manifest is truncated, modified or not a JSON object.
    """
    file = input_file(path, "network file", NetworkFileError)
    where = str(file)
    try:
        with file.open("rb") as handle:
            head = handle.read(_HEADER.size)
            length = _HEADER.unpack_from(head)[2] if len(head) == _HEADER.size else 0
            data = head + handle.read(length)
    except OSError as error:
        raise NetworkFileError(f"network file {where!r} cannot be read: {error.strerror}") from error
    manifest, _ = _parse_manifest(data, where)
    if not isinstance(manifest, dict):
        raise NetworkFileError(
            f"network file {where!r} has a malformed manifest: it must be a JSON object, not a {type(manifest).__name__}"
        )
    return manifest


def _array(payload: bytes, entry: dict[str, Any]) -> bytes:
    """The bytes of the payload array described by ``entry``."""
    offset, size = entry["offset"], entry["bytes"]
    if not (
        isinstance(offset, int)
        and isinstance(size, int)
        and 0 <= offset
        and 0 <= size
        and offset + size <= len(payload)
    ):
        raise ValueError(f"array at offset {offset!r} of {size!r} bytes is outside the payload")
    return payload[offset : offset + size]


def _decode_layer(entry: dict[str, Any], payload: bytes) -> tuple[torch.Tensor, LayerRecord]:
    """The weight and record of one prunable layer."""
    shape = tuple(int(n) for n in entry["shape"])
    method = PruneMethod(entry["method"])
    levels = None if entry["levels"] is None else levels_from_dict(entry["levels"])
    weights = int(np.prod(shape))
    kept_rows: torch.Tensor | None = None
    positions: np.ndarray | None = None
    if method is PruneMethod.KRP:
        rows = entry["rows"]
        out_c, in_c, height, width = shape
        kept = unpack(_array(payload, rows), rows["bits"], rows["count"]).reshape(out_c, in_c, int(entry["rows_kept"]))
        if kept.size and (kept.max() >= height or (np.diff(kept, axis=2) <= 0).any()):
            raise ValueError(f"layer {entry['name']!r}: kept rows must be ascending indices below {height}")
        kept_rows = torch.from_numpy(kept)
        count = kept.size * width
    elif method is PruneMethod.MAGNITUDE:
        index = entry["indices"]
        stored = EncodedPositions(
            IndexEncoding(index["encoding"]), index["bits"], index["entries"], _array(payload, index)
        )
        positions = decode_positions(stored, weights)
        count = len(positions)
    else:
        count = weights
    if levels is not None:
        codes = entry["codes"]
        if codes["count"] != count or codes["bits"] != levels.bits:
            raise ValueError(
                f"layer {entry['name']!r}: {codes['count']} codes of {codes['bits']} bits do not fit its mask"
            )
        values = levels.decode(unpack(_array(payload, codes), levels.bits, count))
    else:
        raw = _array(payload, entry["values"])
        values = torch.from_numpy(np.frombuffer(raw, dtype="<f4").astype(np.float32))
        if values.numel() != count:
            raise ValueError(f"layer {entry['name']!r}: {values.numel()} values do not fit its mask")
    if kept_rows is not None:
        weight = torch.zeros(shape, dtype=torch.float32)
        index_rows = kept_rows.unsqueeze(3).expand(*kept_rows.shape, shape[3])
        weight.scatter_(2, index_rows, values.reshape(index_rows.shape))
        mask = row_mask(kept_rows, shape)
    elif positions is not None:
        flat = torch.zeros(weights, dtype=torch.float32)
        flat[torch.from_numpy(positions)] = values
        weight = flat.reshape(shape)
        mask_flat = torch.zeros(weights, dtype=torch.bool)
        mask_flat[torch.from_numpy(positions)] = True
        mask = mask_flat.reshape(shape)
    else:
        weight = values.reshape(shape)
        mask = torch.ones(shape, dtype=torch.bool)
    record = LayerRecord(
        name=str(entry["name"]),
        kind=LayerKind(entry["kind"]),
        method=method,
        mask=mask,
        kept_rows=kept_rows,
        levels=levels,
        quantized=None if levels is None else mask.clone(),
    )
    return weight, record


def _decode_tensor(entry: dict[str, Any], payload: bytes) -> torch.Tensor:
    """One raw per-layer tensor."""
    if entry["dtype"] not in _DTYPES.values():
        raise ValueError(f"tensor {entry['key']!r}: dtype {entry['dtype']!r} is not one the file stores")
    array = np.frombuffer(_array(payload, entry), dtype=entry["dtype"]).reshape([int(n) for n in entry["shape"]])
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=True))


def _check_shape(value: object, what: str, ranks: tuple[int, ...], low: int, limit: int) -> None:
    """ValueError unless ``value`` is a list of ``ranks`` integers >= ``low`` whose product is at most ``limit``."""
    if not (
        isinstance(value, list)
        and len(value) in ranks
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= low for n in value)
    ):
        raise ValueError(f"{what} must be a list of {' or '.join(map(str, ranks))} integers >= {low}, not {brief(value)}")
    if math.prod(value) > limit:
        raise ValueError(f"{what} must have at most {limit:,} elements, not {math.prod(value):,} ({brief(value)})")


def _check_manifest(manifest: object, where: str) -> None:
    """Check the manifest's shapes before anything is allocated from them.

    Raises:
        NetworkFileError: a field of the wrong form, or a shape too large (:data:`MAX_INPUT_ELEMENTS`,
            :data:`MAX_TENSOR_ELEMENTS`).
    """
    try:
        if not isinstance(manifest, dict):
            raise TypeError(f"the manifest must be a JSON object, not a {type(manifest).__name__}")
        if manifest.get("input_shape") is not None:
            _check_shape(manifest["input_shape"], "input_shape", (1, 2, 3), 1, MAX_INPUT_ELEMENTS)
        if "architecture" in manifest and not isinstance(manifest["architecture"], dict):
            raise ValueError(f"architecture must be an object, not {brief(manifest['architecture'])}")
        for key, ranks, low in (("layers", (2, 4), 1), ("tensors", tuple(range(5)), 0)):
            entries = manifest.get(key, [])  # a missing key is reported where it is read
            if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
                raise ValueError(f"{key} must be a list of objects, not {brief(entries)}")
            for index, entry in enumerate(entries):
                _check_shape(entry.get("shape"), f"{key}[{index}].shape", ranks, low, MAX_TENSOR_ELEMENTS)
    except (TypeError, ValueError) as error:
        raise NetworkFileError(f"network file {where!r} has a malformed manifest: {error}") from None


def decode_network(data: bytes, where: str = "<bytes>") -> NetworkContents:
    """Decode the bytes of a network file (no model is built, no module imported).

    Raises:
        NetworkFileError: empty, wrong magic, unknown version, truncated, modified or malformed
            (every shape is checked before anything is allocated from it).
    """
    manifest, start = _parse_manifest(data, where)
    try:
        expected = int(manifest["payload"]["bytes"])
    except (ValueError, KeyError, TypeError) as error:
        raise NetworkFileError(f"network file {where!r} has a malformed manifest: {error}") from error
    _check_manifest(manifest, where)
    payload = data[start:]
    if len(payload) < expected:
        raise NetworkFileError(
            f"network file {where!r} is truncated: its payload has {len(payload)} of {expected} bytes"
        )
    if len(payload) > expected:
        raise NetworkFileError(
            f"network file {where!r} has {len(payload) - expected} bytes after its payload: "
            "the file was modified or corrupted"
        )
    if hashlib.sha256(payload).hexdigest() != manifest["payload"]["sha256"]:
        raise NetworkFileError(f"network file {where!r}: payload checksum mismatch: the file was modified or corrupted")
    try:
        state: dict[str, torch.Tensor] = {}
        records = []
        for entry in manifest["layers"]:
            weight, record = _decode_layer(entry, payload)
            state[f"{record.name}.weight"] = weight
            records.append(record)
        for entry in manifest["tensors"]:
            state[str(entry["key"])] = _decode_tensor(entry, payload)
        shape = manifest["input_shape"]
        return NetworkContents(
            workload=str(manifest["workload"]),
            input_shape=None if shape is None else tuple(int(n) for n in shape),
            config=CompressionConfig.from_dict(manifest["config"]),
            state_dict=state,
            records=tuple(records),
            architecture=manifest.get("architecture"),
        )
    except (AccelsimError, ValueError, KeyError, TypeError, IndexError, RuntimeError) as error:
        raise NetworkFileError(f"network file {where!r} has a malformed manifest or payload: {error}") from error


def load_network(path: str | os.PathLike[str], *, workload: str | None = None) -> CompressedModel:
    """Read a network file and rebuild its model.

    The architecture comes from, in this order: the built-in workload the file names
    (``workloads.build(name, seed=0)``); the user model's factory when ``workload`` repeats the
    ``"module:factory"`` spec the file records (importing a module runs its code, so the file
    alone must not decide it); the architecture the file records for a user or ONNX model
    (:mod:`.architecture`: standard torch modules only, nothing executed). The decoded weights
    are then loaded into it.

    Raises:
        NetworkFileError: the file is missing, empty, truncated, modified, of another version,
            records a user model but neither its architecture nor a confirmed spec, records
            another model than ``workload``, or does not match the architecture.
    """
    file = input_file(path, "network file", NetworkFileError)
    where = str(file)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise NetworkFileError(f"network file {where!r} cannot be read: {error.strerror}") from error
    contents = decode_network(data, where)
    spec = contents.workload
    if workload is not None and workload != spec:
        raise NetworkFileError(
            f"workload must be the model network file {where!r} records, {spec!r}, or be left out, not "
            f"{brief(workload)}"
        )
    recorded = False
    if spec in workloads.names() or (workload == spec and workloads.is_import_spec(spec)):
        model = workloads.build(spec, seed=0)
    elif contents.architecture is not None:
        try:
            model = build_architecture(contents.architecture)
        except (ValueError, TypeError) as error:
            raise NetworkFileError(f"network file {where!r} has a malformed architecture: {error}") from None
        recorded = True
    elif workloads.is_import_spec(spec):
        raise NetworkFileError(
            f"network file {where!r} records the user model {spec!r} but not its architecture; pass it as the "
            "workload to rebuild it (importing a module runs its code, so the file alone does not decide it)"
        )
    else:
        raise NetworkFileError(
            f"network file {where!r} records the model {spec!r}, which is neither a built-in workload nor a "
            "'module:factory' spec, and no architecture to rebuild it from"
        )
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    found = {key: tuple(value.shape) for key, value in contents.state_dict.items()}
    if expected != found:
        differences = sorted(set(expected.items()) ^ set(found.items()))[:3]
        source = "its recorded architecture" if recorded else f"the architecture of workload {spec!r}"
        raise NetworkFileError(
            f"network file {where!r} does not match {source} (state-dict entries differ, e.g. {differences})"
        )
    if recorded:  # the meta-device model takes the decoded tensors as they are (no allocation)
        dtypes = {key: value.dtype for key, value in model.state_dict().items()}
        state = {key: value.to(dtypes[key]) for key, value in contents.state_dict.items()}
        model.load_state_dict(state, strict=True, assign=True)
    else:
        model.load_state_dict(contents.state_dict, strict=True)
    return CompressedModel(
        model=model.eval(),
        workload=spec,
        records=contents.records,
        config=contents.config,
        input_shape=contents.input_shape,
        architecture=contents.architecture,
    )
