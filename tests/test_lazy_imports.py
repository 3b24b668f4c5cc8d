"""``import accelsim`` and ``accelsim --help`` load none of the heavy libraries until they are used."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "dask", "distributed", "pyarrow", "matplotlib", "numba")


def loaded_after(code: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = textwrap.dedent(code) + textwrap.dedent(f"""
        import sys
        print("loaded:" + ",".join(name for name in {HEAVY!r} if name in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("loaded:")]
    return [name for name in line.removeprefix("loaded:").split(",") if name]


@pytest.mark.parametrize("code", [
    "import accelsim",
    "import accelsim; accelsim.__all__; dir(accelsim); accelsim.HwConfig; accelsim.load_config('default')",
    "import workloads; workloads.names(); workloads.info('vgg16')",
    """
    import contextlib, io
    from accelsim.cli import main
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(["--help"])
    """,
])
def test_nothing_heavy_is_imported(code: str) -> None:
    assert loaded_after(code) == []


def test_names_import_their_module_on_first_use() -> None:
    assert "torch" in loaded_after("import accelsim; accelsim.compress")
    assert loaded_after("import accelsim.integer as i; i.IntegerNetwork") == []


def test_a_public_name_is_the_function_even_when_its_submodule_shares_the_name() -> None:
    import accelsim.integer
    import accelsim.integer.lower  # the submodule, imported by name

    assert callable(accelsim.integer.lower) and accelsim.integer.lower.__name__ == "lower"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        accelsim.integer.nothing  # noqa: B018
