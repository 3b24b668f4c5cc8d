"""Hostile or broken models, checkpoints and network files get named errors, never tracebacks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import time

import numpy as np
import pytest
import torch

import workloads
from accelsim.cli import main
from accelsim.compression import CompressionConfig, compress, load_network, save_network
from accelsim.errors import CheckpointError, NetworkFileError, UnsupportedLayerError, WorkloadError
from accelsim.integer import lower

HEADER = struct.Struct("<8sHI32s")


@pytest.fixture(scope="module")
def network_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid .krp file of the seeded digits CNN."""
    path = tmp_path_factory.mktemp("net") / "digits.krp"
    save_network(compress(workloads.build("digits", seed=0), CompressionConfig(bits=4), workload="digits"), path)
    return path.read_bytes()


def with_manifest(data: bytes, text: bytes) -> bytes:
    """``data`` with its manifest replaced by ``text`` (and a matching digest, as an attacker would)."""
    magic, version, length, _ = HEADER.unpack_from(data)
    payload = data[HEADER.size + length:]
    return HEADER.pack(magic, version, len(text), hashlib.sha256(text).digest()) + text + payload


def edited(data: bytes, change) -> bytes:
    """``data`` with ``change(manifest)`` applied to its manifest."""
    length = HEADER.unpack_from(data)[2]
    manifest = json.loads(data[HEADER.size:HEADER.size + length])
    change(manifest)
    return with_manifest(data, json.dumps(manifest).encode())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(input_shape=[1, 30000, 30000]),
         r"input_shape must have at most 16,777,216 elements, not 900,000,000"),
        (lambda m: m.update(input_shape=[1, -8, 8]),
         r"input_shape must be a list of 1 or 2 or 3 integers >= 1, not \[1, -8, 8\]"),
        (lambda m: m["layers"][0].update(shape=[4, 1, 10**8, 3]), r"layers\[0\].shape must have at most "),
        (lambda m: m["tensors"][0].update(shape="big"), r"tensors\[0\].shape must be a list of"),
    ],
)
def test_manifest_fields_are_checked_before_any_allocation(tmp_path, network_bytes, change, message):
    path = tmp_path / "bad.krp"
    path.write_bytes(edited(network_bytes, change))
    began = time.perf_counter()
    with pytest.raises(NetworkFileError, match=rf"^network file '{path}' has a malformed manifest: {message}"):
        load_network(path)
    assert time.perf_counter() - began < 5


def test_deeply_nested_manifest_is_a_network_file_error(tmp_path, network_bytes):
    path = tmp_path / "deep.krp"
    path.write_bytes(with_manifest(network_bytes, b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(NetworkFileError, match=r"has a malformed manifest: nested too deeply$"):
        load_network(path)


def test_a_user_factory_that_raises_is_a_workload_error(tmp_path, monkeypatch):
    (tmp_path / "broken_model.py").write_text("def make():\n    raise RuntimeError('no weights here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(WorkloadError, match=r"^workload 'broken_model:make': the factory must build the model, "
                                            r"not raise RuntimeError 'no weights here'; fix the factory$"):
        workloads.build("broken_model:make")


class Evil:
    """Pickles as a call of ``os.system``: code that unpickling would run."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


def test_malicious_checkpoint_names_the_global_and_never_suggests_unsafe_loading(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"weight": Evil()}, path)
    assert main(["compress", "--workload", "digits", "--model", str(path), "--out", str(tmp_path / "x.krp")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"must hold only tensors, not the disallowed global '(posix|os)\.system'", err), err
    assert "weights_only" not in err and "truncated" not in err


def test_a_network_file_given_as_a_checkpoint_is_told_to_use_network(tmp_path, network_bytes):
    path = tmp_path / "digits.krp"
    path.write_bytes(network_bytes)
    with pytest.raises(CheckpointError, match=r"must be a torch checkpoint, not an accelsim network file \(.krp\): "
                                              r"pass it with --network"):
        workloads.load_model(path, workload="digits")


@pytest.mark.parametrize("buffer", ["running_mean", "running_var"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_batchnorm_buffers_are_refused_by_compress(buffer, value):
    model = workloads.build("digits", seed=0)
    getattr(model.features[1], buffer)[0] = value
    with pytest.raises(WorkloadError, match=rf"^model buffer 'features.1.{buffer}' must be finite, not contain NaN"):
        compress(model, CompressionConfig(bits=4), workload="digits")


class ConvLstm(torch.nn.Module):
    """A convolution whose rows feed an LSTM through a flatten to (N, C, H*W)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.flatten = torch.nn.Flatten(2)
        self.lstm = torch.nn.LSTM(64, 8, batch_first=True)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lstm(self.flatten(torch.relu(self.conv(x))))[0]
        return self.fc(x[:, -1])


class ConvAttention(torch.nn.Module):
    """A convolution followed by self-attention over its pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(x)).flatten(2).transpose(1, 2)
        return self.fc(self.attention(x, x, x)[0].mean(1))


@pytest.mark.parametrize(("model", "layer"), [(ConvLstm, "'lstm' (LSTM)"), (ConvAttention, "'attention' (MultiheadAttention)")])
def test_recurrent_and_attention_layers_are_named_not_the_reshape_before_them(model, layer):
    compressed = compress(model(), CompressionConfig(bits=4), workload="tests:model")
    with pytest.raises(UnsupportedLayerError, match=rf"^layer {re.escape(layer)} is an operation the integer datapath does not"):
        lower(compressed, np.random.default_rng(0).uniform(size=(2, 1, 8, 8)).astype(np.float32))
