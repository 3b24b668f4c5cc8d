"""The files accelsim reads: a path must name an existing regular file, checked before it is opened.

Every input file (configurations, device profiles, sweep specs, ``.krp`` network files,
checkpoints, ONNX models) goes through :func:`input_file`, which refuses what is not a path, an
empty path, a missing file, a folder, and a device, pipe or socket: reading ``/dev/zero`` never
ends and a pipe without a writer never answers, so such a path is refused, never read.

>>> input_file("/tmp", "network file")
Traceback (most recent call last):
...
accelsim.errors.ConfigError: network file '/tmp' must be an existing file (it is a directory)
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import AccelsimError, ConfigError, brief


def input_file(path: object, what: str, error: type[AccelsimError] = ConfigError) -> Path:
    """``path`` as a :class:`Path` if it names an existing regular file; ``what`` names its role in
    errors (``"network file"``), raised as ``error``.

    Raises:
        AccelsimError: (of class ``error``) ``path`` is not a string or path, is empty, does not
            exist, or is a folder, a device, a pipe or a socket.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"{what} must be a file path, not {brief(path)}")
    text = os.fspath(path)
    if not text:
        raise error(f"{what} must be a file path, not ''")
    file = Path(text)
    if file.is_file():
        return file
    if file.is_dir():
        reason = "it is a directory"
    elif file.exists():
        reason = "it is a device, pipe or socket, which accelsim does not read"
    else:
        reason = "no such file"
    raise error(f"{what} {brief(str(text))} must be an existing file ({reason})")
