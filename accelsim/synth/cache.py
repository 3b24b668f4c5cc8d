"""Where accelsim keeps results that are expensive to recompute (synthesis runs), keyed by content.

The folder is ``$ACCELSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/accelsim``, else
``~/.cache/accelsim``. An entry is one JSON file named by the SHA-256 of everything that
determines it (sources, script, tool version), written atomically, so a stale or half-written
entry can never be read back: a change of any input gives a different key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..outputs import write_json

#: Environment variable naming the cache folder.
CACHE_ENV = "ACCELSIM_CACHE_DIR"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder (not created)."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "accelsim"


def content_key(payload: Any) -> str:
    """SHA-256 (hex) of ``payload`` written as canonical JSON."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class JsonCache:
    """A folder of ``<key>.json`` entries.

    Args:
        folder: where the entries live (created on the first store).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def load(self, key: str) -> dict[str, Any] | None:
        """The entry ``key``, or None if absent or unreadable (then it is recomputed)."""
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def store(self, key: str, entry: Mapping[str, Any]) -> Path:
        """Write entry ``key`` atomically; return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return write_json(self.folder / f"{key}.json", dict(entry))
