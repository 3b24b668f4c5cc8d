"""The results of a sweep: a folder of Parquet part files, appended batch by batch.

Layout of a results folder::

    RESULTS/
      _sweep.json            the sweep spec and the column types (written first)
      part-000000.parquet    one row group per batch of finished points
      part-000001.parquet
      ...

Each part is written whole to a temporary file in the folder and renamed into place
(:func:`accelsim.outputs.atomic_write_bytes`), so an interrupted sweep leaves only complete parts;
readers (``pyarrow.parquet.read_table(RESULTS)``, :func:`read_results`) ignore names starting with
``_`` or ``.``. A resumed sweep reads the ``point_id`` column of the parts and skips those points.
Parts are never rewritten: nothing already written is lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError
from ..outputs import atomic_write_bytes, write_json
from .metrics import METRICS
from .parameters import CONFIG_FIELDS, FieldKind
from .rows import KEY_COLUMNS, STATUS_COLUMNS, TAIL_COLUMNS
from .spec import SweepSpec

SPEC_FILE = "_sweep.json"
PART = re.compile(r"^part-(\d{6})\.parquet$")

_FIELD_TYPES = {FieldKind.INT: pa.int64(), FieldKind.NUMBER: pa.float64(), FieldKind.TEXT: pa.string()}
_TYPE_NAMES = {"int64": pa.int64(), "double": pa.float64(), "string": pa.string(), "bool": pa.bool_()}


def results_schema(parameter_names: Sequence[str]) -> pa.Schema:
    """Columns of a sweep over ``parameter_names``: keys, parameters, status, metrics, tail."""
    columns = [(name, pa.string()) for name in KEY_COLUMNS]
    columns += [(name, _FIELD_TYPES[CONFIG_FIELDS[name].kind]) for name in parameter_names]
    columns += [("status", pa.string()), ("error", pa.string()), ("engine", pa.string()), ("checked", pa.bool_())]
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


class ResultStore:
    """An open results folder: which points are done, and appending new rows.

    Use :meth:`open`; rows are dicts keyed by the schema's column names.
    """

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        self.folder = folder
        self.schema = schema
        self._next = 1 + max((_part_number(path) for path in _parts(folder)), default=-1)

    @classmethod
    def open(cls, folder: str | Path, spec: SweepSpec) -> ResultStore:
        """Open (resume) or create the results folder of ``spec``.

        Raises:
            ConfigError: the folder's parent is missing, the folder holds other files, or it
                holds the results of a sweep with other columns (different parameters).
        """
        path = Path(folder)
        schema = results_schema(spec.parameter_names)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out must be a results folder, not the file {str(path)!r}")
        if path.is_dir() and (path / SPEC_FILE).is_file():
            stored = _schema_from_json(_read_meta(path)["columns"], str(path / SPEC_FILE))
            if not stored.equals(schema):
                names = [n for n in stored.names if n in CONFIG_FIELDS]
                what = (f"of {', '.join(names) or 'no parameters'}" if tuple(names) != spec.parameter_names
                        else "with other columns (written by another accelsim version)")
                raise ConfigError(
                    f"--out {str(path)!r} must hold results of this sweep's parameters "
                    f"({', '.join(spec.parameter_names)}), not results {what}; choose another folder"
                )
            return cls(path, schema)
        if path.is_dir() and any(path.iterdir()):
            raise ConfigError(f"--out must be a new or empty folder or a sweep's results folder, not {str(path)!r} "
                              f"(it has files but no {SPEC_FILE})")
        if not path.parent.is_dir():
            raise ConfigError(f"--out's parent folder must exist, not {str(path.parent)!r} (create it first)")
        path.mkdir(exist_ok=True)
        write_json(path / SPEC_FILE, {"spec": spec.to_dict(), "columns": _schema_json(schema)})
        return cls(path, schema)

    def finished_ids(self) -> set[str]:
        """Point ids with a row in the folder (finished or failed)."""
        done: set[str] = set()
        for part in _parts(self.folder):
            done.update(pq.read_table(part, columns=["point_id"]).column("point_id").to_pylist())
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

    Raises:
        ConfigError: ``folder`` is not a sweep's results folder.
    """
    path = Path(folder)
    if not (path / SPEC_FILE).is_file():
        raise ConfigError(f"results must be a sweep's results folder (with {SPEC_FILE}), not {str(path)!r}")
    schema = _schema_from_json(_read_meta(path)["columns"], str(path / SPEC_FILE))
    parts = _parts(path)
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(part, schema=schema) for part in parts])
