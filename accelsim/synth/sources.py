"""Which Verilog files a top module needs: the module definitions of a source folder and their closure.

The RTL library (``accelsim/rtl/verilog``) holds one or more modules per ``.v`` file. A module
depends on every library module whose name appears as a word in its file (comments stripped);
that over-approximates instantiations, which only ever adds a harmless file. Synthesizing a top
reads exactly the files of its closure, so an unrelated file being edited cannot break (or
invalidate the cache of) another module's synthesis.

>>> import re
>>> bool(_MODULE.search("module pe_unit #("))
True
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from ..errors import ConfigError

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_MODULE = re.compile(r"^\s*module\s+([A-Za-z_][A-Za-z0-9_$]*)", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def rtl_library() -> Path:
    """The folder of accelsim's Verilog library (``accelsim/rtl/verilog``)."""
    return Path(str(resources.files("accelsim") / "rtl" / "verilog"))


def _strip(text: str) -> str:
    return _COMMENTS.sub(" ", text)


def module_files(folder: Path) -> dict[str, Path]:
    """Module name -> the ``.v`` file of ``folder`` that defines it.

    Raises:
        ConfigError: ``folder`` is not a folder, or two files define the same module.
    """
    if not folder.is_dir():
        raise ConfigError(f"Verilog source folder must exist, not {str(folder)!r}")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.v")):
        for name in _MODULE.findall(_strip(path.read_text(encoding="utf-8"))):
            if name in found:
                raise ConfigError(
                    f"module {name!r} must be defined once, not in both {found[name].name} and {path.name}"
                )
            found[name] = path
    return found


def closure(top: str, *folders: Path) -> tuple[Path, ...]:
    """The files ``top`` needs, dependencies first (the order Yosys reads them in), from the modules
    of ``folders`` (default: the RTL library; a calibration wrapper's folder and the library, for
    a wrapper built of library modules).

    Raises:
        ConfigError: no file of ``folders`` defines ``top``, or two of them define the same module.
    """
    files: dict[str, Path] = {}
    for folder in folders or (rtl_library(),):
        for name, path in module_files(folder).items():
            if name in files:
                raise ConfigError(f"module {name!r} must be defined once, not in both {files[name]} and {path}")
            files[name] = path
    if top not in files:
        known = ", ".join(sorted(files)) or "none"
        raise ConfigError(f"top module must be one of the library's modules ({known}), not {top!r}")
    ordered: list[Path] = []

    def visit(path: Path, seen: set[Path]) -> None:
        if path in ordered or path in seen:
            return
        seen.add(path)
        words = set(_WORD.findall(_strip(path.read_text(encoding="utf-8"))))
        for name in sorted(words & files.keys()):
            visit(files[name], seen)
        ordered.append(path)

    visit(files[top], set())
    return tuple(ordered)
