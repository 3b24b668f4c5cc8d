"""Lazy package exports: a package's public names are imported from their submodules on first use.

A package ``__init__`` imports its public names under ``if TYPE_CHECKING:`` (so type checkers and
readers see them, as ordinary imports) and installs the module ``__getattr__`` and ``__dir__`` that
:func:`lazy_exports` returns (PEP 562): it reads those imports from the package's source and
performs each on first use of its name. Importing the package imports none of its submodules, so
``import accelsim`` and ``accelsim --help`` load no torch, Numba, Dask, pyarrow or matplotlib.
Submodules are attributes as before (``workloads.registry``): they are imported when first named.

Some public names are also the names of submodules (``accelsim.integer.lower`` is the function
``lower`` of the submodule ``lower``). Importing a submodule makes it an attribute of its package,
which would hide the function; the package's module type is therefore made to ignore that, so the
name always means the function, as it did when the package imported everything eagerly.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def exports_of(source: str) -> dict[str, str]:
    """Public name -> relative submodule, from the ``from .x import ...`` under ``if TYPE_CHECKING:``."""
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.level:
                    module = "." * statement.level + (statement.module or "")
                    found.update({alias.asname or alias.name: module for alias in statement.names})
    return found


def lazy_exports(package: str, namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` of package ``package``, whose ``globals()`` are ``namespace``.

    The public names are those its ``__init__`` imports under ``if TYPE_CHECKING:``; a name, once
    imported, is stored in ``namespace``.
    """
    module_of = exports_of(Path(namespace["__file__"]).read_text(encoding="utf-8"))

    class LazyPackage(types.ModuleType):
        """The package's module type: a submodule never replaces a public name of the same name."""

        def __setattr__(self, name: str, value: Any) -> None:
            if name in module_of and isinstance(value, types.ModuleType):
                return
            super().__setattr__(name, value)

    sys.modules[package].__class__ = LazyPackage

    def __getattr__(name: str) -> Any:
        """Import the public name ``name`` from its submodule on first use (or the submodule ``name``)."""
        module = module_of.get(name)
        if module is None:
            if name.startswith("__") or importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        """The public names, imported or not."""
        return sorted(set(namespace) | set(module_of))

    return __getattr__, __dir__
