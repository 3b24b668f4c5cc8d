"""Building and running a Verilator model of the testbench, with a content-hash build cache.

:class:`VerilatorRunner` compiles ``tb_harness`` (the packaged library, the generated files of a
design point and the C++ main) with ``verilator --cc --exe --build`` into a directory named by a
hash of every source's content and every flag, so a second build of the same design point is
skipped; a lock per build key (``fcntl.flock``) makes a concurrent build of the same design point
wait and reuse the finished build. Commands run through :func:`accelsim.toolchain.run_tool` (argv lists, logged, typed
errors carrying stderr).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, brief
from ..outputs import atomic_write_bytes
from ..synth.cache import CACHE_ENV
from ..toolchain import VERILATOR, Tool, run_tool

LOG = logging.getLogger(__name__)

#: Name of the model's C++ class (``--prefix``) and binary inside a build directory.
BINARY = "Vmodel"
#: File marking a finished build (written last).
STAMP = "build.ok"
#: Characters that break a path in a Makefile, besides white space.
_MAKE_SPECIAL = "#$%:;=\\'\"`*?[]()&|<>"
_MAKE_HOSTILE = re.compile(rf"[\s{re.escape(_MAKE_SPECIAL)}]")


def _require_make_safe(path: Path, what: str) -> Path:
    """``path`` if ``make`` can use it (Verilator builds with make, which splits paths at spaces).

    Raises:
        ConfigError: the path holds a space or another character special to make, naming the
            path and the fix.
    """
    if _MAKE_HOSTILE.search(str(path)):
        raise ConfigError(
            f"{what} must be a path without spaces or characters special to make ({_MAKE_SPECIAL}), not "
            f"{brief(str(path))}: Verilator builds with make, which cannot use it; set {CACHE_ENV} (or pass "
            "--cache) to a folder whose path has none, e.g. /tmp/accelsim-cache"
        )
    return path


@dataclass(frozen=True)
class Build:
    """A compiled model.

    Attributes:
        key: content hash of the sources and flags (the build directory's name).
        directory: the build directory.
        binary: the executable.
        cached: whether an earlier build was reused.
        seconds: wall time of this call (0 for a cached build's lookup, roughly).
    """

    key: str
    directory: Path
    binary: Path
    cached: bool
    seconds: float


@dataclass(frozen=True)
class RunResult:
    """One run of a model: its stdout and wall time in seconds."""

    stdout: str
    seconds: float


#: Flags every Verilator run of the library needs: the buffer RAMs' per-lane write loops (up to a
#: weight word's beats, over a hundred at 1-byte beats) must be unrolled.
VERILATOR_FLAGS = ("--unroll-count", "4096")


class VerilatorRunner:
    """Verilator builds cached by content, and runs of the built models.

    Args:
        cache_dir: folder holding one sub-folder per build.
        tool: the Verilator to use (default: found with :data:`accelsim.toolchain.VERILATOR`).
        jobs: parallel C++ compile jobs (the machine is shared: keep it small).
        cflags: C++ optimization flags of the model.

    Raises:
        ConfigError: ``jobs`` < 1, or a cache folder whose path make cannot use (a space in it).
        ToolNotFound: no usable Verilator (without ``tool``).
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        *,
        tool: Tool | None = None,
        jobs: int = 1,
        cflags: Sequence[str] = ("-O1",),
    ) -> None:
        if jobs < 1:
            raise ConfigError(f"jobs must be an integer >= 1, not {jobs!r}")
        self.cache_dir = _require_make_safe(Path(cache_dir).absolute(), "the Verilator cache folder")
        self.tool = tool or VERILATOR.require()
        self.jobs = jobs
        self.cflags = tuple(cflags)

    def _flags(self, top: str) -> list[str]:
        return [
            *VERILATOR_FLAGS,
            "--cc",
            "--exe",
            "--build",
            "-O3",
            "--top-module",
            top,
            "--prefix",
            BINARY,
            "-Wno-fatal",
            "-CFLAGS",
            " ".join(self.cflags),
            "-MAKEFLAGS",
            "-s",
            "--build-jobs",
            str(self.jobs),
            "-o",
            BINARY,
        ]

    def key(self, sources: Sequence[Path], generated: Mapping[str, str], top: str) -> str:
        """The content hash of a build: tool version, flags, every source's name and bytes."""
        digest = hashlib.sha256()
        digest.update(self.tool.banner.encode())
        digest.update("\0".join(self._flags(top)).encode())
        for path in sources:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        for name in sorted(generated):
            digest.update(name.encode() + b"\0" + generated[name].encode() + b"\0")
        return digest.hexdigest()[:20]

    def build(self, sources: Sequence[Path], generated: Mapping[str, str], top: str) -> Build:
        """Compile ``top`` from ``sources`` (Verilog and C++) and ``generated`` files, or reuse it.

        Raises:
            ConfigError: a source path make cannot use (a space in it).
            ToolError: Verilator or the C++ compiler failed (their stderr attached).
        """
        began = time.perf_counter()
        for path in sources:
            _require_make_safe(path, "a Verilator source")
        key = self.key(sources, generated, top)
        directory = self.cache_dir / key
        binary = directory / "obj" / BINARY
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # one build per key at a time: a concurrent build of the same design point waits here,
        # then reuses the finished build instead of building (and replacing) it again
        with open(self.cache_dir / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (directory / STAMP).is_file() and binary.is_file():
                LOG.info("reusing Verilator build %s", directory)
                return Build(key, directory, binary, True, time.perf_counter() - began)
            # build in a private folder, then rename it into place: an interrupted build leaves no stamp
            staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=self.cache_dir))
            try:
                self._compile(staging, sources, generated, top)
                if directory.exists():
                    shutil.rmtree(directory)  # unfinished (no stamp): left by an interrupted build
                os.replace(staging, directory)
            finally:
                if staging.exists():
                    shutil.rmtree(staging)
        return Build(key, directory, binary, False, time.perf_counter() - began)

    def _compile(
        self, folder: Path, sources: Sequence[Path], generated: Mapping[str, str], top: str
    ) -> None:
        """Run Verilator in ``folder``: the generated files in ``src``, the model in ``obj``."""
        source_dir = folder / "src"
        source_dir.mkdir()
        for name, text in generated.items():
            (source_dir / name).write_text(text)
        verilog = [str(path) for path in sources if path.suffix in (".v", ".sv")]
        verilog += [str(source_dir / name) for name in sorted(generated) if name.endswith(".v")]
        cpp = [str(path) for path in sources if path.suffix == ".cpp"]
        argv = [
            str(self.tool.path),
            *self._flags(top),
            "-Mdir",
            "obj",
            f"-I{source_dir}",
            *verilog,
            *cpp,
        ]
        run_tool(argv, folder, what="verilator")
        atomic_write_bytes(folder / STAMP, f"{folder.name}\n".encode())

    def run(
        self,
        build: Build,
        plusargs: Mapping[str, str | int],
        cwd: Path,
        timeout: float | None = None,
    ) -> RunResult:
        """Run a built model with ``+name=value`` arguments in ``cwd``.

        Raises:
            ToolError: the model exited with an error.
        """
        began = time.perf_counter()
        argv = [str(build.binary), *(f"+{name}={value}" for name, value in plusargs.items())]
        completed = run_tool(argv, cwd, timeout=timeout, what="the Verilator model")
        return RunResult(completed.stdout, time.perf_counter() - began)
