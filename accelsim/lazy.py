"""Lazy package exports: a package's public names are imported from their submodules on first use.

A package ``__init__`` lists where each public name lives and installs the module ``__getattr__``
and ``__dir__`` this returns (PEP 562), so importing the package imports none of its submodules:
``import accelsim`` and ``accelsim --help`` load no torch, Numba, Dask, pyarrow or matplotlib.
Submodules are attributes as before (``workloads.registry``): they are imported when first named.

Some public names are also the names of submodules (``accelsim.integer.lower`` is the function
``lower`` of the submodule ``lower``). Importing a submodule makes it an attribute of its package,
which would hide the function; the package's module type is therefore made to ignore that, so the
name always means the function, as it did when the package imported everything eagerly.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` of package ``package`` whose names live in ``exports``.

    Args:
        package: the package's ``__name__`` (being imported: it is in ``sys.modules``).
        exports: relative submodule (``".graph"``) -> the public names it defines.
        namespace: the package's ``globals()``; a name, once imported, is stored there.
    """
    module_of = {name: module for module, names in exports.items() for name in names}

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
