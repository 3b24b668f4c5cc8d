"""The compressed-network file: bit-identical round trip, measured sizes, every corruption refused."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import workloads
from accelsim.compression import WeightFormat
from accelsim.compression.bitpack import pack, unpack
from accelsim.compression.levels import GsnqLevels
from accelsim.compression.netfile import (
    MAGIC,
    decode_network,
    encode_network,
    load_network,
    read_manifest,
    save_network,
)
from accelsim.compression.pipeline import CompressedModel, CompressionConfig, compress
from accelsim.compression.records import PruneMethod
from accelsim.compression.sparse import IndexEncoding, decode_positions, encode_positions
from accelsim.errors import ConfigError, NetworkFileError

USER_MODEL = textwrap.dedent(
    """
    from torch import nn

    def build():
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 12, 1),
            nn.Conv2d(12, 6, 5, padding=2, bias=False), nn.ReLU(),
            nn.Flatten(), nn.Linear(6 * 6 * 6, 30), nn.ReLU(), nn.Linear(30, 4),
        )
    """
)


@pytest.fixture(scope="module")
def digits4() -> CompressedModel:
    return compress(workloads.build("digits", seed=3), CompressionConfig(bits=4), workload="digits")


@pytest.fixture()
def user_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "krp_user_model.py").write_text(USER_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "krp_user_model:build"


def assert_same_network(a: CompressedModel, b: CompressedModel) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert sa[key].dtype == sb[key].dtype and torch.equal(sa[key], sb[key]), key
    assert [r.name for r in a.records] == [r.name for r in b.records]
    for ra, rb in zip(a.records, b.records, strict=True):
        assert (ra.kind, ra.method, ra.levels) == (rb.kind, rb.method, rb.levels)
        assert torch.equal(ra.mask, rb.mask)
        assert (ra.kept_rows is None and rb.kept_rows is None) or torch.equal(ra.kept_rows, rb.kept_rows)
        assert (ra.quantized is None and rb.quantized is None) or torch.equal(ra.quantized, rb.quantized)
    assert a.config == b.config and a.workload == b.workload and a.input_shape == b.input_shape


def test_round_trip_is_bit_identical(digits4: CompressedModel, tmp_path: Path) -> None:
    path = tmp_path / "digits.krp"
    report = save_network(digits4, path)
    loaded = load_network(path)
    assert_same_network(digits4, loaded)
    assert not loaded.model.training
    assert report.file_bytes == path.stat().st_size


@pytest.mark.parametrize(
    "config",
    [
        CompressionConfig(bits=3, fc_prune=0.8, pointwise="magnitude", first_layer="dense"),
        CompressionConfig(bits=None, rows_kept=2, fc_prune=0.3),
        CompressionConfig(bits=8, fc_prune=0.0),
    ],
)
def test_round_trip_of_a_user_model(config: CompressionConfig, user_spec: str, tmp_path: Path) -> None:
    compressed = compress(workloads.build(user_spec, seed=1), config, workload=user_spec)
    path = tmp_path / "user.krp"
    save_network(compressed, path)
    with pytest.raises(NetworkFileError, match="records the user model 'krp_user_model:build'"):
        load_network(path)
    assert_same_network(compressed, load_network(path, workload=user_spec))


def test_sizes_are_measured_from_the_encoding(digits4: CompressedModel) -> None:
    blob, report = encode_network(digits4)
    state = digits4.model.state_dict()
    assert report.dense_float32_bytes == 4 * sum(t.numel() for t in state.values())
    assert report.encoded_bytes == len(blob) - report.header_bytes == report.file_bytes - report.header_bytes
    assert report.compression_ratio == report.dense_float32_bytes / report.encoded_bytes
    for layer, record in zip(report.layers, digits4.records, strict=True):
        out_c, in_c = record.shape[:2]
        if record.method is PruneMethod.KRP:  # 3 codes of 4 bits and one 2-bit row index per kernel
            assert layer.code_bytes == math.ceil(out_c * in_c * 3 * 4 / 8)
            assert layer.row_index_bytes == math.ceil(out_c * in_c * 2 / 8)
        if record.method is PruneMethod.MAGNITUDE:
            assert layer.code_bytes == math.ceil(int(record.mask.sum()) * 4 / 8)
            assert layer.sparse_index_bytes > 0
    params = sum(
        t.numel() * t.element_size() for k, t in state.items() if k not in {f"{r.name}.weight" for r in digits4.records}
    )
    assert report.param_bytes == params
    assert report.code_bytes + report.row_index_bytes + report.sparse_index_bytes + params == report.encoded_bytes


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 7, 8, 13, 32])
def test_bitpack_round_trip(bits: int) -> None:
    values = np.random.default_rng(bits).integers(0, 2**bits, size=1001)
    data = pack(values, bits)
    assert len(data) == math.ceil(1001 * bits / 8)
    assert np.array_equal(unpack(data, bits, 1001), values)


def test_bitpack_layout_is_lsb_first() -> None:
    assert pack(np.array([1, 2, 3]), 2) == bytes([0b00111001])


@pytest.mark.parametrize("density", [0.001, 0.02, 0.3, 0.7, 1.0])
def test_sparse_positions_pick_the_smallest_measured_encoding(density: float) -> None:
    rng = np.random.default_rng(int(density * 1000))
    weights = 5000
    positions = np.flatnonzero(rng.random(weights) < density)
    stored = encode_positions(positions, weights)
    assert np.array_equal(decode_positions(stored, weights), positions)
    sizes = {("bitmap", 1): math.ceil(weights / 8)}
    for w in range(1, 14):  # independent count of delta entries: escapes of 2**w - 1 per long gap
        gaps = np.diff(positions, prepend=-1) - 1
        entries = len(positions) + int(sum(g // (2**w - 1) for g in gaps))
        sizes[("delta", w)] = math.ceil(entries * w / 8)
    assert len(stored.data) == min(sizes.values())
    if density <= 0.02:
        assert stored.encoding is IndexEncoding.DELTA
    if density >= 0.7:  # delta at 1 bit would tie with the bitmap; ties keep the bitmap
        assert stored.encoding is IndexEncoding.BITMAP


def test_delta_escapes_for_long_gaps() -> None:
    positions = np.array([0, 1, 500, 4999])
    stored = encode_positions(positions, 5000)
    assert stored.encoding is IndexEncoding.DELTA
    assert np.array_equal(decode_positions(stored, 5000), positions)


# --- corruption -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blob(digits4: CompressedModel) -> bytes:
    return encode_network(digits4)[0]


def manifest_end(data: bytes) -> int:
    return 46 + struct.unpack_from("<I", data, 10)[0]


def corrupt(blob: bytes, kind: str) -> bytes:
    data = bytearray(blob)
    if kind == "payload byte":
        data[manifest_end(blob) + 100] ^= 0x40
    elif kind == "last byte":
        data[-1] ^= 0x01
    elif kind == "manifest byte":
        data[60] ^= 0x01
    elif kind == "magic":
        data[:8] = b"NOTKRP!!"
    elif kind == "version":
        data[8:10] = struct.pack("<H", 2)
    elif kind == "version 0":
        data[8:10] = struct.pack("<H", 0)
    elif kind == "trailing":
        data += b"\0"
    elif kind == "empty":
        data = bytearray()
    elif kind == "cut payload":
        del data[manifest_end(blob) + 10 :]
    elif kind == "cut manifest":
        del data[manifest_end(blob) - 5 :]
    elif kind.startswith("cut "):
        del data[int(kind.split()[1]) :]
    return bytes(data)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("payload byte", "payload checksum mismatch: the file was modified or corrupted"),
        ("last byte", "payload checksum mismatch"),
        ("manifest byte", "manifest checksum mismatch: the file was modified or corrupted"),
        ("magic", r"is not an accelsim network file: it must start with b'ACCELSIM', not b'NOTKRP!!'"),
        ("version", r"format version must be 1, not 2 \(written by a newer accelsim: upgrade accelsim\)"),
        ("version 0", "format version must be 1, not 0"),
        ("trailing", "has 1 bytes after its payload: the file was modified or corrupted"),
        ("empty", r"is empty \(0 bytes\)"),
        ("cut 5", "is truncated: it has 5 bytes, less than its 46-byte header"),
        ("cut 20", "is truncated: it has 20 bytes, less than its 46-byte header"),
        ("cut manifest", "is truncated: it has .* bytes, its header and manifest take"),
        ("cut payload", "is truncated: its payload has 10 of .* bytes"),
    ],
)
def test_every_corruption_is_one_clear_error(blob: bytes, kind: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "x.krp"
    path.write_bytes(corrupt(blob, kind))
    with pytest.raises(NetworkFileError, match=message) as caught:
        load_network(path)
    assert str(path) in str(caught.value)


def test_the_manifest_alone_is_read_from_the_header(blob: bytes, tmp_path: Path) -> None:
    path = tmp_path / "x.krp"
    path.write_bytes(corrupt(blob, "cut payload"))  # the payload is neither read nor checked
    manifest = read_manifest(path)
    assert manifest["workload"] == "digits"
    assert manifest["config"]["bits"] == 4
    for kind, message in [("manifest byte", "manifest checksum mismatch"), ("cut manifest", "is truncated"),
                          ("magic", "is not an accelsim network file"), ("empty", "is empty")]:
        path.write_bytes(corrupt(blob, kind))
        with pytest.raises(NetworkFileError, match=rf"^network file '{path}'.*{message}"):
            read_manifest(path)
    text = b"[1, 2]"
    path.write_bytes(MAGIC + struct.pack("<HI", 1, len(text)) + hashlib.sha256(text).digest() + text)
    with pytest.raises(NetworkFileError, match=r"has a malformed manifest: it must be a JSON object, not a list$"):
        read_manifest(path)
    with pytest.raises(NetworkFileError, match="must be an existing file"):
        read_manifest(tmp_path / "none.krp")


def test_every_single_byte_flip_is_detected(blob: bytes) -> None:
    for position in range(0, len(blob), 97):
        data = bytearray(blob)
        data[position] ^= 0xFF
        with pytest.raises(NetworkFileError):
            decode_network(bytes(data))


def test_malformed_manifest_with_valid_checksum_is_refused(blob: bytes) -> None:
    text = b'{"payload": {"bytes": 0, "sha256": "' + hashlib.sha256(b"").hexdigest().encode() + b'"}}'
    data = MAGIC + struct.pack("<HI", 1, len(text)) + hashlib.sha256(text).digest() + text
    with pytest.raises(NetworkFileError, match="malformed manifest or payload: 'layers'"):
        decode_network(data, "forged.krp")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="must be an existing file"):
        load_network(tmp_path / "none.krp")


def test_no_partial_file_when_the_folder_is_missing(digits4: CompressedModel, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.krp"
    with pytest.raises(ConfigError, match="output folder must exist"):
        save_network(digits4, target)
    assert not target.parent.exists()
    assert list(tmp_path.iterdir()) == []


def test_architecture_mismatch_is_refused(digits4: CompressedModel, tmp_path: Path) -> None:
    other = CompressedModel(digits4.model, "resnet56", digits4.records, digits4.config)
    path = tmp_path / "wrong.krp"
    save_network(other, path)
    with pytest.raises(NetworkFileError, match="does not match the architecture of workload 'resnet56'"):
        load_network(path)


@pytest.fixture(scope="module")
def digits_uniform() -> CompressedModel:
    return compress(workloads.build("digits", seed=3), CompressionConfig(bits=3, weights="uniform"), workload="digits")


def rewrite(blob: bytes, manifest: Any = None, payload: Any = None) -> bytes:
    """``blob`` with its manifest (a dict) and payload (a bytearray) edited in place, checksums redone."""
    data = json.loads(blob[46 : manifest_end(blob)])
    body = bytearray(blob[manifest_end(blob) :])
    if manifest is not None:
        manifest(data)
    if payload is not None:
        payload(data, body)
    data["payload"]["sha256"] = hashlib.sha256(body).hexdigest()
    text = json.dumps(data).encode()
    return MAGIC + struct.pack("<HI", 1, len(text)) + hashlib.sha256(text).digest() + text + bytes(body)


def test_uniform_round_trip_is_bit_identical(digits_uniform: CompressedModel, tmp_path: Path) -> None:
    path = tmp_path / "uniform.krp"
    report = save_network(digits_uniform, path)
    loaded = load_network(path)
    assert_same_network(digits_uniform, loaded)
    assert loaded.config.weights is WeightFormat.UNIFORM
    layers = json.loads(path.read_bytes()[46 : manifest_end(path.read_bytes())])["layers"]
    for entry, record in zip(layers, digits_uniform.records, strict=True):
        assert entry["levels"] == {"format": "uniform", "bits": 3, "step": record.levels.step}
        assert entry["codes"]["bits"] == 3
    for layer, record in zip(report.layers, digits_uniform.records, strict=True):
        if record.method is PruneMethod.KRP:  # 3 codes of 3 bits per kernel, as for GSNQ
            assert layer.code_bytes == math.ceil(record.shape[0] * record.shape[1] * 3 * 3 / 8)


@pytest.mark.parametrize(
    "config",
    [
        CompressionConfig(bits=2, weights="uniform", fc_prune=0.8, pointwise="magnitude", first_layer="dense"),
        CompressionConfig(bits=8, weights="uniform", fc_prune=0.0),
    ],
)
def test_uniform_round_trip_of_a_user_model(config: CompressionConfig, user_spec: str, tmp_path: Path) -> None:
    compressed = compress(workloads.build(user_spec, seed=1), config, workload=user_spec)
    path = tmp_path / "user.krp"
    save_network(compressed, path)
    assert_same_network(compressed, load_network(path, workload=user_spec))


def test_a_file_written_before_uniform_weights_loads_as_gsnq(digits4: CompressedModel, blob: bytes) -> None:
    def drop_formats(manifest: dict[str, Any]) -> None:
        del manifest["config"]["weights"]
        for entry in manifest["layers"]:
            del entry["levels"]["format"]

    old = decode_network(rewrite(blob, drop_formats))
    assert old.config == digits4.config and old.config.weights is WeightFormat.GSNQ
    for record, original in zip(old.records, digits4.records, strict=True):
        assert isinstance(record.levels, GsnqLevels) and record.levels == original.levels


def test_unknown_or_corrupt_uniform_levels_are_one_clear_error(digits_uniform: CompressedModel) -> None:
    blob = encode_network(digits_uniform)[0]

    def levels(**fields: object) -> Any:
        return lambda manifest: manifest["layers"][1]["levels"].update(fields)

    def unused_code(manifest: dict[str, Any], body: bytearray) -> None:
        codes = manifest["layers"][0]["codes"]
        body[codes["offset"]] = (body[codes["offset"]] & ~0b111) | 0b100  # the first code := 4

    for data, message in (
        (rewrite(blob, levels(format="linear")), "weight format must be one of 'gsnq', 'uniform', not 'linear'"),
        (rewrite(blob, levels(step=0.1)), "step must be a positive normal float32 with at most 17"),
        (rewrite(blob, levels(step="0.5")), "step must be a float, not '0.5'"),
        (rewrite(blob, levels(bits=4)), "codes of 3 bits do not fit its mask"),
        (rewrite(blob, payload=unused_code), "except the unused 4"),
    ):
        with pytest.raises(NetworkFileError, match=f"network file 'x.krp' has a malformed manifest or payload: .*{message}"):
            decode_network(data, "x.krp")
