"""The script API: evaluate() and vary()."""

from __future__ import annotations

import pytest

from accelsim.dse import METRICS, evaluate, vary
from accelsim.errors import ConfigError
from accelsim.hw import estimate_resources, fits, load_config
from accelsim.sim import simulate
from accelsim.sim.synthetic import resnet_shapes


def test_evaluate_is_the_simulation_plus_the_resource_model():
    network, config = resnet_shapes(1), load_config("default").replace(**{"pe.tn": 16})
    result = evaluate(network, config)
    direct = simulate(network, config, keep_trace=False)
    assert result.simulation == direct and result.layers == direct.layers
    assert result.resources == estimate_resources(config)
    metrics = result.metrics()
    assert list(metrics) == list(METRICS)
    assert metrics["total_cycles"] == direct.total_cycles
    assert metrics["stall_cycles"] == sum(layer.stall_cycles for layer in direct.layers)
    assert metrics["lut"] == estimate_resources(config).total.lut
    assert metrics["ddr_gbps"] == pytest.approx(8 * 200 / 1000)
    assert metrics["device_usage"] == max(fits(config).usage.values())
    assert result.to_dict()["resources"]["pe_unit"] == estimate_resources(config).pe_unit.as_dict()
    assert evaluate(network, config, keep_trace=True).simulation.trace == simulate(network, config).trace


def test_vary_makes_one_checked_config_per_value():
    base = load_config("default")
    configs = vary(base, "pe.kind", ["mult_dsp", "krp_gsnq"])
    assert [c.pe.kind.value for c in configs] == ["mult_dsp", "krp_gsnq"]
    assert configs[0].replace(**{"pe.kind": "krp_gsnq"}) == configs[1] == base
    with pytest.raises(ConfigError, match=r"did you mean 'pe.tn'\?"):
        vary(base, "pe.tnn", [1])
    with pytest.raises(ConfigError, match=r"^ddr.bytes_per_cycle must be an integer from 1 to 4096, not 0$"):
        vary(base, "ddr.bytes_per_cycle", [8, 0])
