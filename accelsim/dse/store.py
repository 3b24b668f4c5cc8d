"""The results of a sweep: a folder of Parquet part files, appended batch by batch.

Layout of a results folder::

    RESULTS/
      _sweep.json            the sweep spec, its identity and the column types (written first)
      .lock                  locked (fcntl.flock) by the sweep writing the folder
      part-000000.parquet    one row group per batch of finished points
      part-000001.parquet
      ...
      _unreadable-part-000002.parquet   a part found unreadable, set aside (its points rerun)

Guarantees:

- One writer: a sweep holds an exclusive lock on ``.lock`` while it writes; a second sweep on the
  same folder is refused (:class:`~accelsim.errors.ConfigError`), so parts are never overwritten.
- One spec: ``_sweep.json`` records the spec's identity (:attr:`SweepSpec.identity`); a folder of
  another spec (other workloads, values, sampler...) is refused, untouched.
- Whole files: ``_sweep.json`` and each part are written to a temporary file and renamed into
  place (:func:`accelsim.outputs.atomic_write_bytes`); temporary files left by a killed sweep are
  removed when it resumes (a folder holding only them is resumable, like an empty one).
- Nothing lost: parts are never rewritten; a part that cannot be read (truncated) is reported,
  renamed ``_unreadable-...`` and its points are run again by the resumed sweep.

Readers (``pyarrow.parquet.read_table(RESULTS)``, :func:`read_results`) ignore names starting with
``_`` or ``.``. A resumed sweep reads the parts and skips the points they hold.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError, brief
from ..outputs import atomic_write_bytes, write_json
from .metrics import METRICS
from .parameters import CONFIG_FIELDS, FieldKind
from .rows import KEY_COLUMNS, STATUS_COLUMNS, TAIL_COLUMNS
from .spec import SweepSpec

LOG = logging.getLogger(__name__)
S = TypeVar("S", bound="ResultStore")

SPEC_FILE = "_sweep.json"
LOCK_FILE = ".lock"
PART = re.compile(r"^part-(\d{6})\.parquet$")
#: Temporary files of :func:`accelsim.outputs.atomic_write_bytes` left by a killed sweep.
_LEFTOVER = re.compile(r"^\.(_sweep\.json|part-\d{6}\.parquet)\..*\.tmp$")
#: Prefix of a part set aside because it cannot be read.
UNREADABLE = "_unreadable-"

_FIELD_TYPES = {FieldKind.INT: pa.int64(), FieldKind.NUMBER: pa.float64(), FieldKind.TEXT: pa.string()}
_TYPE_NAMES = {"int64": pa.int64(), "double": pa.float64(), "string": pa.string(), "bool": pa.bool_()}


def results_schema(parameter_names: Sequence[str]) -> pa.Schema:
    """Columns of a sweep over ``parameter_names``: keys, parameters, status, metrics, tail."""
    columns = [(name, pa.string()) for name in KEY_COLUMNS]
    columns += [(name, _FIELD_TYPES[CONFIG_FIELDS[name].kind]) for name in parameter_names]
    columns += [("status", pa.string()), ("error", pa.string()), ("engine", pa.string()), ("checked", pa.bool_()),
                ("fits", pa.bool_())]
    assert [name for name, _ in columns[-len(STATUS_COLUMNS):]] == list(STATUS_COLUMNS)
    columns += [(name, pa.int64() if m.integer else pa.float64()) for name, m in METRICS.items()]
    columns += [("seconds", pa.float64()), ("config", pa.string())]
    assert [name for name, _ in columns[-len(TAIL_COLUMNS):]] == list(TAIL_COLUMNS)
    return pa.schema(columns)


def _schema_json(schema: pa.Schema) -> list[list[str]]:
    return [[field.name, str(field.type)] for field in schema]


def _schema_from_json(columns: object, where: str) -> pa.Schema:
    try:
        return pa.schema([(str(name), _TYPE_NAMES[kind]) for name, kind in columns])  # type: ignore[attr-defined]
    except (TypeError, ValueError, KeyError) as error:
        raise ConfigError(f"{where} must list the result columns as [name, type] pairs ({error})") from error


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / SPEC_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"results folder must hold a readable {SPEC_FILE}, not {str(folder)!r} ({error})") from error
    if not isinstance(meta, dict) or "columns" not in meta:
        raise ConfigError(f"{path} must be a sweep description with 'columns', not {type(meta).__name__}")
    return meta


def _parts(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if PART.match(path.name))


def _part_number(path: Path) -> int:
    match = PART.match(path.name)
    assert match is not None
    return int(match.group(1))


def _read_part(path: Path, schema: pa.Schema) -> pa.Table | str:
    """The rows of one part, or why it cannot be read (truncated, corrupt, other columns, not a
    regular file: a pipe would never end)."""
    if not path.is_file():
        return "not a regular file"
    try:
        return pq.read_table(path, schema=schema)
    except (pa.ArrowException, OSError) as error:
        return f"{type(error).__name__}: {brief(str(error))}"


def _foreign(folder: Path) -> list[str]:
    """Names in ``folder`` that a sweep did not write (not the lock, not a killed sweep's leftovers)."""
    return sorted(path.name for path in folder.iterdir() if path.name != LOCK_FILE and not _LEFTOVER.match(path.name))


def _lock(folder: Path) -> IO[str]:
    """The open, exclusively locked lock file of ``folder``.

    Raises:
        ConfigError: the folder cannot be written, or another sweep holds the lock.
    """
    try:
        handle = open(folder / LOCK_FILE, "w")  # noqa: SIM115 - held open (locked) by the ResultStore
    except OSError as error:
        raise ConfigError(f"--out {str(folder)!r} must be a writable folder, not one that fails with "
                          f"{error.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(f"--out {str(folder)!r} must not be in use by another sweep, not locked by a running one; "
                          "wait for it to finish (then rerun to resume) or choose another folder") from None
    return handle


def _spec_differences(stored: object, spec: SweepSpec) -> list[str]:
    """The entries of the spec in ``_sweep.json`` (``stored``) that differ from ``spec``'s."""
    current = json.loads(json.dumps(spec.to_dict()))
    old = stored if isinstance(stored, dict) else {}
    return [key for key in current if key != "name" and old.get(key) != current[key]]


class ResultStore:
    """An open results folder, locked by this process: which points are done, and appending new rows.

    Use :meth:`open` as a context manager (closing releases the lock); rows are dicts keyed by the
    schema's column names.

    Attributes:
        folder: the results folder.
        schema: its columns.
        unreadable: parts found unreadable and set aside by :meth:`finished_ids`, with the reason.
    """

    def __init__(self, folder: Path, schema: pa.Schema, lock: IO[str]) -> None:
        self.folder = folder
        self.schema = schema
        self.unreadable: list[tuple[str, str]] = []
        self._lock = lock
        self._next = 1 + max((_part_number(path) for path in _parts(folder)), default=-1)

    @classmethod
    def open(cls, folder: str | Path, spec: SweepSpec) -> ResultStore:
        """Lock and open (resume) or create the results folder of ``spec``.

        Raises:
            ConfigError: the folder's parent is missing, the folder holds other files, another
                sweep is writing it, or it holds the results of another spec (other parameters,
                workloads, values, sampler...). A refused folder is left untouched.
        """
        if not isinstance(folder, (str, os.PathLike)) or not os.fspath(folder):
            raise ConfigError(f"--out must be a results folder path, not {brief(folder)}")
        path = Path(folder)
        schema = results_schema(spec.parameter_names)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out must be a results folder, not the file {str(path)!r}")
        if not path.exists() and not path.parent.is_dir():
            raise ConfigError(f"--out's parent folder must exist, not {str(path.parent)!r} (create it first)")
        if path.is_dir() and not (path / SPEC_FILE).is_file() and _foreign(path):
            raise ConfigError(f"--out must be a new or empty folder or a sweep's results folder, not {str(path)!r} "
                              f"(it has files but no {SPEC_FILE})")
        try:
            path.mkdir(exist_ok=True)
        except OSError as error:
            raise ConfigError(f"--out must be a folder accelsim can create, not {str(path)!r} ({error.strerror})") from None
        lock = _lock(path)
        try:
            for leftover in path.iterdir():
                if _LEFTOVER.match(leftover.name):
                    leftover.unlink()  # a temporary file of a killed sweep: never a finished result
            if (path / SPEC_FILE).is_file():
                cls._check_meta(path, spec, schema)
            elif _foreign(path):  # files appeared while the lock was taken
                raise ConfigError(f"--out must be a new or empty folder or a sweep's results folder, not "
                                  f"{str(path)!r} (it has files but no {SPEC_FILE})")
            else:
                write_json(path / SPEC_FILE, {"spec": spec.to_dict(), "spec_sha256": spec.identity,
                                              "columns": _schema_json(schema)})
        except BaseException:
            lock.close()
            raise
        return cls(path, schema, lock)

    @staticmethod
    def _check_meta(path: Path, spec: SweepSpec, schema: pa.Schema) -> None:
        """ConfigError unless the folder's ``_sweep.json`` is of ``spec`` (same columns, same identity)."""
        meta = _read_meta(path)
        stored = _schema_from_json(meta["columns"], str(path / SPEC_FILE))
        if not stored.equals(schema):
            names = [n for n in stored.names if n in CONFIG_FIELDS]
            what = (f"of {', '.join(names) or 'no parameters'}" if tuple(names) != spec.parameter_names
                    else "with other columns (written by another accelsim version)")
            raise ConfigError(
                f"--out {str(path)!r} must hold results of this sweep's parameters "
                f"({', '.join(spec.parameter_names)}), not results {what}; choose another folder"
            )
        if meta.get("spec_sha256") != spec.identity:
            differing = _spec_differences(meta.get("spec"), spec) or ["identity"]
            raise ConfigError(
                f"--out {str(path)!r} must hold results of this sweep spec, not of another one (its "
                f"{', '.join(differing)} differ); choose another folder, or rerun the spec that made it to resume"
            )

    def close(self) -> None:
        """Release the folder's lock."""
        self._lock.close()

    def __enter__(self: S) -> S:  # noqa: PYI019 - typing.Self needs Python 3.11; setup.cfg allows 3.10
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def finished_ids(self) -> set[str]:
        """Point ids with a row in the folder (finished or failed).

        A part that cannot be read is renamed ``_unreadable-<name>`` (readers skip it), logged and
        listed in :attr:`unreadable`; its points count as not done, so the sweep runs them again.
        """
        done: set[str] = set()
        for part in _parts(self.folder):
            table = _read_part(part, self.schema)
            if isinstance(table, str):
                aside = self.folder / f"{UNREADABLE}{part.name}"
                if aside.exists():
                    aside = self.folder / f"{UNREADABLE}{time.time_ns()}-{part.name}"
                part.rename(aside)
                LOG.warning("results part %s is unreadable (%s): set aside as %s; its points are run again",
                            part, table, aside.name)
                self.unreadable.append((part.name, table))
                continue
            done.update(table.column("point_id").to_pylist())
        return done

    def append(self, rows: Sequence[dict[str, Any]]) -> Path | None:
        """Write ``rows`` as one new part file (atomically); ``None`` if there are none."""
        if not rows:
            return None
        table = pa.Table.from_pylist(list(rows), schema=self.schema)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        path = atomic_write_bytes(self.folder / f"part-{self._next:06d}.parquet", sink.getvalue().to_pybytes())
        self._next += 1
        return path


def read_results(folder: str | Path) -> pa.Table:
    """Every row of the results folder ``folder`` (an empty table with the columns if none yet).

    A part that cannot be read (truncated) is skipped with a logged warning naming it; the next
    run of the sweep sets it aside and runs its points again.

    Raises:
        ConfigError: ``folder`` is not a sweep's results folder.
    """
    if not isinstance(folder, (str, os.PathLike)) or not (Path(folder) / SPEC_FILE).is_file():
        shown = brief(os.fspath(folder) if isinstance(folder, (str, os.PathLike)) else folder)
        raise ConfigError(f"results must be a sweep's results folder (with {SPEC_FILE}), not {shown}")
    path = Path(folder)
    schema = _schema_from_json(_read_meta(path)["columns"], str(path / SPEC_FILE))
    tables = []
    for part in _parts(path):
        table = _read_part(part, schema)
        if isinstance(table, str):
            LOG.warning("results part %s is unreadable (%s): skipped; rerun the sweep to run its points again",
                        part, table)
            continue
        tables.append(table)
    return pa.concat_tables(tables) if tables else schema.empty_table()
