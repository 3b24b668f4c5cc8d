"""The analytical resource model (accelsim.hw.resources, accelsim.hw.memories): its rules and its fit."""

from __future__ import annotations

import dataclasses

import pytest

from accelsim.errors import AccelsimError, ConfigError
from accelsim.hw import (
    HwConfig,
    PeKind,
    calibration,
    estimate_resources,
    fits,
    load_config,
    load_device,
)
from accelsim.hw.memories import Memory, map_memory
from accelsim.hw.resources import (
    REQUANT_MULTIPLIER_BITS,
    Resources,
    array_row,
    buffer_layout,
    buffer_memories,
    measured,
    multiplier_dsps,
    pe_array,
    pe_unit,
    pe_widths,
    product_bits_of,
    require_fits,
)


def shaped(kind: PeKind, tn: int = 8, tm: int = 4, weight_bits: int = 4, **changes: object) -> HwConfig:
    """The default configuration with another PE array (no fit check)."""
    base = HwConfig()
    return dataclasses.replace(base, pe=dataclasses.replace(base.pe, kind=kind, tn=tn, tm=tm),
                               weight_bits=weight_bits, **changes)


def test_dsp_rule_reproduces_every_dsp_count_yosys_measured():
    # the calibration table holds Yosys's DSP48 counts of every tap and requantization lane it
    # synthesized; the model's mul2dsp rule (25 x 18, 18-bit partials, >= 9-bit products) must agree
    taps = calibration.PARTS["tap_mult_dsp"]
    for (a, w), (_, _, _, dsp) in taps.items():
        product = product_bits_of(a, w)
        assert multiplier_dsps(a, product - a + 1, product) == dsp, (a, w)
    for (acc, _), (_, _, _, dsp) in calibration.PARTS["requant"].items():
        assert multiplier_dsps(acc, REQUANT_MULTIPLIER_BITS, acc + REQUANT_MULTIPLIER_BITS) == dsp, acc
    assert all(entry[3] == 0 for entry in calibration.PARTS["tap_shift"].values())
    assert all(entry[3] == 0 for entry in calibration.PARTS["tap_mult_lut"].values())
    assert multiplier_dsps(4, 4, 7) == 0  # under 9 product bits: LUTs
    assert multiplier_dsps(25, 18, 43) == 1 and multiplier_dsps(26, 18, 44) == 2


# (item bits, items, depth) -> what Yosys 0.23 built (synth_xilinx -family xc7, sdp_ram.v)
MEASURED_MEMORIES = {
    (8, 1, 4096): ("RAMB36", 1), (8, 1, 2048): ("RAMB18", 1), (8, 1, 1024): ("RAMB18", 1),
    (8, 1, 512): ("RAMB18", 1), (8, 1, 256): ("RAM64M", 12), (8, 1, 64): ("RAM64M", 3),
    (64, 1, 256): ("RAMB36", 1), (8, 8, 256): ("RAMB36", 1), (14, 4, 128): ("RAMB36", 1),
    (56, 1, 1024): ("RAMB36", 2), (16, 1, 2048): ("RAMB36", 1), (32, 1, 2048): ("RAMB36", 2),
    (72, 1, 512): ("RAMB36", 1), (8, 2, 8192): ("RAMB36", 4), (24, 1, 2048): ("RAMB18", 3),
    (112, 1, 1024): ("RAMB18", 7),
}


@pytest.mark.parametrize("shape", sorted(MEASURED_MEMORIES))
def test_memory_mapping_matches_yosys(shape):
    item_bits, items, depth = shape
    cell, count = MEASURED_MEMORIES[shape]
    mapping = map_memory(Memory(item_bits * items, depth, items))
    halves = {"RAMB36": 2 * count, "RAMB18": count}.get(cell, 0)
    assert mapping.bram18 == halves
    if cell == "RAM64M":
        assert mapping.primitive == "lutram" and mapping.cells == count


def test_memory_needs_a_consistent_shape():
    with pytest.raises(ConfigError, match=r"width a multiple of the item count, not width 10, depth 4, items 3"):
        Memory(10, 4, 3)


def test_interpolation_is_exact_on_the_grid_and_between_neighbours_off_it():
    grid = calibration.PARTS["sum"]
    for (n, p), (lut, ff, carry, dsp) in grid.items():
        assert measured("sum", n, p) == pytest.approx((lut, ff, carry, dsp))
    low, high = grid[(8, 16)][0], grid[(8, 23)][0]
    assert low < measured("sum", 8, 20)[0] < high
    assert grid[(4, 16)][0] < measured("sum", 6, 16)[0] < grid[(8, 16)][0]


def test_unit_registers_follow_the_rtl():
    # shift units: every tap product registered, then the unit sum (pe_unit.v)
    for kind, taps in ((PeKind.KRP_GSNQ, 3), (PeKind.GSNQ_SHIFT, 9), (PeKind.MULT_LUT, 9)):
        for w in (3, 4):
            config = shaped(kind, weight_bits=w)
            widths = pe_widths(config)
            assert widths.taps == taps
            assert pe_unit(config).ff == taps * widths.product + widths.unit_sum
    # DSP units: products and the sum chain live in the DSP48s (cascade), no fabric flip-flops
    dsp_unit = pe_unit(shaped(PeKind.MULT_DSP))
    assert (dsp_unit.dsp, dsp_unit.ff) == (9, 0)


def test_array_is_units_plus_rows_plus_control():
    config = shaped(PeKind.KRP_GSNQ, tn=8, tm=4)
    twice = shaped(PeKind.KRP_GSNQ, tn=16, tm=4)
    unit, row, array, wide = pe_unit(config), array_row(config), pe_array(config), pe_array(twice)
    # doubling tn adds 32 units and 8 rows; the control pipeline is shared
    assert wide.lut - array.lut == 32 * unit.lut + 8 * row.lut
    assert wide.ff - array.ff == 32 * unit.ff + 8 * (27 + 2 * 32)  # column sum 27 bits; accumulator, output
    assert array.dsp == 0 and pe_array(shaped(PeKind.MULT_DSP)).dsp == 288


def test_paper_claim_krp_unit_needs_well_under_half_the_luts_of_the_dense_shift_unit():
    for w in (3, 4):
        ratio = pe_unit(shaped(PeKind.KRP_GSNQ, weight_bits=w)).lut / pe_unit(shaped(PeKind.GSNQ_SHIFT, weight_bits=w)).lut
        assert 0.25 < ratio < 0.4


def test_buffer_layout_is_the_rtls():
    from accelsim.rtl.params import rtl_parameters

    for changes in ({}, {"pe.tn": 3, "pe.tm": 5, "ddr.bytes_per_cycle": 3, "ddr.burst_bytes": 2046}, {"weight_bits": 3, "pe.tm": 1},
                    {"buffers.input_depth": 1000, "buffers.weight_depth": 100, "ddr.bytes_per_cycle": 16}):
        config = load_config().replace(**changes)
        layout, rtl = buffer_layout(config), rtl_parameters(config)
        assert (layout.slots, layout.lanes, layout.interleave) == (rtl.in_slots, rtl.w_lanes, rtl.w_interleave)
        assert (layout.in_half, layout.w_half, layout.out_half) == (rtl.in_half, rtl.w_half, rtl.out_half)


def test_default_buffers_are_block_ram_as_the_rtl_builds_them():
    groups = {group.name: group for group in buffer_memories(load_config())}
    # input: 36 banks x 2 RAMs of 8 activations x 256 words; weight: 8 rows x 8 RAMs of 4 items x
    # 128 words; output: 8 channels x 2 RAMs of 8 activations x 128 words: one RAMB36 each
    assert (groups["input"].count, groups["weight"].count, groups["output"].count) == (72, 64, 16)
    assert all(group.mapping.bram18 == 2 for group in groups.values())
    assert estimate_resources(load_config()).buffers.bram36 == 152


def test_fit_report_names_need_usage_and_the_limiting_resource():
    config = shaped(PeKind.MULT_DSP)
    logic = {"lut": 0.3, "ff": 0.3, "dsp": 0.3, "bram36": 1.0}
    report = fits(config, budget=logic, scope="pe_array")
    total = estimate_resources(config).pe_array
    assert report.limiting == "dsp" and not report.fits
    assert report.need["dsp"] == total.dsp and report.usage["dsp"] == pytest.approx(total.dsp / 900)
    assert report.to_dict()["resources"]["dsp"] == {"need": total.dsp, "have": 900,
                                                    "usage": report.usage["dsp"], "budget": 0.3}
    assert fits(config, budget=0.6, scope="pe_array").fits
    with pytest.raises(ConfigError, match=r"^budget resource must be one of lut, ff, dsp, bram36, not 'uram'$"):
        fits(config, budget={"uram": 0.5})
    with pytest.raises(ConfigError, match=r"^budget of lut must be a non-negative fraction, not -0.1$"):
        fits(config, budget={"lut": -0.1})


def test_too_many_luts_is_reported_too_many_dsps_is_rejected():
    config = shaped(PeKind.MULT_LUT)  # 288 LUT multipliers of 8 x 16 bits
    report = fits(config)
    assert not report.fits and report.limiting == "lut"
    require_fits(config, "config 'x'")  # LUTs depend on the implementation: reported, not rejected
    too_many_dsps = shaped(PeKind.MULT_DSP, tn=40, tm=4)  # 160 units x 9 DSP48s > 900
    with pytest.raises(ConfigError) as caught:
        require_fits(too_many_dsps, "config 'x'")
    assert str(caught.value).startswith("the design of config 'x' must fit device 'xc7z035': it needs ")
    assert "DSP but the device has 900; reduce pe.tn or pe.tm" in str(caught.value)
    assert isinstance(caught.value, AccelsimError)
    too_much_bram = shaped(PeKind.KRP_GSNQ, buffers=dataclasses.replace(HwConfig().buffers, input_depth=1 << 16))
    with pytest.raises(ConfigError, match=r"BRAM36 but the device has 500; reduce buffers\.\*_depth or pe\.tn$"):
        require_fits(too_much_bram)


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"^device must be one of 'xc7z035', 'xczu9eg' \(or a YAML file\), not 'xc9'$"):
        load_device("xc9")


def test_resources_add_and_scale_and_report_bram_in_tiles():
    part = Resources(lut=3, ff=2, dsp=1, bram18=1, carry=1)
    assert part * 3 + part == Resources(12, 8, 4, 4, 4)
    assert (part * 3).as_dict() == {"lut": 9, "ff": 6, "dsp": 3, "bram36": 1.5, "carry": 3}


@pytest.mark.yosys
@pytest.mark.parametrize("kind", list(PeKind))
def test_model_of_a_small_array_agrees_with_yosys(kind, tmp_path, monkeypatch):
    # a 2 x 2 array at 3-bit weights is in no calibration grid: the model composes taps, sums,
    # registers and the DSP rule, Yosys synthesizes the RTL whole (flattened)
    from accelsim.synth import Yosys
    from accelsim.synth.targets import Design, synth_target

    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    config = shaped(kind, tn=2, tm=2, weight_bits=3)
    synthesis = Yosys().synthesize(synth_target(config, Design.ARRAY))
    model = pe_array(config)
    assert (model.ff, model.dsp, model.bram36) == (synthesis.ff, synthesis.dsp, synthesis.bram36)
    assert abs(model.lut - synthesis.lut) <= 0.10 * synthesis.lut, (model.lut, synthesis.lut)
