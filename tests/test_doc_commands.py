"""The commands the docs mark as tested run as written (from the repository root) and succeed.

A fenced ``bash`` block right after the line ``<!-- tested: tests/test_doc_commands.py -->`` in
README.md or docs/*.md is run line by line; their output (figures, never asserted) goes to the log.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- tested: tests/test_doc_commands.py -->"


def marked_commands() -> list[tuple[str, str]]:
    """``(file, command)`` of every line of every marked block."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(re.escape(MARKER) + r"\n```bash\n(.*?)```", path.read_text(), flags=re.DOTALL):
            found += [(path.name, line.strip()) for line in block.splitlines() if line.strip()]
    return found


def test_the_docs_mark_their_benchmark_commands() -> None:
    commands = [command for _, command in marked_commands()]
    for script in ("startup.py", "scalesim_peer.py", "sweep.py"):
        assert any(f"benchmarks/{script}" in command for command in commands)


@pytest.mark.slow
@pytest.mark.parametrize(("where", "command"), marked_commands())
def test_documented_command_runs(where: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=1800,
                            check=False)
    with capsys.disabled():
        print(f"\n$ {command}  ({where})\n{result.stdout}")
    assert result.returncode == 0, result.stderr[-2000:]
