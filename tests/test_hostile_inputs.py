"""Hostile inputs found by an audit of every command and the public API: each is refused at load with
a message naming the field, the value and the fix; none hangs, none is silently taken."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import workloads
from accelsim.cli import main
from accelsim.compression import CompressionConfig, compress, load_network, save_network
from accelsim.dse import load_spec, spec_from_dict
from accelsim.errors import ConfigError, NetworkFileError
from accelsim.hw import load_config, load_device
from accelsim.inputs import input_file
from accelsim.outputs import write_json
from accelsim.yamlfile import parse_yaml


@pytest.fixture(scope="module")
def network_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded digits CNN, compressed one-shot, as a .krp file."""
    path = tmp_path_factory.mktemp("hostile") / "digits.krp"
    save_network(compress(workloads.build("digits", seed=0), CompressionConfig(bits=4), workload="digits"), path)
    return path


def error_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The last line of what a command that must exit with status 2 (or be refused by its parser) printed on stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse: a value its option's type refuses
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


# ----------------------------------------------------------------------------------- YAML text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: x\x00\n", "not the control character #x0000 at offset 7"),
        ("name: \x07\n", "not the control character #x0007 at offset 6"),
        ("pe: {tn: " + "9" * 5000 + "}\n", "not a value it cannot read: Exceeds the limit (4300 digits) for integer"),
        ("name: 2024-13-45\n", "not a value it cannot read: month must be in 1..12"),
    ],
)
def test_yaml_the_reader_or_a_constructor_refuses_is_a_named_error(text, problem):
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, "config file 'x.yaml'")
    assert str(caught.value).startswith("config file 'x.yaml' must be valid YAML, ") and problem in str(caught.value)


def test_a_set_value_of_thousands_of_digits_is_a_named_error(capsys):
    message = error_of(capsys, "resources", "--set", "buffers.input_bytes=" + "9" * 5000)
    assert message.startswith("accelsim: error: --set 'buffers.input_bytes' must be valid YAML, not a value it cannot read")


# ------------------------------------------------------------------------------- input files


@pytest.fixture()
def fifo(tmp_path: Path) -> Path:
    """A named pipe no process writes: reading it would wait forever."""
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_input_file_says_what_a_path_names():
    assert input_file(__file__, "x") == Path(__file__)
    for path, reason in [("/nonexistent.krp", "no such file"), ("/tmp", "it is a directory"),
                         ("/dev/zero", "it is a device, pipe or socket, which accelsim does not read")]:
        with pytest.raises(ConfigError, match=rf"^x '{path}' must be an existing file \({reason}\)$"):
            input_file(path, "x")
    with pytest.raises(ConfigError, match=r"^x must be a file path, not ''$"):
        input_file("", "x")
    with pytest.raises(ConfigError, match=r"^x must be a file path, not None$"):
        input_file(None, "x")


@pytest.mark.parametrize("loader", [load_config, load_device, load_spec])
def test_a_pipe_or_a_folder_given_as_a_yaml_file_is_refused_without_reading(fifo, tmp_path, loader):
    began = time.perf_counter()
    with pytest.raises(ConfigError, match=r"must be an existing file \(it is a device, pipe or socket"):
        loader(str(fifo))
    with pytest.raises(ConfigError, match=rf"'{tmp_path}' must be an existing file \(it is a directory\)$"):
        loader(tmp_path)
    assert time.perf_counter() - began < 2


def test_load_device_takes_a_path_and_names_a_value_that_is_none(tmp_path):
    path = tmp_path / "part.yaml"
    path.write_text("name: part\nfamily: xc7\ndescription: a part\nlut: 1000\nff: 2000\ndsp: 10\nbram36: 10\n")
    assert load_device(path).lut == 1000
    for value in (None, ["xc7z035"], 7):
        with pytest.raises(ConfigError, match=r"^device must be one of 'xc7z035', 'xczu9eg' \(or a YAML file\), not "):
            load_device(value)
    with pytest.raises(ConfigError, match=r"^config must be one of 'default' or a YAML file path, not 123$"):
        load_config(123)


@pytest.mark.parametrize("command", [["run"], ["rtl", "check"], ["plot", "layers", "--out", "{tmp}/p.png"]])
def test_network_must_name_a_regular_file_before_anything_is_read(capsys, tmp_path, fifo, command):
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    began = time.perf_counter()
    assert error_of(capsys, *argv, "--network", str(fifo)).endswith(
        f"argument --network: network file '{fifo}' must be an existing file (it is a device, pipe or socket, "
        "which accelsim does not read)")
    assert error_of(capsys, *argv, "--network", "").endswith("argument --network: network file must be a file path, not ''")
    assert time.perf_counter() - began < 5


@pytest.mark.parametrize("command", [["run"], ["compress"], ["rtl", "check"], ["plot", "layers", "--out", "p.png"]])
def test_an_empty_workload_is_refused_not_taken_for_the_default(capsys, command):
    assert error_of(capsys, *command, "--workload", " ").endswith(
        "argument --workload: must name a built-in workload or a 'module:factory' user model, not ' '")


def test_a_workload_the_network_file_does_not_record_is_refused(capsys, network_file):
    expected = (f"workload must be the model network file '{network_file}' records, 'digits', or be left out, "
                "not 'vgg16'")
    with pytest.raises(NetworkFileError, match=rf"^{expected}$"):
        load_network(network_file, workload="vgg16")
    assert error_of(capsys, "infer", "--network", str(network_file), "--workload", "vgg16") == f"accelsim: error: {expected}"


def test_a_pipe_as_checkpoint_or_onnx_file_is_refused(capsys, tmp_path, fifo):
    for option, what in (("--model", "checkpoint"), ("--onnx", "ONNX file")):
        extra = ["--workload", "digits"] if option == "--model" else []
        message = error_of(capsys, "compress", option, str(fifo), *extra, "--out", str(tmp_path / "x.krp"))
        assert message == (f"accelsim: error: {what} '{fifo}' must be an existing file (it is a device, pipe or "
                           "socket, which accelsim does not read)")


# ------------------------------------------------------------------------------ output files


def test_json_to_a_device_writes_through_it_and_never_replaces_it(tmp_path):
    pipe = tmp_path / "out.json"
    os.mkfifo(pipe)
    with pytest.raises(ConfigError, match=r"^output file '.*out.json' must be writable, not fail with no process reads it$"):
        write_json(pipe, {"a": 1})  # opening a pipe no process reads would wait forever
    assert pipe.is_fifo()
    write_json("/dev/null", {"a": 1})
    assert Path("/dev/null").is_char_device()


# ---------------------------------------------------------------------------------- sweeps


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"pe.tn": {"low": 1, "high": 4096}, "pe.tm": {"low": 1, "high": 4096}}, "not 16,777,216 (4,096 x 4,096 values"),
        ({"clock_mhz": {"low": 1, "high": 2000, "step": 1e-9}}, "not 1,999,000,000,000 (1,999,000,000,000 values"),
        ({"ddr.latency_cycles": list(range(1001)), "buffers.weight_depth": list(range(1, 1001))},
         "not 1,001,000 (1,001 x 1,000 values"),
    ],
)
def test_a_grid_too_large_to_list_is_refused_at_load(parameters, expected):
    began = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        spec_from_dict({"workloads": ["digits"], "parameters": parameters})
    message = str(caught.value)
    assert message.startswith("the sweep must have at most 1,000,000 design points (configurations x workloads), ")
    assert expected in message and "sample the space instead (sampler: random or lhs, with samples: N)" in message
    assert time.perf_counter() - began < 2


def test_a_grid_within_the_limit_counts_every_workload():
    grid = {"pe.tn": [4, 8], "buffers.weight_depth": list(range(1, 300_001))}
    with pytest.raises(ConfigError, match=r"not 1,200,000 \(2 x 300,000 values x 2 workloads\)"):
        spec_from_dict({"workloads": ["digits", "resnet8"], "parameters": grid})
    with pytest.raises(ConfigError, match=r"^samples must be an integer from 1 to 1000000, not 10000000$"):
        spec_from_dict({"workloads": ["digits"], "sampler": "random", "samples": 10**7, "parameters": {"pe.tn": [4]}})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "digits", "bits": 99}, "workloads[0].bits must be an integer from 2 to 8, not 99"),
        ({"name": "digits", "seed": 2**64}, ("workloads[0].seed must be an integer from 0 to 9223372036854775807, not "
                                            "18446744073709551616")),
        ("mymod:build", ("workloads[0].name must be a built-in workload, not the user model 'mymod:build' (a sweep "
                        "cannot know its input shape): compress it (accelsim compress --workload mymod:build "
                        "--input-shape C,H,W --out FILE.krp) and list it as {network: FILE.krp}")),
    ],
)
def test_sweep_workloads_are_checked_at_load_not_as_failed_points(entry, expected):
    with pytest.raises(ConfigError) as caught:
        spec_from_dict({"workloads": [entry], "parameters": {"pe.tn": [4]}})
    assert str(caught.value) == expected


def test_run_of_a_user_model_without_input_shape_says_how(capsys):
    message = error_of(capsys, "run", "--workload", "mymod:build", "--no-cache")
    assert "not for the user model 'mymod:build': give its input shape (--input-shape C,H,W), or compress it" in message
