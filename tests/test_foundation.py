"""The project's own contracts: README commands, CI script, CLI frame, atomic outputs."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from accelsim.cli import build_parser, main
from accelsim.errors import ConfigError
from accelsim.outputs import atomic_write_bytes, write_json

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The commands in the README's fenced blocks, in order."""
    text = (ROOT / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)]


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_section = text.split("\n## ")[0]
    blocks = re.findall(r"```bash\n(.*?)```", first_section, flags=re.DOTALL)
    assert len(blocks) == 2
    assert all(len(block.strip().splitlines()) == 1 for block in blocks)
    assert "pip install torch==2.13.0" in blocks[0] and "accelsim" in blocks[0].split("&&")[-1]
    assert blocks[1].strip().endswith("pytest")


def test_ci_script_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The command paths of every parser without sub-commands below ``parser``."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [path]
    return [leaf for name, child in subs[0].choices.items() for leaf in leaf_parsers(child, (*path, name))]


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    leaves = leaf_parsers(build_parser())
    assert {leaf[0] for leaf in leaves} >= {"run", "compress", "infer", "rtl", "sweep", "plot"}
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for leaf in leaves:
        assert leaf[0] in out
    for leaf in leaves:
        with pytest.raises(SystemExit):
            main([*leaf, "--help"])
        assert "--json" in capsys.readouterr().out


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(TypeError):
        write_json(target, {"value": object()})
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"value": 1})
    assert json.loads(target.read_text()) == {"value": 1}


def test_atomic_write_gives_the_usual_new_file_mode(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        written = atomic_write_bytes(tmp_path / "x.bin", b"1")
    finally:
        os.umask(mask)
    assert written.stat().st_mode & 0o777 == 0o644


def test_atomic_write_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="output folder must exist"):
        atomic_write_bytes(tmp_path / "missing" / "x.bin", b"1")
