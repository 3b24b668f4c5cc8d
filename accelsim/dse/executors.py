"""Executors: where a sweep's tasks run. A local process pool, or a Dask distributed cluster.

Both implement :class:`Executor`: :meth:`~Executor.install` makes the built networks available in
every worker process, and :meth:`~Executor.map_unordered` runs ``fn(item)`` for each item and
yields the results as they finish, keeping at most ``window`` tasks in flight (so an interrupt
loses little and memory stays flat). The sweep code is the same for both; only task submission
and waiting differ (:meth:`~Executor._submit`, :meth:`~Executor._wait_first`).

- :class:`LocalExecutor`: ``concurrent.futures.ProcessPoolExecutor`` with ``spawn`` workers
  (no fork of a parent that holds torch threads); networks are passed to each worker once, by
  its initializer, which also binds the worker's life to this process (:mod:`.lifetime`).
- :class:`DaskExecutor`: a ``distributed.Client`` connected to a scheduler address, or to a
  ``LocalCluster`` it starts; networks are sent to each worker once with ``Client.run``. Workers
  must run the same accelsim version (they import it to run the tasks). A cluster that loses its
  scheduler or every worker mid-sweep ends the sweep with an :class:`ExecutorError` within the
  timeout, never a hang.
"""

from __future__ import annotations

import abc
import concurrent.futures
import concurrent.futures.process
import itertools
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

from ..errors import ConfigError, ExecutorError, brief
from ..integer.graph import IntegerNetwork
from .lifetime import bind_to_parent
from .workload import NetworkKey, install

T = TypeVar("T")
R = TypeVar("R")
E = TypeVar("E", bound="Executor")

LOG = logging.getLogger(__name__)

#: Seconds to wait for a Dask scheduler (and its first worker) before giving up.
CONNECT_TIMEOUT_S = 10.0
#: Seconds between two checks of a Dask cluster's health while waiting for tasks.
POLL_S = 1.0
#: Most local worker processes per CPU (more only share the CPUs, at the cost of their memory).
WORKERS_PER_CPU = 4
#: Longest ``--timeout`` accepted, in seconds (one day).
MAX_TIMEOUT_S = 86_400.0


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_workers(workers: int | None) -> int:
    count = default_workers() if workers is None else workers
    limit = WORKERS_PER_CPU * default_workers()
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= limit:
        raise ConfigError(f"--workers must be an integer from 1 to {limit} ({WORKERS_PER_CPU} per CPU of this "
                          f"machine: each is a process), not {brief(workers)}")
    return count


class Executor(abc.ABC):
    """Runs tasks in worker processes (see the module docstring).

    Attributes:
        workers: worker processes (Dask: worker threads) that run tasks at once.
    """

    workers: int
    #: Exceptions of the executor itself (not of a task) that :meth:`map_unordered` reports.
    failures: tuple[type[BaseException], ...] = (concurrent.futures.process.BrokenProcessPool,)

    @abc.abstractmethod
    def install(self, networks: Mapping[NetworkKey, IntegerNetwork]) -> None:
        """Make ``networks`` available to :func:`accelsim.dse.workload.network_for` in every worker."""

    @abc.abstractmethod
    def _submit(self, fn: Callable[[T], R], item: T) -> Any:
        """Start ``fn(item)``; return its future."""

    @abc.abstractmethod
    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        """Block until at least one of ``pending`` finishes; return ``(done, still pending)``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the workers (and a cluster this executor started)."""

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T], window: int | None = None) -> Iterator[R]:
        """``fn(item)`` for every item, yielded in completion order; at most ``window`` in flight.

        Raises:
            ExecutorError: a task could not run (e.g. its worker process died).
        """
        limit = window or 2 * self.workers
        source = iter(items)
        pending: set[Any] = set()
        try:
            for item in source:
                pending.add(self._submit(fn, item))
                if len(pending) >= limit:
                    break
            while pending:
                done, pending = self._wait_first(pending)
                for future in done:
                    yield self._result(future)
                    for following in itertools.islice(source, 1):
                        pending.add(self._submit(fn, following))
        finally:
            for future in pending:
                future.cancel()

    def _result(self, future: Any) -> Any:
        try:
            return future.result()
        except self.failures as error:
            raise ExecutorError(f"a worker of the {type(self).__name__} failed ({type(error).__name__}: {error}); "
                                "finished points are kept, rerun to resume") from error

    def __enter__(self: E) -> E:  # noqa: PYI019 - typing.Self needs Python 3.11; setup.cfg allows 3.10
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _start_worker(parent: int, networks: Mapping[NetworkKey, IntegerNetwork]) -> None:
    """Initializer of a local worker process: the lifetime rule (:mod:`.lifetime`), then the networks."""
    bind_to_parent(parent)
    install(networks)


class LocalExecutor(Executor):
    """A pool of ``workers`` local processes (default: one per CPU).

    The pool starts at the first task, after :meth:`install`, so each worker receives the networks
    once through its initializer.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _check_workers(workers)
        self._networks: dict[NetworkKey, IntegerNetwork] = {}
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def install(self, networks: Mapping[NetworkKey, IntegerNetwork]) -> None:
        """Hand ``networks`` to the workers (restarting the pool if it runs without one of them)."""
        if all(key in self._networks for key in networks):
            return
        self._networks.update(networks)
        self.close()

    def _ensure_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(), self._networks),
            )
        return self._pool

    def _submit(self, fn: Callable[[T], R], item: T) -> Any:
        return self._ensure_pool().submit(fn, item)

    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        done, rest = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
        return set(done), set(rest)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """A Dask distributed cluster: the scheduler at ``address``, or a new local cluster.

    Args:
        address: scheduler address (``tcp://host:8786``), or ``"local"`` / ``None`` to start a
            ``LocalCluster`` of ``workers`` single-threaded worker processes.
        workers: workers of a local cluster (default: one per CPU); ignored with an address.
        processes: local cluster only: worker processes (True) or threads of this process.
        timeout: seconds to wait for the scheduler and at least one worker; and, while tasks
            run, the longest time without a scheduler or without any worker before giving up.

    Raises:
        ExecutorError: a malformed address (before any connection is tried), or a scheduler that
            is unreachable or has no worker within ``timeout``.
    """

    def __init__(self, address: str | None = None, workers: int | None = None, *, processes: bool = True,
                 timeout: float = CONNECT_TIMEOUT_S) -> None:
        from distributed import Client, LocalCluster
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        self.failures = (KilledWorker, FutureCancelledError, OSError)
        self._timeout = timeout
        self._cluster = None
        if address in (None, "local"):
            self._cluster = LocalCluster(n_workers=_check_workers(workers), threads_per_worker=1,
                                         processes=processes, dashboard_address=None,
                                         silence_logs=logging.CRITICAL)
            self._client = Client(self._cluster, set_as_default=False)
        else:
            _check_address(address)
            try:
                self._client = Client(address, timeout=f"{timeout}s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as error:
                raise ExecutorError(
                    f"--scheduler must be the address of a reachable Dask scheduler (e.g. tcp://host:8786) or "
                    f"'local', not {brief(address)} ({error})"
                ) from error
            try:
                self._client.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError) as error:
                self._client.close()
                raise ExecutorError(f"the Dask scheduler at {brief(address)} must have workers, not none within "
                                    f"{timeout:g} s") from error
        self.workers = max(1, sum(worker["nthreads"] for worker in self._client.scheduler_info()["workers"].values()))

    def install(self, networks: Mapping[NetworkKey, IntegerNetwork]) -> None:
        """Send ``networks`` to every current worker (later workers build them on first use)."""
        self._client.run(install, dict(networks))

    def _submit(self, fn: Callable[[T], R], item: T) -> Any:
        return self._client.submit(fn, item, pure=False)

    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        """Wait in short polls; between them, give up once the cluster has had no scheduler or no
        worker for ``timeout`` seconds (tasks would wait forever)."""
        from distributed import wait
        from distributed.client import FuturesCancelledError

        unhealthy_since: float | None = None
        while True:
            try:
                with self._client.as_current():
                    done, rest = wait(list(pending), timeout=min(POLL_S, self._timeout), return_when="FIRST_COMPLETED")
            except FuturesCancelledError as error:
                raise self._lost("lost its tasks (the scheduler went away?)") from error
            except TimeoutError:
                done, rest = [], pending
            if done:
                return set(done), set(rest)
            problem = self._problem()
            if problem is None:
                unhealthy_since = None
            elif unhealthy_since is None:
                unhealthy_since = time.monotonic()
            elif time.monotonic() - unhealthy_since >= self._timeout:
                raise self._lost(f"{problem} for {self._timeout:g} s (--timeout)")

    def _problem(self) -> str | None:
        """What keeps tasks from running: no scheduler connection, or no worker; None if neither."""
        if self._client.status != "running":
            return f"has had no scheduler (client {self._client.status})"
        if not self._client.scheduler_info()["workers"]:
            return "has had no worker"
        return None

    def _lost(self, what: str) -> ExecutorError:
        return ExecutorError(f"the Dask cluster {what}: finished points are kept, rerun to resume")

    def close(self) -> None:
        """Disconnect (and stop a local cluster), waiting at most ``timeout`` for each; a cluster
        that is already gone (its scheduler lost) is left as it is."""
        for part in (self._client, self._cluster):
            if part is None:
                continue
            try:
                part.close(timeout=self._timeout)
            except (TimeoutError, OSError) as error:
                LOG.debug("closing %s: %s", type(part).__name__, error)


def _check_address(address: str) -> None:
    """ExecutorError unless ``address`` is a well-formed Dask address (``tcp://host:port``, ...).

    Checked before a ``Client`` is made: a client that fails on a malformed address leaves a
    half-made object whose finalizer prints a traceback and hangs for seconds.
    """
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except (ValueError, TypeError) as error:
        raise ExecutorError(
            f"--scheduler must be the address of a Dask scheduler (e.g. tcp://host:8786) or 'local', "
            f"not {brief(address)} ({error})"
        ) from None


def make_executor(scheduler: str | None = None, workers: int | None = None,
                  timeout: float = CONNECT_TIMEOUT_S) -> Executor:
    """The executor of the CLI options: local processes without ``scheduler``, else Dask.

    Raises:
        ConfigError: a bad worker count or timeout. ExecutorError: an unreachable scheduler.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ConfigError(f"--timeout must be a positive number of seconds up to {MAX_TIMEOUT_S:,.0f} (a day), "
                          f"not {brief(timeout)}")
    if scheduler is None:
        return LocalExecutor(workers)
    return DaskExecutor(scheduler, workers, timeout=timeout)
