"""Hostile inputs found by an audit of every command and the public API: each is refused at load with
a message naming the field, the value and the fix; none hangs, none is silently taken."""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

import workloads
from accelsim.cli import main
from accelsim.compression import (
    CompressionConfig,
    RetrainConfig,
    TrainingData,
    compress,
    fc_prune,
    gsnq_quantize,
    krp_prune,
    load_network,
    pruning_report,
    retrain,
    save_network,
    train,
    uniform_quantize,
)
from accelsim.dse import (
    Engine,
    design_points,
    evaluate,
    load_spec,
    make_executor,
    pareto_front,
    read_results,
    run_sweep,
    spec_from_dict,
    vary,
)
from accelsim.dse.fastsim import fast_simulate
from accelsim.dse.store import ResultStore
from accelsim.errors import ConfigError, NetworkFileError
from accelsim.hw import HwConfig, PeKind, estimate_resources, fits, load_config, load_device
from accelsim.inputs import input_file
from accelsim.integer import (
    FlattenLayer,
    IntegerNetwork,
    WeightFormat,
    dequantize,
    lower,
    quantize_input,
)
from accelsim.outputs import write_json
from accelsim.rtl.check import SHOWN_LAYERS, check_layer_names, cross_check
from accelsim.sim import NetworkBuilder, netcache, plan_network, resnet_shapes, simulate
from accelsim.sim.gain import parallelism_gain
from accelsim.sim.sources import file_network
from accelsim.sim.trace import export_trace
from accelsim.yamlfile import parse_yaml


@pytest.fixture(scope="module")
def digits_network(network_file: Path) -> IntegerNetwork:
    """The digits network file, lowered on seeded calibration images."""
    return lower(load_network(network_file), np.random.default_rng(0).random((8, 1, 8, 8), np.float32))


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


# ------------------------------------------------------------------------- configurations


def test_set_of_a_section_or_an_unknown_key_lists_the_fields(capsys):
    assert error_of(capsys, "resources", "--set", "pe=5") == (
        "accelsim: error: configuration key 'pe' must name a field, not a section; set one of 'pe.kind', 'pe.tn', "
        "'pe.tm', 'pe.kernel_max', 'pe.pipeline_depth'")
    assert error_of(capsys, "resources", "--set", "ddr.width=8") == (
        "accelsim: error: unknown configuration key 'ddr.width'; ddr has the keys 'ddr.bytes_per_cycle', "
        "'ddr.latency_cycles', 'ddr.burst_bytes'")


def test_act_bits_outside_what_the_datapath_lowers_is_refused_at_load(capsys):
    for value in ("1", "32"):
        assert error_of(capsys, "resources", "--set", f"act_bits={value}") == (
            f"accelsim: error: act_bits must be an integer from 4 to 16, not {value}")


def test_a_configuration_built_directly_checks_its_device():
    with pytest.raises(ConfigError, match=r"^device must be one of 'xc7z035', 'xczu9eg' \(or a YAML file\), not 'virtex'$"):
        HwConfig(device="virtex")


@pytest.mark.parametrize("budget", ["0", "2", "inf", "nan"])
def test_resources_budget_must_be_a_fraction(capsys, budget):
    shown = {"inf": "inf", "nan": "nan"}.get(budget, f"{float(budget)}")
    assert error_of(capsys, "resources", "--budget", budget) == (
        f"accelsim: error: budget must be a fraction of the device in (0, 1], not {shown}")


def test_a_design_far_over_its_device_prints_its_need_in_full(capsys):
    assert error_of(capsys, "resources", "--set", "pe.tn=4096", "--set", "pe.tm=4096") == (
        "accelsim: error: the design of configuration must fit device 'xc7z035': it needs 7,341,853 BRAM36 but the "
        "device has 500; reduce the buffers or pe.tn")


def test_resource_functions_name_a_value_that_is_not_a_configuration():
    config = load_config()
    with pytest.raises(ConfigError, match=r"^config must be a HwConfig \(e.g. accelsim.load_config\('default'\)\), "
                                          r"not 'default'$"):
        estimate_resources("default")
    assert fits(config, "xczu9eg").device.name == "xczu9eg"
    with pytest.raises(ConfigError, match=r"^device must be one of .*, not 'virtex'$"):
        fits(config, "virtex")


def test_vary_and_evaluate_refuse_what_they_cannot_use(digits_network):
    config = load_config()
    with pytest.raises(ConfigError, match=r"^values must list at least one value of pe.tn, not none$"):
        vary(config, "pe.tn", [])
    with pytest.raises(ConfigError, match=r"^values must be a list of values of pe.tn, not '48'$"):
        vary(config, "pe.tn", "48")
    with pytest.raises(ConfigError, match=r"^engine must be one of 'simpy', 'fast', not 'turbo'$"):
        evaluate(digits_network, config, engine="turbo")
    with pytest.raises(ConfigError, match=r"^network must be an IntegerNetwork .*, not None$"):
        evaluate(None, config)
    with pytest.raises(ConfigError, match=r"^config must be a HwConfig .*, not 'default'$"):
        evaluate(digits_network, "default")


# ------------------------------------------------------------------------------ compression


def test_retraining_epochs_are_bounded_and_fixed_lr_needs_the_fixed_schedule(capsys, tmp_path):
    with pytest.raises(ConfigError, match=r"^epochs must be an integer from 0 to 1000, not 1000000000$"):
        RetrainConfig(epochs=10**9)
    out = str(tmp_path / "x.krp")
    assert error_of(capsys, "compress", "--workload", "digits", "--data", "digits", "--fixed-lr", "0.01", "--out", out) == (
        "accelsim: error: fixed_lr must be None unless schedule is 'fixed' (it is the fixed schedule's rate; schedule "
        "is 'tracking'), not 0.01")
    assert error_of(capsys, "compress", "--workload", "digits", "--weights", "uniform", "--gsnq-split", "balanced",
                    "--out", out) == ("accelsim: error: --gsnq-split must be left out with --weights uniform (it splits "
                                      "GSNQ codes between the signs; uniform codes are symmetric), not 'balanced'")


def test_a_raw_pickle_as_checkpoint_is_one_line_and_runs_nothing(capsys, tmp_path):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Path("/x")))  # a raw pickle naming a global: never unpickled
    message = error_of(capsys, "compress", "--model", str(evil), "--workload", "digits", "--out", str(tmp_path / "x.krp"))
    assert message.startswith(f"accelsim: error: checkpoint '{evil}' is not a readable torch checkpoint")


def test_a_factory_that_exits_is_a_named_error(capsys, tmp_path, monkeypatch):
    (tmp_path / "exiting.py").write_text("import sys\n\ndef build():\n    sys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert error_of(capsys, "compress", "--workload", "exiting:build", "--input-shape", "1,8,8", "--out",
                    str(tmp_path / "x.krp")) == ("accelsim: error: workload 'exiting:build': the factory must build "
                                                 "the model, not raise SystemExit '3'; fix the factory")


def test_lowering_says_in_one_line_why_calibration_does_not_fit(network_file):
    with pytest.raises(ConfigError) as caught:
        lower(load_network(network_file), np.zeros((2, 3, 8, 8), np.float32))
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("calibration must fit the model's input, not shape (2, 3, 8, 8) (RuntimeError: ")


def test_api_functions_name_an_argument_of_the_wrong_type(digits_network):
    with pytest.raises(ConfigError, match=r"^network must be an IntegerNetwork \(from accelsim.lower\), not None$"):
        quantize_input(None, np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(ConfigError, match=r"^spec must be a TensorSpec .*, not None$"):
        dequantize(None, np.zeros(3))
    with pytest.raises(ConfigError, match=r"^compressed must be a CompressedModel .*, not None$"):
        save_network(None, "x.krp")


# ---------------------------------------------------------------------------- the commands


def test_infer_seed_and_calibration_are_checked(capsys, network_file):
    assert error_of(capsys, "infer", "--network", str(network_file), "--seed", "-1") == (
        "accelsim: error: --seed must be an integer in [0, 2**63), not -1")
    assert error_of(capsys, "infer", "--network", str(network_file), "--calibration", "1000000000") == (
        "accelsim: error: --calibration must be at most 4,194,303 without --data (the float32 images of shape "
        "(1, 8, 8) may take 1 GiB), not 1,000,000,000")


def test_sweep_out_that_cannot_be_made_and_executor_limits(capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("workloads: [digits]\nparameters: {pe.tn: [4]}\n")
    assert error_of(capsys, "sweep", str(spec), "--out", "") == "accelsim: error: --out must be a results folder path, not ''"
    assert error_of(capsys, "sweep", str(spec), "--out", "/proc/sweep") == (
        "accelsim: error: --out must be a folder accelsim can create, not '/proc/sweep' (No such file or directory)")
    with pytest.raises(ConfigError, match=r"^--workers must be an integer from 1 to \d+ \(4 per CPU of this machine"):
        make_executor(workers=100_000)
    with pytest.raises(ConfigError, match=r"^--timeout must be a positive number of seconds up to 86,400 \(a day\), "
                                          r"not inf$"):
        make_executor(timeout=float("inf"))
    with pytest.raises(ConfigError, match=r"^results must be a sweep's results folder \(with _sweep.json\), not None$"):
        read_results(None)


def test_plot_bins_are_bounded_before_simulating(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("accelsim.cli.plot.simulate", lambda *a, **k: pytest.fail("simulated before the check"))
    assert error_of(capsys, "plot", "timeline", "--workload", "digits", "--bins", "1000000000", "--out",
                    str(tmp_path / "t.png")) == "accelsim: error: bins must be an integer from 1 to 10,000, not 1000000000"
    message = error_of(capsys, "plot", "bandwidth", "--workload", "digits", "--bandwidths", ",".join(["8"] * 1000),
                       "--out", str(tmp_path / "b.png"))
    assert message.startswith("accelsim: error: bandwidths must be distinct and ascending") and len(message) < 200


@pytest.mark.parametrize("option", ["--cache", "--keep"])
def test_rtl_check_folders_that_are_files_are_refused_before_building(capsys, network_file, option):
    assert error_of(capsys, "rtl", "check", "--network", str(network_file), option, str(network_file)) == (
        f"accelsim: error: {option} must be a folder, not the file '{network_file}'")
    inside = network_file / "builds"
    assert error_of(capsys, "rtl", "check", "--network", str(network_file), option, str(inside)) == (
        f"accelsim: error: {option} must be a folder accelsim can make, not '{inside}' (inside the file "
        f"'{network_file}')")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compress", "--workload", "digits", "--out", "{tmp}/x.krp", "--json", "{tmp}/x.krp"],
         "--json and --out must name different files, not both '{tmp}/x.krp' (writing --json would replace the other)"),
        (["compress", "--model", "{net}", "--workload", "digits", "--out", "{net}"],
         "--out and --model must name different files, not both '{net}' (writing --out would replace the other)"),
        (["run", "--network", "{net}", "--json", "{net}"],
         "--json and --network must name different files, not both '{net}' (writing --json would replace the other)"),
        (["run", "--workload", "digits", "--trace", "{tmp}/t.json", "--json", "{tmp}/./t.json"],
         ("--json and --trace must name different files, not both '{tmp}/t.json' (writing --json would replace the "
         "other)")),
    ],
)
def test_an_output_that_would_overwrite_another_file_of_the_command_is_refused(capsys, tmp_path, network_file, argv,
                                                                                 expected):
    before = network_file.read_bytes()
    subst = {"{tmp}": str(tmp_path), "{net}": str(network_file)}
    message = error_of(capsys, *(arg.replace("{tmp}", subst["{tmp}"]).replace("{net}", subst["{net}"]) for arg in argv))
    assert message == "accelsim: error: " + expected.replace("{tmp}", subst["{tmp}"]).replace("{net}", subst["{net}"])
    assert network_file.read_bytes() == before


def test_plot_network_with_another_workload_is_refused_as_in_run(capsys, network_file, tmp_path):
    assert error_of(capsys, "plot", "layers", "--network", str(network_file), "--workload", "vgg16", "--out",
                    str(tmp_path / "p.png")) == (
        f"accelsim: error: workload must be the model network file '{network_file}' records, 'digits', or be left "
        "out, not 'vgg16'")


def test_a_data_dir_for_the_bundled_digits_is_refused_not_ignored(capsys, network_file):
    with pytest.raises(ConfigError, match=r"^data_dir must be left out for digits \(it ships with scikit-learn\), "
                                          r"not '/nowhere'$"):
        workloads.load_dataset("digits", "test", "/nowhere")
    assert error_of(capsys, "infer", "--network", str(network_file), "--data", "digits", "--data-dir", "/nowhere") == (
        "accelsim: error: data_dir must be left out for digits (it ships with scikit-learn), not '/nowhere'")


# ------------------------------------------------------------------------ the public API, third pass


def test_functions_that_time_a_network_name_an_argument_of_the_wrong_type(digits_network):
    config = load_config()
    result = simulate(digits_network, config, keep_trace=False)
    for call in (lambda: simulate(None, config), lambda: plan_network(None, config), lambda: fast_simulate(None, config),
                 lambda: parallelism_gain(None, config), lambda: cross_check(None, config)):
        with pytest.raises(ConfigError, match=r"^network must be an IntegerNetwork \(e.g. accelsim.load_workload"
                                              r"\('vgg16'\)\), not None$"):
            call()
    for call in (lambda: simulate(digits_network, "default"), lambda: plan_network(digits_network, "default"),
                 lambda: parallelism_gain(digits_network, "default"), lambda: cross_check(digits_network, "default")):
        with pytest.raises(ConfigError, match=r"^config must be a HwConfig \(e.g. accelsim.load_config\('default'\)\), "
                                              r"not 'default'$"):
            call()
    with pytest.raises(ConfigError, match=r"^result must be a SimulationResult \(from accelsim.simulate\), not None$"):
        export_trace(None, "t.json")
    with pytest.raises(ConfigError, match=r"^trace path must end in '.json' \(Chrome trace\) or '.csv', not None$"):
        export_trace(result, None)


def test_sweep_and_pareto_functions_name_an_argument_of_the_wrong_type(tmp_path):
    with pytest.raises(ConfigError, match=r"^spec must be a SweepSpec \(e.g. accelsim.load_spec\('sweep.yaml'\)\), "
                                          r"not None$"):
        run_sweep(None, tmp_path / "out")
    spec = spec_from_dict({"workloads": ["digits"], "parameters": {"pe.tn": [4]}})
    with pytest.raises(ConfigError, match=r"^--out must be a results folder path, not None$"):
        run_sweep(spec, None)
    with pytest.raises(ConfigError, match=r"^rows must be a list of result rows .*, not None$"):
        pareto_front(None, ["latency_ms", "lut"])
    with pytest.raises(ConfigError, match=r"^metrics must be a list of two or more distinct metric names, not "
                                          r"'latency_ms,lut'$"):
        pareto_front([], "latency_ms,lut")


def test_file_network_refuses_a_pipe_without_reading_it(fifo):
    began = time.perf_counter()
    with pytest.raises(NetworkFileError, match=r"^network file '.*' must be an existing file \(it is a device, pipe "):
        file_network(str(fifo))
    assert time.perf_counter() - began < 2


def test_a_results_part_that_is_a_pipe_is_skipped_not_read(tmp_path):
    spec = spec_from_dict({"workloads": ["digits"], "parameters": {"pe.tn": [4]}})
    with ResultStore.open(tmp_path / "out", spec):
        pass
    os.mkfifo(tmp_path / "out" / "part-000000.parquet")
    began = time.perf_counter()
    assert read_results(tmp_path / "out").num_rows == 0
    assert time.perf_counter() - began < 2


def test_an_unwritable_cache_dir_is_reported_once(tmp_path, monkeypatch, caplog, digits_network):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(blocker))
    monkeypatch.setattr(netcache, "_UNWRITABLE", set())
    for key in range(2):
        assert netcache.cached_network({"hostile": key}, lambda: digits_network) is digits_network
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings == [
        (f"accelsim: warning: the network cache {blocker}/networks cannot be written (Not a directory), so networks are "
        f"built afresh on every run: ACCELSIM_CACHE_DIR must name a folder accelsim can create and write, not "
        f"'{blocker}' (or pass --no-cache)")]


def test_rtl_check_of_an_unknown_layer_lists_the_layers(capsys, digits_network):
    message = error_of(capsys, "rtl", "check", "--workload", "digits", "--layers", "bogus")
    assert message == ("accelsim: error: layers must name layers of network 'digits' the RTL runs ('features.0', "
                       "'features.3', 'features.6', 'features.7', 'features.10', 'classifier.0', 'classifier.2'), "
                       "not 'bogus'")
    with pytest.raises(ConfigError, match=r"^layers must be a list of layer names, not the string 'features.0'$"):
        cross_check(digits_network, load_config(), layers="features.0")


def test_rtl_check_lists_at_most_a_dozen_layers():
    network = resnet_shapes(3)
    with pytest.raises(ConfigError) as caught:
        check_layer_names(network, ["bogus"])
    assert str(caught.value).count("'") == 2 * SHOWN_LAYERS + 4
    runnable = sum(not isinstance(layer, FlattenLayer) for layer in network.layers)
    assert str(caught.value).endswith(f", ... ({runnable} in all)), not 'bogus'")


def test_a_sweep_workload_named_other_than_its_network_file_records_is_refused(network_file):
    with pytest.raises(ConfigError) as caught:
        spec_from_dict({"workloads": [{"network": str(network_file), "name": "vgg16"}], "parameters": {"pe.tn": [4]}})
    assert str(caught.value) == (f"workloads[0].name must be the workload network file '{network_file}' records, "
                                 "'digits', or be left out, not 'vgg16'")
    named = spec_from_dict({"workloads": [{"network": str(network_file), "name": "digits"}], "parameters": {"pe.tn": [4]}})
    assert named.workloads[0].name == "digits"


# ------------------------------------------------------------- weights the PE kind cannot apply


@pytest.fixture(scope="module")
def uniform_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded digits CNN, compressed one-shot with uniform weights, as a .krp file."""
    path = tmp_path_factory.mktemp("hostile") / "uniform.krp"
    model = workloads.build("digits", seed=0)
    save_network(compress(model, CompressionConfig(bits=4, weights="uniform"), workload="digits"), path)
    return path


def test_weights_the_pe_kind_cannot_apply_are_refused_by_every_command(capsys, tmp_path, network_file, uniform_file):
    refused = {"krp_gsnq": "uniform", "gsnq_shift": "uniform", "mult_dsp": "gsnq", "mult_lut": "gsnq"}
    for kind, weights in refused.items():
        path = uniform_file if weights == "uniform" else network_file
        kinds, other = ("mult_dsp or mult_lut", "gsnq") if weights == "uniform" else ("gsnq_shift or krp_gsnq", "uniform")
        expected = (f"accelsim: error: pe.kind must apply the {weights} weights of network 'digits' (layer 'features.0'), "
                    f"not '{kind}', which applies {other} weights: set pe.kind to {kinds}, or compress the network with "
                    f"--weights {other}")
        assert error_of(capsys, "run", "--network", str(path), "--set", f"pe.kind={kind}") == expected
        assert error_of(capsys, "plot", "layers", "--network", str(path), "--set", f"pe.kind={kind}",
                        "--out", str(tmp_path / "p.png")) == expected
    assert main(["run", "--network", str(uniform_file), "--set", "pe.kind=mult_lut"]) == 0
    capsys.readouterr()


def test_both_engines_and_the_gain_refuse_or_skip_a_kind_that_cannot_apply_the_weights():
    builder = NetworkBuilder((4, 8, 8), weights=WeightFormat.UNIFORM, name="u")
    builder.conv(8)
    network, config = builder.build(), load_config()
    for engine in Engine:
        with pytest.raises(ConfigError, match=r"^pe.kind must apply the uniform weights of network 'u' \(layer 'conv0'\), "
                                              r"not 'krp_gsnq', which applies gsnq weights: "):
            evaluate(network, config, engine=engine)
    mult = config.replace(**{"pe.kind": "mult_lut"})
    assert fast_simulate(network, mult) == dataclasses.replace(simulate(network, mult, keep_trace=False), sim_events=0)
    assert [row.kind for row in parallelism_gain(network, config)] == [PeKind.MULT_DSP, PeKind.MULT_LUT]


def test_a_sweep_compresses_a_built_in_workload_as_each_point_s_kind_applies(network_file):
    spec = spec_from_dict({"workloads": ["digits", {"network": str(network_file)}],
                           "parameters": {"pe.kind": ["krp_gsnq", "mult_dsp"]}})
    keys = [(point.workload.network is None, point.config["pe"]["kind"], point.network_key.weights)
            for point in design_points(spec)]
    assert keys == [(True, "krp_gsnq", WeightFormat.GSNQ), (True, "mult_dsp", WeightFormat.UNIFORM),
                    (False, "krp_gsnq", None), (False, "mult_dsp", None)]


# ------------------------------------------------------------------ the compression API, fourth pass


def test_compression_functions_name_an_argument_of_the_wrong_type():
    model, recipe = workloads.build("digits", seed=0), workloads.info("digits").recipe
    data = TrainingData.load("digits")
    module = r"^model must be a torch.nn.Module \(e.g. workloads.build\('digits'\)\)"
    for call in (lambda: krp_prune(None), lambda: fc_prune(None, 0.5), lambda: gsnq_quantize(None, 4),
                 lambda: uniform_quantize(None, 4), lambda: retrain(None, data, recipe, RetrainConfig())):
        with pytest.raises(ConfigError, match=module + r" or a MaskedModel, not None$"):
            call()
    for call in (lambda: train(None, data, recipe), lambda: compress(None, CompressionConfig(), workload="digits")):
        with pytest.raises(ConfigError, match=module + r", not None$"):
            call()
    expected = [
        (lambda: pruning_report(None), r"records must be a list of LayerRecord \(e.g. compressed.records\), not None"),
        (lambda: pruning_report([1]), r"records must be a list of LayerRecord .*, not \[1\]"),
        (lambda: train(model, None, recipe), r"data must be a TrainingData \(e.g. TrainingData.load\('digits'\)\), not None"),
        (lambda: train(model, data, None), r"recipe must be a workloads.TrainingRecipe .*, not None"),
        (lambda: train(model, data, recipe, seed=-1), r"seed must be an integer in \[0, 2\*\*63\), not -1"),
        (lambda: retrain(model, data, recipe, None), r"config must be a RetrainConfig .*, not None"),
        (lambda: gsnq_quantize(model, 4, retrain=1), r"retrain must be a function of a MaskedModel or None .*, not 1"),
        (lambda: compress(model, "x", workload="digits"), r"config must be a CompressionConfig .*, not 'x'"),
        (lambda: compress(model, CompressionConfig(), workload=None), r"workload must be a built-in workload name .*, not None"),
        (lambda: compress(model, CompressionConfig(), workload="digits", data=1), r"data must be a TrainingData or None .*, not 1"),
    ]
    for call, message in expected:
        with pytest.raises(ConfigError, match=rf"^{message}$"):
            call()
