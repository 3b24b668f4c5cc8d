"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import workloads
from accelsim.compression import CompressionConfig, compress, save_network


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Train on one thread: the models are tiny, and on a shared 2-core machine OpenMP barriers stall."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def network_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded digits CNN, KRP + 4-bit GSNQ compressed one-shot, as a .krp file (one per test module)."""
    path = tmp_path_factory.mktemp("network") / "digits.krp"
    save_network(compress(workloads.build("digits", seed=0), CompressionConfig(bits=4), workload="digits"), path)
    return path
