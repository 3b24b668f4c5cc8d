"""Parallelism gain: the largest array of each PE kind within a budget, and its latency."""

from __future__ import annotations

import dataclasses

import pytest

from accelsim.errors import ConfigError
from accelsim.hw import PeKind, fits, load_config
from accelsim.sim import NetworkBuilder, simulate
from accelsim.sim.gain import TM_CHOICES, logic_budget, max_units, parallelism_gain


@pytest.mark.parametrize("scope", ["pe_array", "total"])
def test_max_units_is_the_budget_boundary(scope):
    config = load_config().replace(**{"pe.tm": 2})
    budget = logic_budget(0.3 if scope == "pe_array" else 0.9)
    for kind in PeKind:
        tn, limiting = max_units(config, kind, budget, config.device_profile, scope)
        at = dataclasses.replace(config, pe=dataclasses.replace(config.pe, kind=kind, tn=tn))
        above = dataclasses.replace(at, pe=dataclasses.replace(at.pe, tn=2 * tn))  # tn: powers of two
        assert tn >= 1, kind
        assert fits(at, budget=budget, scope=scope).fits and not fits(above, budget=budget, scope=scope).fits
        assert limiting == fits(above, budget=budget, scope=scope).limiting
    # DSP48 bound of kind 1's array: 30% of 900 DSPs = 270, 2 units x 9 taps per row: tn <= 15,
    # the largest power of two 8.
    assert max_units(config, PeKind.MULT_DSP, logic_budget(0.3), config.device_profile) == (8, "dsp")


def test_the_whole_accelerator_leaves_less_room_than_the_array_alone():
    config = load_config()
    for kind in PeKind:
        array, array_limit = max_units(config, kind, logic_budget(0.5), config.device_profile, "pe_array")
        total, _ = max_units(config, kind, logic_budget(0.5), config.device_profile, "total")
        # the LUT-bound kinds lose room to the buffers, DMA and control; kind 1 is bound by its DSP48s
        # either way (the requantization lanes' two each do not cross the next power of two)
        assert total < array if array_limit == "lut" else total <= array, kind


def test_krp_units_fit_most_and_run_fastest():
    builder = NetworkBuilder((16, 16, 16))
    for _ in range(3):
        builder.conv(64)
    network = builder.build()
    rows = {row.kind: row for row in parallelism_gain(network, load_config(), budget=0.5)}
    assert rows[PeKind.KRP_GSNQ].units >= 2 * rows[PeKind.GSNQ_SHIFT].units  # tn: powers of two
    assert rows[PeKind.KRP_GSNQ].cycles < rows[PeKind.GSNQ_SHIFT].cycles
    slowest = max(row.cycles for row in rows.values())
    for row in rows.values():
        assert row.speedup == pytest.approx(slowest / row.cycles)
        pe = dataclasses.replace(load_config().pe, kind=row.kind, tn=row.tn, tm=row.tm)
        sized = dataclasses.replace(load_config(), pe=pe)
        assert fits(sized, budget=logic_budget(0.5), scope="pe_array").fits
        assert simulate(network, sized, keep_trace=False).total_cycles == row.cycles
        # no other tm choice with its largest tn is faster
        for tm in TM_CHOICES:
            shaped = dataclasses.replace(sized, pe=dataclasses.replace(pe, tm=tm, tn=1))
            tn, _ = max_units(shaped, row.kind, logic_budget(0.5), shaped.device_profile)
            if tn:
                other = dataclasses.replace(shaped, pe=dataclasses.replace(shaped.pe, tn=tn))
                assert simulate(network, other, keep_trace=False).total_cycles >= row.cycles


def test_budget_must_be_a_fraction_and_the_scope_a_part():
    with pytest.raises(ConfigError, match=r"^budget must be a fraction in \(0, 1\], not 1.5$"):
        logic_budget(1.5)
    with pytest.raises(ConfigError, match=r"^scope must be one of total, pe_array, not 'array'$"):
        fits(load_config(), scope="array")
