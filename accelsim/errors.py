"""The one error hierarchy of accelsim.

Every error a user can cause (bad configuration, unknown workload, corrupt file, missing tool)
is an :class:`AccelsimError`. Messages name the offending field or file and say how to fix it,
worded "X must be Y, not {x!r}"; a value a user supplied is echoed through :func:`brief`, which
caps its length. The CLI prints the message and exits with status 2 instead of
showing a traceback.
"""

from __future__ import annotations

import reprlib

#: Longest echo of a user's value in an error message, in characters (see :func:`brief`).
MAX_SHOWN = 80


def _short_repr() -> reprlib.Repr:
    """A ``repr`` that looks at a bounded part of a value (strings, containers, nesting)."""
    short = reprlib.Repr()
    short.maxlevel = 3
    short.maxstring = short.maxother = short.maxlong = MAX_SHOWN
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = short.maxfrozenset = 6
    return short


_SHORT = _short_repr()


def brief(value: object) -> str:
    """``repr(value)`` for the "not {x}" of a message, at most :data:`MAX_SHOWN` characters.

    Only a bounded part of the value is looked at, so a huge value (a long string, a deeply
    nested or alias-expanded structure) costs no more than a small one:

    >>> len(brief("x" * 1000))
    80
    >>> brief([1, 2])
    '[1, 2]'
    """
    text = _SHORT.repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN - 3]}..."


class AccelsimError(Exception):
    """Base class of every error accelsim raises on bad input."""


class ConfigError(AccelsimError, ValueError):
    """A configuration value (YAML field, CLI option, API argument) is out of range or malformed."""


class WorkloadError(AccelsimError, ValueError):
    """An unknown workload name, or a model that cannot be compressed (e.g. it has no convolution)."""


class DataError(AccelsimError, FileNotFoundError):
    """A data set is missing or malformed (e.g. no ``cifar-10-batches-py`` folder at the given path)."""


class CheckpointError(AccelsimError):
    """A torch checkpoint cannot be loaded safely (corrupt, not a state dict, wrong architecture)."""


class NetworkFileError(AccelsimError):
    """A compressed-network file is truncated, tampered with, or of an unknown version."""


class UnsupportedLayerError(AccelsimError, TypeError):
    """A model contains a layer accelsim cannot lower to the integer datapath or the hardware."""


class ToolNotFound(AccelsimError):
    """An external tool (Verilator, Yosys) is missing or older than required."""


class ToolError(AccelsimError):
    """An external tool ran and failed; ``stderr`` holds what it printed."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        super().__init__(message if not stderr else f"{message}\n{stderr}")
        self.stderr = stderr


class ExecutorError(AccelsimError):
    """A sweep cannot run its points: an unreachable Dask scheduler, no workers, a dead worker process."""
