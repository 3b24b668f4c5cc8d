"""Hostile and malformed YAML: every file and ``--set`` value goes through one bounded loader."""

from __future__ import annotations

import re
import time

import pytest

from accelsim.cli import main
from accelsim.dse import load_spec
from accelsim.errors import MAX_SHOWN, ConfigError, brief
from accelsim.hw import load_config, load_device
from accelsim.hw.config import config_from_dict

#: A 342-byte "billion laughs": nine levels of nine aliases, 9**9 strings once expanded.
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi")
)


@pytest.mark.parametrize("loader", [load_config, load_device, load_spec])
def test_alias_bomb_is_refused_at_once_in_every_kind_of_file(tmp_path, loader):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    began = time.perf_counter()
    with pytest.raises(ConfigError, match=r"bomb.yaml' must have at most 100,000 values with its aliases expanded"):
        loader(str(path))
    assert time.perf_counter() - began < 2


def test_recursive_alias_and_deep_nesting_are_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("pe: &a {tn: *a}\n")
    with pytest.raises(ConfigError, match=r"must hold no alias inside the node it names"):
        load_config(str(path))
    path.write_text("pe: " + "[" * 10_000 + "\n")
    with pytest.raises(ConfigError, match=r"must nest its values at most a few hundred levels deep"):
        load_config(str(path))


def test_echoed_values_are_capped():
    assert len(brief("x" * 10**6)) == MAX_SHOWN
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"name": ["y" * 10**6]})
    assert len(str(caught.value)) < 200


def test_set_device_to_a_system_file_names_the_file_not_its_contents(capsys):
    assert main(["resources", "--set", "device=/etc/passwd"]) == 2
    err = capsys.readouterr().err
    assert err == "accelsim: error: device file '/etc/passwd' must hold a mapping of keys to values, not a str\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"pe:\n  tn: 8\n  tm: [1,\n", r"must be valid YAML, not .* at line 4, column 1$"),
        (b"pe:\n\ttn: 8\n", r"must be valid YAML, not found character '\\t' that cannot start any token"),
        (b"name: caf\xe9\n", r"must be UTF-8 text, not bytes with 0xe9 at offset 9$"),
    ],
)
@pytest.mark.parametrize("kind", ["config", "device"])
def test_malformed_or_non_utf8_files_are_named_errors(tmp_path, capsys, content, problem, kind):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    argv = ["resources", "--config", str(path)] if kind == "config" else ["resources", "--device", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"accelsim: error: {kind} file {str(path)!r} ")
    assert "Traceback" not in err
    assert re.search(problem, err)


def test_set_value_that_is_not_yaml_is_a_named_error(capsys):
    assert main(["resources", "--set", "pe.tn=[1,"]) == 2
    assert capsys.readouterr().err == (
        "accelsim: error: --set 'pe.tn' must be valid YAML, not expected the node content, but found "
        "'<stream end>' at line 1, column 4\n"
    )


def test_duplicate_keys_are_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("pe:\n  tn: 8\n  tm: 4\n  tn: 16\n")
    with pytest.raises(ConfigError, match=r"must give each key of a mapping once, not 'tn' again at line 4, column 3$"):
        load_config(str(path))
    spec = tmp_path / "spec.yaml"
    spec.write_text("workloads: [digits]\nparameters: {pe.tn: [4]}\nparameters: {pe.tm: [2]}\n")
    with pytest.raises(ConfigError, match=r"not 'parameters' again at line 3, column 1$"):
        load_spec(spec)
