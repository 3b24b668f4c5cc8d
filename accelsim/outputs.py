"""Atomic writing of result files: a file is either written whole or not at all.

Results go to a temporary file in the destination folder, which is renamed over the destination
only once complete, so an error (or an interrupt) never leaves a partial output file behind. An
existing device or pipe (``/dev/null``, ``/dev/stdout``) is written where it is instead: renaming
a file over it would replace the device node itself.
Commands check every output path with :func:`check_output` before they start their work, so a
path that cannot be written (a folder, an empty name, a missing folder) fails at once, not after
a long computation.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import ConfigError, brief


def check_output(path: str | os.PathLike[str], option: str | None = None) -> Path:
    """``path`` as a :class:`Path` if a file can be written there; ``option`` (a command-line
    option, e.g. ``"--json"``) names it in errors.

    Raises:
        ConfigError: an empty path, an existing folder, or a folder that does not exist or
            cannot be written.
    """
    text = os.fspath(path)
    what, folder_of = (option, f"the folder of {option}") if option else ("output file", "output folder")
    if not text:
        raise ConfigError(f"{what} must be a file path, not ''")
    target = Path(text)
    if target.is_dir():
        raise ConfigError(f"{what} must be a file path, not the folder {brief(text)}")
    folder = target.parent
    if not folder.is_dir():
        raise ConfigError(f"{folder_of} must exist, not {brief(str(folder))} (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{folder_of} must be writable, not {brief(str(folder))}")
    return target


def check_output_folder(path: str | os.PathLike[str], option: str) -> Path:
    """The folder ``path``, checked before a command's work to be one the command can make or write
    into when it does (it is not made here: a command refused later leaves nothing behind);
    ``option`` (e.g. ``"--keep"``) names it in errors.

    Raises:
        ConfigError: an empty path, a file, a path inside a file, or a folder whose first existing
            ancestor cannot be written.
    """
    text = os.fspath(path)
    if not text:
        raise ConfigError(f"{option} must be a folder path, not ''")
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} must be a folder, not the file {brief(text)}")
    existing = next(parent for parent in (folder.absolute(), *folder.absolute().parents) if parent.exists())
    if not existing.is_dir():
        raise ConfigError(f"{option} must be a folder accelsim can make, not {brief(text)} (inside the file "
                          f"{brief(str(existing))})")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} must be a folder accelsim can make, not {brief(text)} (Permission denied)")
    return folder


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path written.

    Raises:
        ConfigError: ``path`` cannot be written (see :func:`check_output`), or the write failed.
    """
    target = check_output(path)
    if target.exists() and not target.is_file():
        _write_in_place(target, data)
        return target
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise ConfigError(f"output file {brief(str(target))} must be writable, not fail with {error.strerror}") from error
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual new-file mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"output file {brief(str(target))} must be writable, not fail with {error.strerror}") from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _write_in_place(target: Path, data: bytes) -> None:
    """Write ``data`` to the device or pipe ``target`` (not atomically: it cannot be renamed over).

    Raises:
        ConfigError: the write failed, or ``target`` is a pipe that no process reads (opening it
            would wait for one forever).
    """
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)  # a pipe without a reader fails (ENXIO), never waits
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as error:
        reason = "no process reads it" if error.errno == errno.ENXIO else error.strerror
        raise ConfigError(f"output file {brief(str(target))} must be writable, not fail with {reason}") from error


def _umask() -> int:
    """The process's file-creation mask (read by setting it and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    text = json.dumps(payload, indent=2, sort_keys=False, default=_jsonable)
    return atomic_write_bytes(path, (text + "\n").encode())


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays, paths and enums for :func:`json.dumps`."""
    import enum

    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
