"""Sweeps: rows equal direct simulations, failing points, resume after an interrupt, executors."""

from __future__ import annotations

import json

import pytest

from accelsim.dse import (
    DaskExecutor,
    LocalExecutor,
    design_points,
    evaluate,
    read_results,
    run_sweep,
    spec_from_dict,
)
from accelsim.dse import sweep as sweep_module
from accelsim.dse.rows import failures, point_row
from accelsim.dse.store import ResultStore
from accelsim.errors import ConfigError, ExecutorError
from accelsim.hw import load_config
from accelsim.sim.sources import workload_network

SPEC = {
    "name": "test",
    "check_every": 0,
    "workloads": ["digits"],
    "parameters": {"ddr.bytes_per_cycle": [1, 3, 8], "pe.kind": ["krp_gsnq", "gsnq_shift"], "pe.tn": [4, 8]},
}


@pytest.fixture(scope="module")
def executor():
    with LocalExecutor(2) as pool:
        yield pool


def by_id(folder):
    return {row["point_id"]: row for row in read_results(folder).to_pylist()}


def test_rows_equal_direct_simulation_and_failures_are_recorded(tmp_path, executor):
    spec = spec_from_dict(SPEC)
    summary = run_sweep(spec, tmp_path / "out", executor)
    rows = by_id(tmp_path / "out")
    assert summary.points == summary.ran == len(rows) == 12 and summary.skipped == 0
    network = workload_network("digits")
    base = load_config("default")
    for point in design_points(spec):
        row = rows[point.point_id]
        assert row["workload"] == "digits" and json.loads(row["config"]) == point.config
        values = dict(point.values)
        assert {name: row[name] for name in values} == values
        if values["ddr.bytes_per_cycle"] == 3:  # the DMA engines take powers of two only
            assert row["status"] == "error" and row["engine"] is None and row["total_cycles"] is None
            assert row["error"] == ("ConfigError: ddr.bytes_per_cycle must be a power of two (the DMA engines "
                                    "place beats with shifts and counters), not 3; the nearest that work: 2 or 4")
            continue
        direct = evaluate(network, base.replace(**values))  # the SimPy reference
        assert row["status"] == "ok" and row["engine"] == "fast" and row["error"] is None
        assert {name: row[name] for name in direct.metrics()} == pytest.approx(direct.metrics())
        assert row["total_cycles"] == direct.simulation.total_cycles
        assert row["lut"] == direct.resources.total.lut
    assert summary.failed == 4
    assert not any(row["checked"] for row in rows.values())  # check_every 0
    simpy = run_sweep(spec_from_dict({**SPEC, "engine": "simpy"}), tmp_path / "simpy", executor)
    assert simpy.ran == 12
    reference = by_id(tmp_path / "simpy")
    assert {row["engine"] for row in reference.values() if row["status"] == "ok"} == {"simpy"}
    for key, row in rows.items():
        assert {k: v for k, v in row.items() if k not in ("engine", "seconds")} == {
            k: v for k, v in reference[key].items() if k not in ("engine", "seconds")}


def test_checked_points_are_re_simulated_by_the_reference(tmp_path, executor):
    spec = spec_from_dict({**SPEC, "check_every": 2})
    run_sweep(spec, tmp_path / "out", executor)
    rows = by_id(tmp_path / "out")
    checked = {key for key, row in rows.items() if row["checked"]}
    assert checked == {p.point_id for p in design_points(spec) if int(p.point_id, 16) % 2 == 0
                       and dict(p.values)["ddr.bytes_per_cycle"] != 3}
    assert checked and all(rows[key]["status"] == "ok" for key in checked)

def test_interrupted_sweep_resumes_and_skips_finished_points(tmp_path, executor):
    spec = spec_from_dict(SPEC)
    out = tmp_path / "out"
    seen = []

    def interrupt(progress):
        seen.append(progress.done)
        if progress.done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, executor, progress=interrupt, flush_seconds=3600)
    kept = by_id(out)
    assert 3 <= len(kept) < 12  # what finished before the interrupt was written
    assert seen == sorted(seen)
    summary = run_sweep(spec, out, executor)
    assert summary.skipped == len(kept) and summary.ran == 12 - len(kept)
    table = read_results(out)
    assert table.num_rows == 12 and len(set(table.column("point_id").to_pylist())) == 12
    again = run_sweep(spec, out, executor)
    assert again.ran == 0 and again.parts == 0 and read_results(out).num_rows == 12


def test_results_of_another_sweep_are_not_touched(tmp_path, executor):
    out = tmp_path / "out"
    run_sweep(spec_from_dict({**SPEC, "parameters": {"pe.tn": [4]}}), out, executor)
    before = sorted(path.read_bytes() for path in out.iterdir())
    with pytest.raises(ConfigError, match=r"must hold results of this sweep's parameters \(pe.tm\), not results of pe.tn; "):
        run_sweep(spec_from_dict({**SPEC, "parameters": {"pe.tm": [2]}}), out, executor)
    assert sorted(path.read_bytes() for path in out.iterdir()) == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"must be a new or empty folder or a sweep's results folder"):
        ResultStore.open(tmp_path / "other", spec_from_dict(SPEC))
    with pytest.raises(ConfigError, match=r"results must be a sweep's results folder"):
        read_results(tmp_path / "other")


def test_a_network_that_cannot_be_built_fails_only_its_points(tmp_path, executor, monkeypatch):
    real = sweep_module.network_for

    def build(key):
        if key.act_bits == 6:
            raise ConfigError("act_bits must be 8 for this test, not 6")
        return real(key)

    monkeypatch.setattr(sweep_module, "network_for", build)
    spec = spec_from_dict({**SPEC, "parameters": {"act_bits": [6, 8]}})
    summary = run_sweep(spec, tmp_path / "out", executor)
    rows = sorted(read_results(tmp_path / "out").to_pylist(), key=lambda row: row["act_bits"])
    assert summary.ran == 2 and summary.failed == 1
    assert rows[0]["status"] == "error" and rows[0]["error"] == "ConfigError: act_bits must be 8 for this test, not 6"
    assert rows[1]["status"] == "ok"


def test_unreachable_scheduler_is_a_clear_error_before_anything_runs():
    with pytest.raises(ExecutorError, match=r"^--scheduler must be the address of a reachable Dask scheduler .* "
                                            r"not 'tcp://127.0.0.1:9' "):
        DaskExecutor("tcp://127.0.0.1:9", timeout=1)


def test_bad_worker_count():
    with pytest.raises(ConfigError, match=r"^--workers must be an integer from 1 to \d+ \(4 per CPU of this machine: each is a process\), not 0$"):
        LocalExecutor(0)


@pytest.mark.slow
def test_sweep_on_a_local_dask_cluster_matches_the_process_pool(tmp_path, executor):
    spec = spec_from_dict(SPEC)
    run_sweep(spec, tmp_path / "pool", executor)
    with DaskExecutor("local", 1, processes=False) as cluster:
        summary = run_sweep(spec, tmp_path / "dask", cluster)
    assert summary.ran == 12 and summary.workers == 1
    strip = {"seconds"}
    pool, dask = by_id(tmp_path / "pool"), by_id(tmp_path / "dask")
    assert pool.keys() == dask.keys()
    for key, row in pool.items():
        assert {k: v for k, v in row.items() if k not in strip} == {k: v for k, v in dask[key].items() if k not in strip}


def test_identical_failures_group_without_their_point_ids():
    spec = spec_from_dict({"name": "test", "check_every": 0, "workloads": ["digits"],
                           "parameters": {"pe.kind": ["mult_dsp"], "pe.tn": [64], "pe.tm": [32],
                                          "ddr.latency_cycles": [20, 30, 40]}})
    rows = [point_row(point) for point in design_points(spec)]
    assert all(row["point_id"] in row["error"] for row in rows)  # each message names its point
    (message, count), = failures(rows).items()
    assert count == 3 and "point <point> must fit device" in message
    assert failures([{"status": "ok", "error": None, "point_id": "a"}]) == {}
