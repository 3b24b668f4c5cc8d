"""``accelsim infer``'s time per image excludes one-time loading: a warm-up run precedes the timed ones."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import workloads
from accelsim.integer.evaluate import evaluate
from accelsim.sim.sources import workload_network


def test_the_datapath_runs_once_untimed_before_the_timed_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    network = workload_network("digits", cache=False)
    model = workloads.build("digits")
    images = np.random.default_rng(0).uniform(0, 1, (10, 1, 8, 8)).astype(np.float32)
    clock = iter(float(tick) for tick in range(1000))
    calls: list[int] = []
    evaluate_module = importlib.import_module("accelsim.integer.evaluate")  # the module, not the function
    real_run = evaluate_module.run

    def counted(net, x):  # type: ignore[no-untyped-def]
        calls.append(len(x))
        return real_run(net, x)

    monkeypatch.setattr(evaluate_module, "run", counted)
    monkeypatch.setattr(evaluate_module.time, "perf_counter", lambda: next(clock))
    result = evaluate(network, model, images, batch_size=4)
    assert calls == [1, 4, 4, 2]  # the warm-up on the first image, then the batches
    assert result.seconds == 3.0  # one clock tick per timed batch: the warm-up is not counted
