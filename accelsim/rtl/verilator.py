"""Building and running a Verilator model of the testbench, with a content-hash build cache.

:class:`VerilatorRunner` compiles ``tb_harness`` (the packaged library, the generated files of a
design point and the C++ main) with ``verilator --cc --exe --build`` into a directory named by a
hash of every source's content and every flag, so a second build of the same design point is
skipped. Commands run through :func:`accelsim.toolchain.run_tool` (argv lists, logged, typed
errors carrying stderr).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..outputs import atomic_write_bytes
from ..toolchain import VERILATOR, Tool, run_tool

LOG = logging.getLogger(__name__)

#: Name of the model's C++ class (``--prefix``) and binary inside a build directory.
BINARY = "Vmodel"
#: File marking a finished build (written last).
STAMP = "build.ok"


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


class VerilatorRunner:
    """Verilator builds cached by content, and runs of the built models.

    Args:
        cache_dir: folder holding one sub-folder per build.
        tool: the Verilator to use (default: found with :data:`accelsim.toolchain.VERILATOR`).
        jobs: parallel C++ compile jobs (the machine is shared: keep it small).
        cflags: C++ optimization flags of the model.
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
        self.cache_dir = Path(cache_dir)
        self.tool = tool or VERILATOR.require()
        self.jobs = jobs
        self.cflags = tuple(cflags)

    def _flags(self, top: str) -> list[str]:
        return [
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
            ToolError: Verilator or the C++ compiler failed (their stderr attached).
        """
        began = time.perf_counter()
        key = self.key(sources, generated, top)
        directory = self.cache_dir / key
        binary = directory / "obj" / BINARY
        if (directory / STAMP).is_file() and binary.is_file():
            LOG.info("reusing Verilator build %s", directory)
            return Build(key, directory, binary, True, time.perf_counter() - began)
        # build in a private folder, then rename it into place: concurrent builds of one design
        # point never see each other's half-built files, and an interrupted build leaves no stamp
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=self.cache_dir))
        try:
            self._compile(staging, sources, generated, top)
            if directory.exists():
                shutil.rmtree(directory)  # left by an interrupted build of an older version
            os.replace(staging, directory)
        except OSError:
            if not (directory / STAMP).is_file():
                raise
            LOG.info("another process finished Verilator build %s first", directory)
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
