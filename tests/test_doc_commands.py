"""Every command the README and docs/ show runs as written and succeeds.

A command is a line starting with ``accelsim`` or ``python`` in a fenced block (any but a
``python`` code block) of README.md or docs/*.md; the README's two set-up commands are what CI itself
runs, so they are not run again here. Each document's commands run in order (a later one may read
what an earlier one wrote) in a fresh folder that links the repository's ``configs``,
``benchmarks``, ``examples`` and ``validation`` folders, so relative paths resolve as from the
repository root and nothing is written into the checkout. Their output (figures, never asserted)
goes to the log.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED = ("configs", "benchmarks", "examples", "validation")


def documented_commands(path: Path) -> list[str]:
    """The commands shown in ``path``'s shell blocks, in order (comments dropped)."""
    commands, fence = [], None  # fence: the open block's language, or None outside blocks
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
        elif fence not in (None, "python") and line.split(maxsplit=1)[:1] in (["accelsim"], ["python"]):
            commands.append(shlex.join(shlex.split(line, comments=True)))
    return commands


def _marks(command: str) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.slow]
    if " rtl " in f" {command} ":
        marks.append(pytest.mark.verilator)
    if "--synth" in command:
        marks.append(pytest.mark.yosys)
    return marks


CASES = [
    pytest.param(path.name, command, marks=_marks(command), id=f"{path.name}:{index}")
    for path in DOCUMENTS
    for index, command in enumerate(documented_commands(path))
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One working folder per document, created on first use."""
    return {}


def test_the_docs_show_commands_of_every_stage() -> None:
    shown = " ".join(command for _, command in (case.values for case in CASES))  # type: ignore[misc]
    for stage in ("accelsim run", "accelsim compress", "accelsim infer", "accelsim rtl check",
                  "accelsim resources", "accelsim sweep", "accelsim plot", "benchmarks/startup.py",
                  "benchmarks/scalesim_peer.py", "benchmarks/sweep.py"):
        assert stage in shown


@pytest.mark.parametrize(("where", "command"), CASES)
def test_documented_command_runs(where: str, command: str, folders: dict[str, Path],
                                 tmp_path_factory: pytest.TempPathFactory,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    if where not in folders:
        folder = tmp_path_factory.mktemp(where.replace(".", "_"))
        for name in LINKED:
            (folder / name).symlink_to(ROOT / name)
        folders[where] = folder
    result = subprocess.run(shlex.split(command), cwd=folders[where], capture_output=True, text=True,
                            timeout=1800, check=False)
    with capsys.disabled():
        print(f"\n$ {command}  ({where})\n{result.stdout[-3000:]}")
    assert result.returncode == 0, result.stderr[-2000:]
