"""The one lifetime rule of sweep workers: a worker process never outlives the sweep that started it.

- A local worker asks the kernel to kill it when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG,
  SIGKILL)``, through ctypes), and exits at once if its parent is already gone. So a sweep killed
  with SIGKILL leaves no orphaned worker behind (each holds hundreds of MB).
- A local worker's standard output is ``/dev/null``: it never holds the pipe of a caller that
  reads the sweep's output, which therefore ends when the sweep does.
- The sweep turns SIGTERM into an interrupt (:func:`sigterm_interrupts`): buffered rows are
  written and the pool is shut down, as after Ctrl-C.

Dask's worker processes follow the same rule by their own means (a Dask worker process exits when
the pipe to its parent, the nanny or the local cluster, closes).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1


def bind_to_parent(parent: int) -> None:
    """In a worker process: die with ``parent`` (the pid that started it) and leave its stdout.

    On Linux the kernel sends SIGKILL to this process when its parent exits; elsewhere only the
    pool's own shutdown stops it.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request: nobody will signal us
            os._exit(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`KeyboardInterrupt` (in the main thread only, where
    signals are handled) so that ``finally`` blocks write what is buffered and stop the workers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
