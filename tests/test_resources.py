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
    ARRAY_TAG_BITS,
    DIM_BITS,
    INFRASTRUCTURE_PARTS,
    OFFSET_BITS,
    REQUANT_MULTIPLIER_BITS,
    Resources,
    adder,
    array_row,
    buffer_memories,
    core_shape,
    declared_ff,
    infrastructure_key,
    measured,
    multiplier_dsps,
    pe_array,
    pe_unit,
    pe_widths,
    product_bits_of,
    requant_lane,
    require_fits,
    unit_taps,
)
from accelsim.synth.calibrate import GROUP_TAPS


def shaped(kind: PeKind, tn: int = 8, tm: int = 4, weight_bits: int = 4, **changes: object) -> HwConfig:
    """The default configuration with another PE array (no fit check)."""
    base = HwConfig()
    return dataclasses.replace(base, pe=dataclasses.replace(base.pe, kind=kind, tn=tn, tm=tm),
                               weight_bits=weight_bits, **changes)


def test_dsp_rule_reproduces_every_dsp_count_yosys_measured():
    # the calibration table holds Yosys's DSP48 counts of every tap and requantization lane it
    # synthesized; the model's mul2dsp rule (25 x 18, 18-bit partials, >= 9-bit products) must agree
    for (a, w), (_, _, _, dsp) in calibration.PARTS["tap_mult_dsp"].items():
        product = product_bits_of(PeKind.MULT_DSP, a, w)
        assert multiplier_dsps(a, w, product) == dsp, (a, w)
    for (acc, _), (_, _, _, dsp) in calibration.PARTS["requant"].items():
        assert multiplier_dsps(acc, REQUANT_MULTIPLIER_BITS, acc + REQUANT_MULTIPLIER_BITS) == dsp, acc
    for part in ("tap_shift", "tap_mult_lut", "requant_lut"):
        assert all(entry[3] == 0 for entry in calibration.PARTS[part].values()), part
    assert multiplier_dsps(4, 4, 8) == 0  # under 9 product bits: LUTs
    assert multiplier_dsps(25, 18, 43) == 1 and multiplier_dsps(26, 18, 44) == 2
    # a mult_lut core is synthesized without DSP48s: its requantization multipliers are LUTs too
    assert requant_lane(shaped(PeKind.MULT_LUT)).dsp == 0 and requant_lane(shaped(PeKind.KRP_GSNQ)).dsp == 2


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
    low, high = grid[(8, 14)][0], grid[(8, 18)][0]
    assert low < measured("sum", 8, 16)[0] < high
    assert grid[(4, 18)][0] < measured("sum", 6, 18)[0] < grid[(8, 18)][0]


def test_taps_are_read_beside_their_tree_at_tap_counts_no_unit_has():
    # the validated units have 3 (KRP) or 9 (dense) taps: the groups are measured at other counts
    for part in ("group_shift", "group_mult_lut"):
        assert {key[2] for key in calibration.PARTS[part]} == set(GROUP_TAPS)
    assert not {3, 9} & set(GROUP_TAPS)
    # at a measured group, the unit's taps are the group less the adder tree measured alone
    base = HwConfig()  # a dense 4 x 4 kernel: 16 taps
    config = dataclasses.replace(base, pe=dataclasses.replace(base.pe, kind=PeKind.GSNQ_SHIFT, kernel_max=4),
                                 weight_bits=3)
    group = calibration.PARTS["group_shift"][(8, 3, 16)][0]
    assert unit_taps(config).lut == round(group - measured("sum_neg", 16, product_bits_of(PeKind.GSNQ_SHIFT, 8, 3))[0])
    # beside a tree, taps take fewer LUTs than alone (ABC recovers area off the deepest path)
    nine = shaped(PeKind.MULT_LUT)
    assert unit_taps(nine).lut < 9 * calibration.PARTS["tap_mult_lut"][(8, 4)][0]


def test_unit_registers_follow_the_rtl():
    # pe_unit.v registers each tap's activation and code, its product (and a shift tap's negation
    # bit: a multiplier's is a constant 0), then the sum; Yosys measured exactly these counts
    assert pe_unit(shaped(PeKind.KRP_GSNQ)).ff == 3 * (8 + 4 + 17) + 3 + 19 == 109
    assert pe_unit(shaped(PeKind.GSNQ_SHIFT, weight_bits=3)).ff == 9 * (8 + 3 + 13) + 9 + 17 == 242
    assert pe_unit(shaped(PeKind.MULT_LUT)).ff == 9 * (8 + 4 + 12) + 16 == 232
    for kind, taps in ((PeKind.KRP_GSNQ, 3), (PeKind.GSNQ_SHIFT, 9), (PeKind.MULT_LUT, 9), (PeKind.MULT_DSP, 9)):
        assert pe_widths(shaped(kind)).taps == taps
    # DSP units: operands, codes and products are the DSP48s' A, B and M registers; the adder tree
    # of nine 12-bit products is in the fabric (pe_tree keeps its module), its sum in 16 flip-flops
    dsp_unit = pe_unit(shaped(PeKind.MULT_DSP))
    assert (dsp_unit.dsp, dsp_unit.lut, dsp_unit.ff) == (9, adder(9, 12).lut, 16)


def test_array_is_units_plus_rows_plus_control_with_shared_dense_operands():
    config = shaped(PeKind.KRP_GSNQ, tn=8, tm=4)
    twice = shaped(PeKind.KRP_GSNQ, tn=16, tm=4)
    unit, row, array, wide = pe_unit(config), array_row(config), pe_array(config), pe_array(twice)
    # doubling tn adds 32 units and 8 rows; the control pipeline is shared
    assert wide.lut - array.lut == 32 * unit.lut + 8 * row.lut
    # column sum 21 bits, accumulator 32 (the sums leave unregistered: the datapath registers them)
    assert wide.ff - array.ff == 32 * unit.ff + 8 * (21 + 32)
    assert array.ff == 32 * 109 + 8 * (21 + 32) + 4 == 3916  # what Yosys counts (validation report)
    # a dense column's tn units register the same window: Yosys keeps one register (8 x 4 gsnq_shift: 7740)
    dense = shaped(PeKind.GSNQ_SHIFT)
    assert pe_array(dense).ff == 32 * 291 - 7 * 4 * 9 * 8 + 8 * (23 + 32) + 4 == 7740
    assert array.dsp == 0 and pe_array(shaped(PeKind.MULT_DSP)).dsp == 288


def test_paper_claim_krp_unit_needs_well_under_half_the_luts_of_the_dense_shift_unit():
    for w in (3, 4):
        ratio = pe_unit(shaped(PeKind.KRP_GSNQ, weight_bits=w)).lut / pe_unit(shaped(PeKind.GSNQ_SHIFT, weight_bits=w)).lut
        assert 0.25 < ratio < 0.45


def test_core_shape_is_the_rtls():
    from accelsim.rtl import params

    assert (DIM_BITS, OFFSET_BITS) == (params.DIM_BITS, params.OFFSET_BITS)
    assert ARRAY_TAG_BITS == 2 * params.DIM_BITS + 1
    rtl_parameters = params.rtl_parameters
    for changes in ({}, {"pe.tn": 16, "pe.tm": 8}, {"pe.tm": 16, "ddr.bytes_per_cycle": 32}, {"weight_bits": 3, "pe.tm": 1},
                    {"pe.kind": "gsnq_shift", "ddr.bytes_per_cycle": 1}, {"buffers.weight_depth": 100, "ddr.bytes_per_cycle": 128}):
        config = load_config().replace(**changes)
        shape, rtl = core_shape(config), rtl_parameters(config)
        assert (shape.copies, shape.word, shape.weight_lanes, shape.param_lanes, shape.out_rams) == (
            rtl.copies, rtl.in_word, rtl.w_lanes, rtl.p_lanes, rtl.out_rams)
        assert shape.in_addr_bits == (2 * rtl.in_half - 1).bit_length()
        assert shape.out_row_bits == (2 * rtl.out_half - 1).bit_length()


def test_infrastructure_parts_are_read_at_their_structural_key():
    config = load_config()
    # the input buffer's run extraction: 3 copies x 96 delivered bits x 4 shifter stages (16 starts)
    assert infrastructure_key(config, "input_buffer_logic") == (3 * 96 * 4, 64)
    assert infrastructure_key(config, "controller") == (8, 64)
    # declared flip-flops: the weight buffer's parameter lanes (8 beats of 64 bits, both halves), the
    # datapath's operand registers (4 windows of 9 x 8 bits, 32 items of 14 bits), lanes and addresses
    assert declared_ff(config, "weight_buffer_logic") == 2 * 8 * 64
    assert declared_ff(config, "datapath_logic") == 4 * 72 + 32 * 14 + 8 * (2 + 2 + 1) + 5 * 16 + 24
    assert all(declared_ff(config, part) >= 0 for part in INFRASTRUCTURE_PARTS)


def test_default_buffers_are_block_ram_as_the_rtl_builds_them():
    groups = {group.name: group for group in buffer_memories(load_config())}
    # input: 3 copies x 2 RAMs of 32-byte words x 512 rows (8 RAMB36 each in 512 x 72 mode);
    # weight: one RAM of 7 beats (448 bits) x 1024 words; output: one RAM of 64 bits x 2048 rows
    assert (groups["input"].count, groups["weight"].count, groups["output"].count) == (6, 1, 1)
    assert [groups[name].mapping.bram18 // 2 for name in ("input", "weight", "output")] == [8, 14, 4]
    assert estimate_resources(load_config()).buffers.bram36 == 66  # what Yosys counts (validation report)


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
    config = shaped(PeKind.MULT_LUT, tn=32, tm=8)  # 256 units of 9 LUT multipliers: 1.7x the LUTs
    report = fits(config)
    assert not report.fits and report.limiting == "lut"
    require_fits(config, "config 'x'")  # LUTs depend on the implementation: reported, not rejected
    too_many_dsps = shaped(PeKind.MULT_DSP, tn=32, tm=4)  # 128 units x 9 DSP48s > 900
    with pytest.raises(ConfigError) as caught:
        require_fits(too_many_dsps, "config 'x'")
    assert str(caught.value).startswith("the design of config 'x' must fit device 'xc7z035': it needs ")
    assert "DSP but the device has 900; reduce pe.tn or pe.tm" in str(caught.value)
    assert isinstance(caught.value, AccelsimError)
    too_much_bram = shaped(PeKind.KRP_GSNQ, buffers=dataclasses.replace(HwConfig().buffers, input_bytes=1 << 22))
    with pytest.raises(ConfigError, match=r"BRAM36 but the device has 500; reduce the buffers or pe\.tn$"):
        require_fits(too_much_bram)


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"^device must be one of 'xc7z035', 'xczu9eg' \(or a YAML file\), not 'xc9'$"):
        load_device("xc9")


def test_resources_add_and_scale_and_report_bram_in_tiles():
    part = Resources(lut=3, ff=2, dsp=1, bram18=1, carry=1)
    assert part * 3 + part == Resources(12, 8, 4, 4, 4)
    assert (part * 3).as_dict() == {"lut": 9, "ff": 6, "dsp": 3, "bram36": 1.5, "carry": 3}


@pytest.mark.parametrize("design", ["array", "core"])
def test_the_array_and_core_keep_the_column_trees_whole_and_flatten_the_units(design):
    # the column trees are mapped by themselves (the model's `sum` part measures them so): the
    # script keeps every module's hierarchy but the units' and taps'
    from accelsim.synth.targets import ARRAY_INLINE, synth_target
    from accelsim.synth.yosys import synth_script

    target = synth_target(shaped(PeKind.KRP_GSNQ, tn=2, tm=16, weight_bits=4), design)
    files = target.files()
    assert "pe_column.v" in [path.name for path in files]
    assert (target.flatten, target.inline) == (False, ARRAY_INLINE) and "pe_column" not in ARRAY_INLINE
    assert "setattr -mod -set keep_hierarchy 1 * *pe_unit %d *pe_tap %d *pe_tree %d" in synth_script(target, "xc7", files)


@pytest.mark.parametrize("design", ["unit", "array", "core"])
def test_a_dsp_design_keeps_its_unit_trees_in_their_own_module(design):
    # flattened with its DSP48 taps, a unit's tree would become their post-adder cascade: the DSP
    # kind keeps pe_tree's hierarchy (the fabric kinds flatten it, a unit entirely)
    from accelsim.synth.targets import synth_target
    from accelsim.synth.yosys import synth_script

    dsp = synth_target(shaped(PeKind.MULT_DSP), design)
    script = synth_script(dsp, "xc7", dsp.files())
    assert not dsp.flatten and "pe_tree" not in dsp.inline and "pe_tap" in dsp.inline
    assert "setattr -mod -set keep_hierarchy 1 * " in script and "*pe_tree %d" not in script
    shift = synth_target(shaped(PeKind.GSNQ_SHIFT), design)
    assert shift.flatten if design == "unit" else "pe_tree" in shift.inline


@pytest.mark.yosys
@pytest.mark.parametrize("kind", list(PeKind))
def test_model_of_a_small_array_agrees_with_yosys(kind, tmp_path, monkeypatch):
    # a 2 x 2 array at 3-bit weights is in no calibration grid: the model composes taps, sums,
    # registers and the DSP rule, Yosys synthesizes the RTL (units and taps flattened into the
    # array, each column tree mapped by itself, and a DSP array's unit trees too: flattened, their
    # DSP48 cascade would leave 0 LUT and no sum flip-flops, and this would fail)
    from accelsim.synth import Yosys
    from accelsim.synth.targets import Design, synth_target

    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    config = shaped(kind, tn=2, tm=2, weight_bits=3)
    synthesis = Yosys().synthesize(synth_target(config, Design.ARRAY))
    model = pe_array(config)
    assert (model.ff, model.dsp, model.bram36) == (synthesis.ff, synthesis.dsp, synthesis.bram36)
    assert abs(model.lut - synthesis.lut) <= 0.10 * synthesis.lut, (model.lut, synthesis.lut)


@pytest.mark.parametrize("kind", list(PeKind))
def test_the_estimate_does_not_depend_on_the_ddr_latency(kind):
    # estimate_resources computes once per configuration less its DDR latency: the model itself
    # (uncached) gives every latency the same resources
    from accelsim.hw.resources import _estimate

    config = shaped(kind, tn=4, tm=2, weight_bits=4)
    estimates = {_estimate.__wrapped__(config.replace(**{"ddr.latency_cycles": latency}))
                 for latency in (0, 1, 30, 4000)}
    assert len(estimates) == 1 and estimate_resources(config) in estimates
