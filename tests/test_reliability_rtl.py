"""The Verilator build cache under concurrency, and cache paths make cannot use (a fake Verilator)."""

from __future__ import annotations

import stat
import sys
import threading
from pathlib import Path

import pytest

from accelsim.errors import ConfigError
from accelsim.rtl.verilator import STAMP, VerilatorRunner
from accelsim.toolchain import Tool

FAKE_VERILATOR = """#!{python}
import pathlib, sys, time
argv = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write("build\\n")
time.sleep(0.5)  # long enough for a concurrent build to start meanwhile
obj = pathlib.Path(argv[argv.index("-Mdir") + 1])
obj.mkdir()
(obj / argv[argv.index("-o") + 1]).write_text("model")
"""


def fake_verilator(folder: Path) -> tuple[Tool, Path]:
    """A Verilator stand-in that logs each build to a file and makes an empty model; and the log."""
    log = folder / "builds.log"
    script = folder / "verilator"
    script.write_text(FAKE_VERILATOR.format(python=sys.executable, log=str(log)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return Tool("verilator", script, (5, 20), "Verilator 5.020 fake"), log


def test_concurrent_builds_of_one_design_build_once_and_share_it(tmp_path):
    tool, log = fake_verilator(tmp_path)
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    builds = []

    def build() -> None:
        runner = VerilatorRunner(tmp_path / "cache", tool=tool)
        builds.append(runner.build([source], {"params.vh": "`define X 1\n"}, "top"))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.read_text().splitlines() == ["build"]
    assert sorted(build.cached for build in builds) == [False, True]
    first, second = builds
    assert first.directory == second.directory and (first.directory / STAMP).is_file() and first.binary.is_file()
    assert [path.name for path in (tmp_path / "cache").iterdir() if not path.name.endswith(".lock")] == [first.key]


def test_an_unfinished_build_is_replaced(tmp_path):
    tool, log = fake_verilator(tmp_path)
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    runner = VerilatorRunner(tmp_path / "cache", tool=tool)
    stale = runner.cache_dir / runner.key([source], {}, "top")
    (stale / "obj").mkdir(parents=True)  # no stamp: an interrupted build
    build = runner.build([source], {}, "top")
    assert not build.cached and (build.directory / STAMP).is_file() and log.read_text() == "build\n"


@pytest.mark.parametrize("name", ["my cache", "cache:1", "a$b"])
def test_a_cache_path_make_cannot_use_is_refused_up_front(tmp_path, name):
    tool, log = fake_verilator(tmp_path)
    folder = tmp_path / name
    with pytest.raises(ConfigError) as caught:
        VerilatorRunner(folder, tool=tool)
    message = str(caught.value)
    assert message.startswith(
        "the Verilator cache folder must be a path without spaces or characters special to make "
    )
    assert f"not {str(folder)!r}: Verilator builds with make" in message
    assert "set ACCELSIM_CACHE_DIR (or pass --cache)" in message and len(message) < 400
    assert not log.exists() and not folder.exists()
