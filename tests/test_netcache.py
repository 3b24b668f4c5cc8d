"""The network cache: exact round trips, a miss for any changed input, corrupt entries rebuilt, safe writers."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import workloads
from accelsim.cli import main
from accelsim.compression import CompressionConfig, compress, save_network
from accelsim.integer.graph import (
    ConvLayer,
    IntegerNetwork,
    LinearLayer,
    PoolKind,
    Requant,
    WeightFormat,
)
from accelsim.integer.netarrays import network_from_arrays, network_to_arrays
from accelsim.sim import NetworkBuilder, netcache
from accelsim.sim.sources import file_network, workload_network


def assert_same_network(a: IntegerNetwork, b: IntegerNetwork) -> None:
    """Field by field, arrays by dtype, shape and value."""

    def same(x: object, y: object) -> None:
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)
        elif isinstance(x, Requant):
            assert isinstance(y, Requant)
            for field in dataclasses.fields(x):
                same(getattr(x, field.name), getattr(y, field.name))
        else:
            assert type(x) is type(y) and x == y

    assert (a.name, a.output, a.input, a.metadata) == (b.name, b.output, b.input, b.metadata)
    assert [type(layer) for layer in a.layers] == [type(layer) for layer in b.layers]
    for left, right in zip(a.layers, b.layers, strict=True):
        for field in dataclasses.fields(left):
            same(getattr(left, field.name), getattr(right, field.name))


@pytest.fixture(scope="module")
def resnet() -> IntegerNetwork:
    """A lowered network with every layer kind (conv, KRP and dense, pool, add, flatten, linear)."""
    return workload_network("resnet56", cache=False)


def test_arrays_round_trip_exactly(resnet: IntegerNetwork) -> None:
    data, arrays = network_to_arrays(resnet)
    stored = json.loads(json.dumps(data))  # what an entry holds
    assert_same_network(network_from_arrays(stored, {k: v.copy() for k, v in arrays.items()}), resnet)
    assert {type(layer).__name__ for layer in resnet.layers} >= {"ConvLayer", "PoolLayer", "AddLayer",
                                                                  "LinearLayer", "FlattenLayer"}


def test_grouped_convolutions_every_pooling_form_and_concatenation_round_trip(tmp_path: Path) -> None:
    builder = NetworkBuilder((8, 11, 9), seed=4)
    start = builder.conv(8, kernel=3, groups=8, rows_kept=1, name="depthwise")
    grouped = builder.conv(16, kernel=3, stride=2, groups=4, rows_kept=None, name="grouped", source=start)
    ceil = builder.pool(3, stride=2, padding=1, kind=PoolKind.AVG, ceil_mode=True, name="ceil", source=start)
    builder.adaptive_pool((4, 3), kind=PoolKind.AVG, name="uneven", source=start)
    builder.adaptive_pool((6, 5), kind=PoolKind.MAX, name="adaptive", source=grouped)
    builder.concat([ceil, "adaptive"], name="cat")
    network = builder.build()
    assert {type(layer).__name__ for layer in network.layers} >= {"ConvLayer", "PoolLayer", "ConcatLayer"}
    data, arrays = network_to_arrays(network)
    assert_same_network(network_from_arrays(json.loads(json.dumps(data)), arrays), network)
    netcache.cached_network({"ops": 1}, lambda: network, folder=tmp_path)
    assert_same_network(netcache.cached_network({"ops": 1}, lambda: pytest.fail("rebuilt"), folder=tmp_path), network)


def counting(build: Callable[[], IntegerNetwork]) -> tuple[Callable[[], IntegerNetwork], list[int]]:
    calls: list[int] = []

    def counted() -> IntegerNetwork:
        calls.append(1)
        return build()

    return counted, calls


def test_hit_returns_the_stored_network_without_building(tmp_path: Path, resnet: IntegerNetwork) -> None:
    build, calls = counting(lambda: resnet)
    first = netcache.cached_network({"x": 1}, build, folder=tmp_path)
    second = netcache.cached_network({"x": 1}, build, folder=tmp_path)
    assert calls == [1] and first is resnet
    assert_same_network(second, resnet)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    netcache.cached_network({"x": 1}, build, folder=tmp_path, cache=False)
    assert calls == [1, 1]


def test_changed_source_or_code_is_a_miss(tmp_path: Path, resnet: IntegerNetwork,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    build, calls = counting(lambda: resnet)
    netcache.cached_network({"seed": 0, "bits": 4}, build, folder=tmp_path)
    netcache.cached_network({"seed": 1, "bits": 4}, build, folder=tmp_path)
    netcache.cached_network({"seed": 0, "bits": 3}, build, folder=tmp_path)
    assert len(calls) == 3
    identity = netcache.code_identity()
    for change in ({"accelsim": "0.2.0"}, {"code": "0" * 64}, {"torch": "9.9"}):
        monkeypatch.setattr(netcache, "code_identity", lambda change=change: {**identity, **change})
        netcache.cached_network({"seed": 0, "bits": 4}, build, folder=tmp_path)
    assert len(calls) == 6 and len(list(tmp_path.glob("*.npz"))) == 6


def test_code_identity_digests_the_code_that_builds_networks() -> None:
    identity = netcache.code_identity()
    assert set(identity) == {"accelsim", "code", "numpy", "torch"} and len(identity["code"]) == 64


def test_workload_options_are_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    first = workload_network("digits")
    again = workload_network("digits")
    assert_same_network(first, again)
    assert len(list((tmp_path / "networks").glob("*.npz"))) == 1
    for options in ({"seed": 1}, {"bits": 3}, {"act_bits": 6}, {"weights": WeightFormat.UNIFORM}):
        workload_network("digits", **options)
    assert len(list((tmp_path / "networks").glob("*.npz"))) == 5
    assert_same_network(workload_network("digits", bits=3, cache=False), workload_network("digits", bits=3))


def test_the_weight_format_is_part_of_the_key_and_survives_the_round_trip(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    gsnq = workload_network("digits")
    uniform = workload_network("digits", weights="uniform")  # a miss, not the GSNQ entry
    cached = workload_network("digits", weights=WeightFormat.UNIFORM)  # a hit: read back
    assert len(list((tmp_path / "networks").glob("*.npz"))) == 2
    weighted = [layer for layer in cached.layers if isinstance(layer, (ConvLayer, LinearLayer))]
    assert weighted and all(layer.weight_format is WeightFormat.UNIFORM for layer in weighted)
    assert all(layer.weight_format is WeightFormat.GSNQ
               for layer in gsnq.layers if isinstance(layer, (ConvLayer, LinearLayer)))
    assert_same_network(cached, uniform)
    assert_same_network(cached, workload_network("digits", weights="uniform", cache=False))


def test_a_changed_network_file_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "digits.krp"
    for seed in (0, 1):
        model = workloads.build("digits", seed=seed)
        save_network(compress(model, CompressionConfig(bits=4), workload="digits"), path)
        cached = file_network(str(path))
        assert_same_network(cached, file_network(str(path), cache=False))
    assert len(list((tmp_path / "cache" / "networks").glob("*.npz"))) == 2


def corrupt_truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corrupt_flipped_weight(path: Path) -> None:
    """Change one stored weight and rewrite a valid zip (only the checksum can tell)."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name].copy() for name in stored.files}
    name = next(name for name in arrays if name.endswith(".weights"))
    arrays[name].reshape(-1)[0] += 1
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def corrupt_other_key(path: Path) -> None:
    """A valid entry of another key under this name (its checksum recomputed)."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name].copy() for name in stored.files if name != netcache._CHECKSUM}
    arrays[netcache._KEY] = netcache._text({"another": "key"})
    arrays[netcache._CHECKSUM] = np.frombuffer(netcache._checksum(arrays).encode(), dtype=np.uint8)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def corrupt_pickled(path: Path) -> None:
    """An entry holding an object array: reading it must not unpickle it."""
    with path.open("wb") as handle:
        np.savez(handle, **{netcache._META: np.array([{"evil": 1}], dtype=object)})


@pytest.mark.parametrize("corrupt", [corrupt_truncated, corrupt_flipped_weight, corrupt_other_key, corrupt_pickled,
                                     lambda path: path.write_bytes(b"")])
def test_a_corrupt_entry_is_rebuilt(tmp_path: Path, resnet: IntegerNetwork, corrupt: Callable[[Path], None]) -> None:
    build, calls = counting(lambda: resnet)
    netcache.cached_network({"x": 1}, build, folder=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    corrupt(path)
    assert netcache.read_entry(path, netcache.entry_key({"x": 1})) is None
    assert_same_network(netcache.cached_network({"x": 1}, build, folder=tmp_path), resnet)
    assert calls == [1, 1]
    assert netcache.read_entry(path, netcache.entry_key({"x": 1})) is not None  # rewritten whole
    assert zipfile.is_zipfile(path)


def _write_many(folder: str, network: IntegerNetwork, times: int) -> None:
    key = netcache.entry_key({"concurrent": True})
    path = Path(folder) / "entry.npz"
    for _ in range(times):
        netcache.write_entry(path, key, network)
        assert netcache.read_entry(path, key) is not None  # never a partial file


def test_concurrent_writers_leave_a_whole_entry(tmp_path: Path) -> None:
    network = workload_network("digits", cache=False)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), network, 15)) for _ in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0, 0]
    assert [path.name for path in tmp_path.iterdir()] == ["entry.npz"]  # no temporary file left
    assert_same_network(netcache.read_entry(tmp_path / "entry.npz", netcache.entry_key({"concurrent": True})), network)


def test_cache_folder_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    assert netcache.cache_folder() == tmp_path / "networks"
    monkeypatch.delenv("ACCELSIM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert netcache.cache_folder() == tmp_path / "xdg" / "accelsim" / "networks"


def test_an_unwritable_cache_only_costs_the_build(tmp_path: Path, resnet: IntegerNetwork) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    assert netcache.cached_network({"x": 1}, lambda: resnet, folder=blocker / "networks") is resnet


def test_no_cache_option_neither_reads_nor_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    for command in (["run", "--workload", "digits"], ["plot", "layers", "--workload", "digits",
                                                       "--out", str(tmp_path / "layers.svg")]):
        assert main([*command, "--no-cache"]) == 0
        assert not (tmp_path / "networks").exists()
    assert main(["run", "--workload", "digits"]) == 0
    assert len(list((tmp_path / "networks").glob("*.npz"))) == 1
    capsys.readouterr()
