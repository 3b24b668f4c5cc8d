"""Sweeps never lose or mix rows: folder lock, spec identity, killed writes, unreadable parts, fit,
worker lifetime and a Dask cluster that goes away."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from accelsim.cli import main
from accelsim.dse import DaskExecutor, pareto_front, read_results, run_sweep, spec_from_dict
from accelsim.dse.executors import Executor
from accelsim.dse.store import ResultStore
from accelsim.dse.workload import install
from accelsim.errors import ConfigError, ExecutorError
from accelsim.plots import pareto_groups

SPEC = {"name": "reliable", "check_every": 0, "workloads": ["digits"],
        "parameters": {"ddr.bytes_per_cycle": [4, 8], "pe.tn": [4, 8, 16]}}


class InProcess(Executor):
    """Runs each task at once in this process (fast, deterministic) behind the Executor interface."""

    workers = 1

    def install(self, networks: Mapping[Any, Any]) -> None:
        install(networks)

    def _submit(self, fn: Callable[[Any], Any], item: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(fn(item))
        return future

    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        return set(pending), set()

    def close(self) -> None:
        pass


def ids(folder: Path) -> list[str]:
    return sorted(read_results(folder).column("point_id").to_pylist())


def test_a_second_sweep_on_a_folder_in_use_is_refused_and_no_row_is_lost(tmp_path):
    spec, out = spec_from_dict(SPEC), tmp_path / "out"
    busy = pytest.raises(ConfigError, match=r"must not be in use by another sweep, not locked by a running one")
    with ResultStore.open(out, spec), busy:  # another sweep is writing the folder
        run_sweep(spec, out, InProcess())
    summary = run_sweep(spec, out, InProcess())
    assert summary.ran == 6 and len(ids(out)) == 6
    again = run_sweep(spec, out, InProcess())
    assert again.ran == 0 and len(ids(out)) == 6


@pytest.mark.parametrize("change", [{"workloads": [{"name": "digits", "seed": 1}]},
                                    {"parameters": {"ddr.bytes_per_cycle": [4, 16], "pe.tn": [4, 8, 16]}},
                                    {"engine": "simpy"}])
def test_results_of_another_spec_with_the_same_columns_are_refused_untouched(tmp_path, change):
    out = tmp_path / "out"
    run_sweep(spec_from_dict(SPEC), out, InProcess())
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    differs = ", ".join(change)
    with pytest.raises(ConfigError, match=rf"must hold results of this sweep spec, not of another one \(its {differs} "
                                          r"differ\); choose another folder"):
        run_sweep(spec_from_dict({**SPEC, **change}), out, InProcess())
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    run_sweep(spec_from_dict({**SPEC, "name": "renamed"}), out, InProcess())  # the name is not the identity


def test_a_sweep_killed_while_writing_its_description_resumes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "._sweep.json.x1y2z3.tmp").write_text('{"spec": {"na')  # what a kill mid-write leaves
    summary = run_sweep(spec_from_dict(SPEC), out, InProcess())
    assert summary.ran == 6 and sorted(path.name for path in out.iterdir()) == [
        ".lock", "_sweep.json", "part-000000.parquet"]


def test_a_truncated_part_is_set_aside_and_its_points_run_again(tmp_path, caplog):
    spec, out = spec_from_dict(SPEC), tmp_path / "out"
    run_sweep(spec, out, InProcess(), flush_seconds=0)  # one part per task
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) >= 2
    data = parts[0].read_bytes()
    parts[0].write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="accelsim"):
        partial = read_results(out)  # readers skip it, saying so
    assert partial.num_rows < 6 and f"results part {parts[0]} is unreadable" in caplog.text
    summary = run_sweep(spec, out, InProcess())
    assert [name for name, _ in summary.unreadable] == [parts[0].name]
    assert (out / f"_unreadable-{parts[0].name}").is_file() and not parts[0].exists()
    assert summary.ran == 6 - partial.num_rows and len(ids(out)) == 6


def test_every_row_carries_fits_and_fronts_use_fitting_designs(tmp_path, capsys):
    out = tmp_path / "out"
    spec = tmp_path / "spec.yaml"
    spec.write_text("workloads: [digits]\ncheck_every: 0\nparameters: {pe.tn: [4, 8, 16], pe.tm: [16], pe.kind: [gsnq_shift]}\n")
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    rows = read_results(out).to_pylist()
    verdict = {row["pe.tn"]: row["fits"] for row in rows}
    # the model's dense-shift cores with 16 input channels on the XC7Z035: 4 x 16 and 8 x 16 take
    # about a third and 60% of its LUTs, 16 x 16 (the fastest on digits) over 100%
    assert verdict == {4: True, 8: True, 16: False}
    assert "fit       2 of 3 finished designs fit their device" in printed
    assert "at pe.tn=8" in printed and "at pe.tn=16" not in printed
    (group,) = pareto_groups(rows, ["latency_ms", "lut"])
    assert sorted(row["pe.tn"] for row in group.rows) == [4, 8]
    (everything,) = pareto_groups(rows, ["latency_ms", "lut"], include_unfit=True)
    assert len(everything.rows) == 3 and list(everything.front) == pareto_front(rows, ["latency_ms", "lut"])
    assert main(["sweep", str(spec), "--out", str(out), "--include-unfit"]) == 0
    assert "at pe.tn=16, pe.tm=16, pe.kind=gsnq_shift (does NOT fit its device)" in capsys.readouterr().out


def test_a_malformed_scheduler_address_fails_at_once_without_a_stray_traceback(capfd):
    began = time.perf_counter()
    with pytest.raises(ExecutorError, match=r"^--scheduler must be the address of a Dask scheduler .* not 'not a url' "
                                            r"\(missing port number"):
        DaskExecutor("not a url", timeout=5)
    assert time.perf_counter() - began < 1
    assert "Traceback" not in capfd.readouterr().err


def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.parametrize("loss", ["workers", "scheduler"])
def test_a_cluster_that_goes_away_ends_with_an_executor_error_within_the_timeout(loss):
    executor = DaskExecutor("local", 1, processes=False, timeout=1)
    try:
        results = executor.map_unordered(sleepy, [0.01, 1.5, 1.5])
        assert next(results) == 0.01
        began = time.perf_counter()
        if loss == "workers":
            executor._cluster.scale(0)
        else:
            executor._client.sync(executor._cluster.scheduler.close)
        with pytest.raises(ExecutorError, match=r"^the Dask cluster .*: finished points are kept, rerun to resume$"):
            list(results)
        assert time.perf_counter() - began < 5
    finally:
        executor.close()


SCRIPT = "import sys; from accelsim.cli import main; sys.exit(main())"


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.isdigit() and int(stat[1]) == pid and stat[0] != "Z":
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_sweep_and_release_its_output_pipe(tmp_path, sig):
    spec = tmp_path / "spec.yaml"
    spec.write_text("workloads: [digits]\ncheck_every: 0\nparameters: {ddr.latency_cycles: {low: 0, high: 3000}}\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", SCRIPT, "sweep", str(spec), "--out", str(out), "--workers", "2"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env) as sweep:
        try:
            deadline = time.monotonic() + 60
            while not (len(children(sweep.pid)) >= 2 and list(out.glob("part-*.parquet"))):
                assert time.monotonic() < deadline and sweep.poll() is None
                time.sleep(0.2)
            workers = children(sweep.pid)
            os.kill(sweep.pid, sig)
            began = time.monotonic()
            sweep.stdout.read()  # returns once no process holds the pipe
            assert time.monotonic() - began < 10
            sweep.wait(10)
            time.sleep(0.5)
            assert not [pid for pid in workers if alive(pid)]
        finally:
            sweep.kill()
    rows = read_results(out).num_rows
    assert rows > 0
    if sig == signal.SIGTERM:
        assert sweep.returncode == 130  # an interrupt: what was buffered was written
