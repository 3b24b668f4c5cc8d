"""Sweep specs: parsing, validation errors before any point runs, samplers and point identity."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from accelsim.dse import design_points, load_spec, spec_from_dict
from accelsim.dse.parameters import parameter_from_yaml
from accelsim.dse.samplers import grid, latin_hypercube, random
from accelsim.errors import ConfigError, WorkloadError
from accelsim.hw import load_config


def spec(**changes):
    data = {"workloads": ["digits"], "parameters": {"ddr.bytes_per_cycle": [1, 2, 4]}}
    data.update(changes)
    return spec_from_dict(data)


def test_grid_is_the_product_in_spec_order():
    result = spec(workloads=["digits", "resnet56"],
                  parameters={"pe.kind": ["krp_gsnq", "gsnq_shift"], "pe.tn": {"low": 4, "high": 12, "step": 4}})
    points = design_points(result)
    assert len(points) == 2 * 2 * 3
    expected = list(itertools.product(["krp_gsnq", "gsnq_shift"], [4, 8, 12]))
    assert [tuple(v for _, v in p.values) for p in points[:6]] == expected
    assert {p.workload.name for p in points[:6]} == {"digits"}
    # the point's complete configuration is the base with the values applied
    first = points[0]
    assert first.config["pe"]["kind"] == "krp_gsnq" and first.config["pe"]["tn"] == 4
    assert first.config["ddr"] == load_config("default").to_dict()["ddr"]


def test_point_ids_are_stable_and_distinct():
    a, b = design_points(spec()), design_points(spec())
    assert [p.point_id for p in a] == [p.point_id for p in b]
    assert len({p.point_id for p in a}) == len(a)
    # the same configuration reached by a different spec has the same identity
    other = design_points(spec(parameters={"ddr.bytes_per_cycle": [4], "pe.tn": [8]}))
    assert other[0].point_id == a[2].point_id  # default tn is 8; bytes_per_cycle 4


@pytest.mark.parametrize(("parameters", "message"), [
    ({"ddr.bytes_per_cycl": [1]}, (r"parameter must name a configuration field .* not 'ddr.bytes_per_cycl' "
                                  r"\(did you mean 'ddr.bytes_per_cycle'\?\)")),
    ({"pe": [1]}, r"parameter must name a configuration field .* not 'pe'"),
    ({"pe.tn": []}, r"^parameters.pe.tn must be a non-empty list of values or a range \{low, high\}, not \[\]$"),
    ({"pe.tn": {"low": 8, "high": 4}}, r"^parameters.pe.tn must be a non-empty range \(low <= high\), not low=8, high=4$"),
    ({"pe.tn": [4, 0]}, r"^parameters.pe.tn\[1\] must be an integer from 1 to 4096, not 0$"),
    ({"pe.kind": ["krp", "mult_dsp"]}, r"^parameters.pe.kind\[0\] must be one of 'mult_dsp', .* not 'krp'$"),
    ({"pe.kind": {"low": 1, "high": 2}}, r"^parameters.pe.kind must be a list of values \(pe.kind is not numeric\)"),
    ({"pe.tn": {"low": 1, "high": 8, "step": 0}}, r"^parameters.pe.tn.step must be a positive integer, not 0$"),
    ({"clock_mhz": {"low": 100, "high": 200}}, r"^parameters.clock_mhz.step must be given for a grid"),
    ({"pe.tn": {"low": 1, "high": 8, "log": True}}, r"^parameters.pe.tn.log applies to the random and lhs"),
    ({}, r"^parameters must be a non-empty mapping"),
])
def test_bad_parameters_fail_at_load(parameters, message):
    with pytest.raises(ConfigError, match=message):
        spec(parameters=parameters)


def test_bad_spec_keys_and_workloads_fail_at_load(tmp_path):
    with pytest.raises(WorkloadError, match="nosuchnet"):
        spec(workloads=["nosuchnet"])
    with pytest.raises(ConfigError, match=r"^workloads must be a non-empty list"):
        spec(workloads=[])
    with pytest.raises(ConfigError, match=r"^sweep spec keys must be among .* not 'sampling'$"):
        spec(sampling="grid")
    with pytest.raises(ConfigError, match=r"^sampler must be one of 'grid', 'random', 'lhs', not 'sobol'$"):
        spec(sampler="sobol")
    with pytest.raises(ConfigError, match=r"^samples must be given for the lhs sampler"):
        spec(sampler="lhs")
    with pytest.raises(ConfigError, match=r"workloads\[0\].network must be an existing .krp file"):
        spec(workloads=[{"network": "missing.krp"}])
    with pytest.raises(ConfigError, match=r"^sweep spec '.*none.yaml' must be an existing file \(no such file\)$"):
        load_spec(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters: [unclosed\n")
    with pytest.raises(ConfigError, match="must be valid YAML"):
        load_spec(bad)


def test_load_spec_resolves_the_base_next_to_the_file(tmp_path):
    base = load_config("default").replace(**{"pe.tn": 16}).to_dict()
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(
        {"base": "mine.yaml", "workloads": "digits", "parameters": {"pe.tm": [2]}}))
    loaded = load_spec(tmp_path / "sweep.yaml")
    assert loaded.base.pe.tn == 16
    assert design_points(loaded)[0].config["pe"] == {**base["pe"], "tm": 2}


def test_random_and_lhs_are_seeded_and_within_range():
    params = (parameter_from_yaml("pe.tn", {"low": 2, "high": 30, "step": 4}),
              parameter_from_yaml("clock_mhz", {"low": 50, "high": 400, "log": True}),
              parameter_from_yaml("pe.kind", ["krp_gsnq", "gsnq_shift", "mult_lut"]))
    for sampler in (random, latin_hypercube):
        first, again = sampler(params, 50, 7), sampler(params, 50, 7)
        assert first == again and first != sampler(params, 50, 8)
        for values in first:
            tn, clock, kind = (v for _, v in values)
            assert tn in range(2, 31, 4) and 50 <= clock <= 400 and kind in {"krp_gsnq", "gsnq_shift", "mult_lut"}


def test_lhs_uses_every_stratum_once():
    n = 40
    param = (parameter_from_yaml("clock_mhz", {"low": 100, "high": 500}),)
    values = sorted(v[0][1] for v in latin_hypercube(param, n, 3))
    strata = [int((value - 100) / (400 / n)) for value in values]
    assert strata == list(range(n))


def test_grid_over_int_range_defaults_to_step_one():
    assert grid((parameter_from_yaml("pe.tm", {"low": 3, "high": 6}),)) == [(("pe.tm", v),) for v in (3, 4, 5, 6)]


@pytest.mark.parametrize("name", ["bandwidth", "array", "smoke"])
def test_bundled_sweep_specs_load(name):
    folder = Path(__file__).resolve().parent.parent / "accelsim" / "configs" / "sweeps"
    loaded = load_spec(folder / f"{name}.yaml")
    points = design_points(loaded)
    assert loaded.name == name and points
    assert len({point.point_id for point in points}) == len(points)
