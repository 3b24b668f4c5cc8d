"""What the RTL reads from DDR: channel blocks, codes, step words, descriptors, and the checks
that reject what the RTL cannot run (no Verilator needed). Every expectation is decoded here,
independently of the encoders, from docs/microarchitecture.md section 2 and docs/rtl.md."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.errors import ConfigError, UnsupportedLayerError
from accelsim.hw import load_config
from accelsim.integer.graph import PoolKind, Requant, WeightFormat
from accelsim.rtl.check import first_divergence, first_mismatch, parse_trace
from accelsim.rtl.emit import layer_run
from accelsim.rtl.images import (
    DESCRIPTOR_FIELDS,
    Mode,
    ddr_columns,
    from_blocks,
    gsnq_codes,
    layer_codes,
    pe_descriptor,
    pe_view,
    to_blocks,
    uniform_codes,
    vector_descriptor,
    vector_param_image,
    vector_view,
    weight_image,
)
from accelsim.rtl.params import RTL_MIN_PIPELINE_DEPTH, rtl_parameters
from accelsim.sim import NetworkBuilder
from accelsim.sim.plan import plan_network


def decode(code: int, n_pos: int, off_pos: int, off_neg: int, shift_bits: int) -> int:
    """The code -> weight rule of pe_tap.v, written independently of the encoder."""
    if code == 0:
        return 0
    mask = (1 << shift_bits) - 1
    if code <= n_pos:
        return 1 << ((code + off_pos) & mask)
    return -(1 << ((code + off_neg) & mask))


def small_config(**changes):
    base = {
        "pe.tn": 2,
        "pe.tm": 2,
        "ddr.latency_cycles": 2,
        "ddr.bytes_per_cycle": 4,
        "ddr.burst_bytes": 16,
    }
    return load_config("default").replace(**{**base, **changes})


def test_maps_lie_in_channel_blocks_row_major():
    tensor = np.arange(3 * 2 * 2).reshape(3, 2, 2)  # channels 0-2, rows 0-1, columns 0-1
    data = to_blocks(tensor, 2)
    # row 0: block 0 (channels 0, 1) columns 0, 1; block 1 (channel 2, zero); then row 1
    assert list(data) == [0, 4, 1, 5, 8, 0, 9, 0, 2, 6, 3, 7, 10, 0, 11, 0]
    assert np.array_equal(from_blocks(np.frombuffer(data, np.uint8), (3, 2, 2), 2), tensor)
    vector = np.arange(-5, 0)
    assert list(np.frombuffer(to_blocks(vector, 4), np.int8)) == [-5, -4, -3, -2, -1, 0, 0, 0]
    # a flatten's map in DDR order: feature index of each DDR activation, -1 for padding
    assert ddr_columns((3, 2, 2), 2).tolist() == [0, 4, 1, 5, 8, -1, 9, -1, 2, 6, 3, 7, 10, -1, 11, -1]


def test_gsnq_codes_round_trip_with_sign_based_ranges():
    params = rtl_parameters(small_config())
    weights = np.array([0, 4, 8, 32, -1, -2, -16, 0, 4, -16])
    codes = gsnq_codes("layer", weights, params)
    assert codes.n_pos == 4 and codes.codes.max() <= 15
    decoded = [decode(int(c), codes.n_pos, codes.off_pos, codes.off_neg, params.shift_bits) for c in codes.codes]
    assert decoded == weights.tolist()


def test_gsnq_codes_reject_levels_the_shifters_cannot_reach():
    params = rtl_parameters(small_config())
    too_many = np.array([1 << s for s in range(9)] + [-(1 << s) for s in range(8)])
    with pytest.raises(UnsupportedLayerError, match=r"\(9 positive and 8 negative powers of two, shifts up to 8; "
                                                    r"4-bit shifters cover shifts up to 8\), not 4"):
        gsnq_codes("x", too_many, params)
    with pytest.raises(UnsupportedLayerError, match=r"shifts up to 9; 4-bit shifters cover shifts up to 8"):
        gsnq_codes("x", np.array([1, 512, -2]), params)
    with pytest.raises(UnsupportedLayerError, match=r"'x' weights must be 0 or \+-2\^s for the krp_gsnq RTL"):
        gsnq_codes("x", np.array([3]), params)


def test_uniform_codes_are_the_weights_in_twos_complement():
    params = rtl_parameters(small_config(**{"pe.kind": "mult_lut"}))
    codes = uniform_codes("x", np.array([-7, -1, 0, 3, 7]), params)
    assert codes.codes.tolist() == [9, 15, 0, 3, 7]
    assert layer_codes("x", np.array([-7, 7]), params).codes.tolist() == [9, 7]
    with pytest.raises(UnsupportedLayerError, match=r"'x' weights must be uniform 4-bit codes \(-7 .. 7\) for the "
                                                    r"mult_lut RTL, not up to 8"):
        uniform_codes("x", np.array([8]), params)


@pytest.mark.parametrize("kind, wrong", [("mult_lut", "gsnq"), ("mult_dsp", "gsnq"),
                                         ("krp_gsnq", "uniform"), ("gsnq_shift", "uniform")])
def test_a_weight_format_the_pe_kind_does_not_apply_is_refused(kind, wrong):
    # one check, the binding's, shared with the simulator (plan.check_weight_format)
    builder = NetworkBuilder((2, 6, 6), seed=1, name="x", weights=WeightFormat(wrong))
    builder.conv(2, kernel=1, name="conv")
    right = "uniform" if wrong == "gsnq" else "gsnq"
    with pytest.raises(ConfigError, match=rf"^pe.kind must apply the {wrong} weights of network 'x' \(layer 'conv'\), "
                                          rf"not '{kind}', which applies {right} weights: .* --weights {right}$"):
        layer_run(builder.build(), small_config(**{"pe.kind": kind}), {"conv": (np.zeros(72, np.int8),)})


def step_words(image: bytes, config, kernel: int, steps: int) -> tuple[list[int], bytes]:
    """The step words of the first channel group of a weight image as integers, and the rest."""
    tn, tm, beat = config.pe.tn, config.pe.tm, config.ddr.bytes_per_cycle
    item = config.weight_bits if kernel == 1 else 3 * config.weight_bits + 2
    word_bytes = -(-(tn * tm * item) // (8 * beat)) * beat
    words = [int.from_bytes(image[s * word_bytes:(s + 1) * word_bytes], "little") for s in range(steps)]
    return words, image[steps * word_bytes:]


def test_krp_step_words_hold_each_units_kept_row_and_its_index():
    builder = NetworkBuilder((3, 4, 4), seed=3)
    builder.conv(5, kernel=3, rows_kept=1, name="conv")
    network = builder.build()
    config = small_config()  # tn = tm = 2, 4-byte beats
    params = rtl_parameters(config)
    layer = network.layers[0]
    view = pe_view(layer, (3, 4, 4), params.tn)
    codes = gsnq_codes("conv", view.weights, params)
    image = weight_image(view, config, params, codes)
    plan = plan_network(network, config).layers[0]
    # 3 channel groups (5 outputs / tn 2) of 2 steps (ceil(3 inputs / tm 2)) of 2 x 2 items of
    # 3 codes + a 2-bit row index = 56 bits -> 2 beats; then 2 x 8 parameter bytes = 4 beats
    assert [job.transfers[0].nbytes for job in plan.weight_jobs] == [(2 * 2 + 4) * 4] * 3
    assert len(image) == 3 * (2 * 2 + 4) * 4
    words, rest = step_words(image, config, 3, 2)
    for step in range(2):
        for i in range(2):
            for j in range(2):
                item = (words[step] >> ((i * 2 + j) * 14)) & ((1 << 14) - 1)
                c = step * 2 + j
                if c >= 3:
                    assert item == 0  # no channel 3: a zero item
                    continue
                row = int(layer.kept_rows[i, c, 0])
                assert [(item >> (4 * v)) & 0xF for v in range(3)] == codes.codes[i, c, row].tolist()
                assert item >> 12 == row
    word = int.from_bytes(rest[:8], "little")
    requant = layer.requant
    assert word & 0xFFFF == int(requant.multiplier[0]) & 0xFFFF
    assert word >> 16 == int(requant.bias[0]) & ((1 << 48) - 1)


def test_dense_items_hold_every_tap_and_1x1_items_one_code():
    builder = NetworkBuilder((1, 3, 3), seed=5)
    builder.conv(1, kernel=3, rows_kept=1, name="conv")
    builder.conv(3, kernel=1, rows_kept=None, name="point")
    network = builder.build()
    config = small_config(**{"pe.kind": "gsnq_shift"})
    params = rtl_parameters(config)
    conv, point = network.layers
    view = pe_view(conv, (1, 3, 3), params.tn)
    codes = gsnq_codes("conv", view.weights, params)
    words, _ = step_words(weight_image(view, config, params, codes), config, 3, 1)
    assert [(words[0] >> (4 * t)) & 0xF for t in range(9)] == codes.codes.reshape(-1).tolist()
    assert words[0] >> 36 == 0  # the other units' items: no such channels
    view = pe_view(point, (1, 3, 3), params.tn)
    codes = gsnq_codes("point", view.weights, params)
    image = weight_image(view, config, params, codes)
    words, _ = step_words(image, config, 1, 1)
    # units (0, 0) and (1, 0): output channels 0, 1 of input channel 0; (i, 1) have no channel 1
    assert [(words[0] >> (4 * u)) & 0xF for u in range(4)] == [int(codes.codes[0, 0, 0, 0]), 0,
                                                             int(codes.codes[1, 0, 0, 0]), 0]
    assert len(image) == 2 * (1 + 4) * 4  # 2 channel groups of one 16-bit word (a beat) + 4 beats


def test_descriptor_carries_every_product_the_core_needs():
    builder = NetworkBuilder((5, 9, 7), seed=2)
    builder.conv(6, kernel=3, stride=2, rows_kept=1, name="conv")
    network = builder.build()
    config = small_config(**{"buffers.output_depth": 8})  # Tr = 2 of 5 output rows of 4 pixels
    params = rtl_parameters(config)
    plan = plan_network(network, config).layers[0]
    view = pe_view(network.layers[0], (5, 9, 7), params.tn)
    codes = gsnq_codes("conv", view.weights, params)
    fields = dict(zip(DESCRIPTOR_FIELDS, pe_descriptor(view, config, params, codes, plan, (0, 64, 128))))
    row = 3 * 2 * 7  # 3 blocks of 2 channels x 7 columns
    assert plan.tile_rows == 2
    assert (fields["in_row_bytes"], fields["in_blk_bytes"], fields["pad_bytes"]) == (row, 14, row)
    assert (fields["tr_bytes"], fields["span_bytes"], fields["tr_rows"]) == (4 * row, 5 * row, 4)
    assert fields["end_bytes"] == min(9, 4 * 2 - 1 + 3) * row  # the last window's rows, clipped
    assert (fields["srow_bytes"], fields["krow_bytes"]) == (2 * row, 3 * row)
    assert (fields["passes"], fields["groups"], fields["narrow"], fields["w_lanes"]) == (1, 3, 0, 2)
    assert fields["w_word_beats"] == 3 * 2 and fields["w_bytes"] == (3 * 2 + 4) * 4
    # output: 3 blocks x 4 columns x 2 channels per row; a tile's row segment is 8 bytes = 2 beats
    assert (fields["out_row_bytes"], fields["out_seg_bytes"], fields["out_tr_bytes"]) == (24, 8, 48)
    assert (fields["st_beats"], fields["st_beats_last"]) == (2 * 2, 1 * 2)  # the last row group: 1 row


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"act_bits": 6}, "act_bits must be 8 for the RTL (one activation per DDR byte), not 6"),
        (
            {"pe.pipeline_depth": RTL_MIN_PIPELINE_DEPTH - 1},
            (f"pe.pipeline_depth must be at least {RTL_MIN_PIPELINE_DEPTH} for the RTL (its PE pipeline), "
            f"not {RTL_MIN_PIPELINE_DEPTH - 1}"),
        ),
        ({"weight_bits": 7}, "weight_bits must be at most 6 for the RTL, not 7"),
        (
            {"ddr.latency_cycles": 0},
            ("ddr.latency_cycles must be at least 1 for the RTL (a DDR answers no earlier than the "
             "cycle after a request), not 0"),
        ),
        (   # 4 x 12 dense 5x5 items of 4 bits = 4,800 bits: 600 one-byte beats, 150 of 4 bytes
            {"pe.kind": "gsnq_shift", "pe.tn": 4, "pe.tm": 12, "pe.kernel_max": 5, "ddr.bytes_per_cycle": 1,
             "ddr.burst_bytes": 64},
            ("ddr.bytes_per_cycle must be at least 4 for the RTL, not 1: a step word of the 4 x 12 units' "
             "weight items takes 600 beats, and the weight buffer takes at most 255 (or use fewer units or "
             "a smaller pe.kernel_max)"),
        ),
    ],
)
def test_configurations_the_rtl_cannot_build_are_rejected(changes, message):
    with pytest.raises(ConfigError) as caught:
        rtl_parameters(small_config(**changes))
    assert str(caught.value) == message


def test_layers_the_rtl_cannot_run_are_rejected_before_anything_is_built():
    builder = NetworkBuilder((2, 6, 6), seed=1)
    builder.conv(2, kernel=3, rows_kept=2, name="two_rows")
    builder.pool(2, name="pool")
    builder.flatten(name="flatten")
    network = builder.build()
    config = small_config()
    inputs = {layer.name: (np.zeros(8, np.int8),) for layer in network.layers}
    with pytest.raises(
        UnsupportedLayerError,
        match="'flatten' must be a convolution, linear, pooling or add layer to run on the RTL, "
        "not FlattenLayer",
    ):
        layer_run(network, config, inputs, ["flatten"])
    with pytest.raises(ConfigError, match="layer must be one of the network's layers, not 'nope'"):
        layer_run(network, config, inputs, ["nope"])
    wide = NetworkBuilder((1, 256, 256))
    wide.conv(1, kernel=256, padding=0, rows_kept=1, name="k256")
    with pytest.raises(UnsupportedLayerError, match=r"'k256' kernel must be at most 255 for the RTL, not 256"):
        layer_run(wide.build(), small_config(**{"buffers.weight_depth": 8192, "buffers.input_bytes": 1 << 17}),
                  {"k256": (np.zeros(256 * 256, np.int8),)})
    # the multiplier kinds run uniform codes, not the synthetic network's GSNQ weights: refused by the binding's
    # check, shared with the simulator
    with pytest.raises(ConfigError, match=r"^pe.kind must apply the gsnq weights of network 'synthetic' \(layer "
                                          r"'two_rows'\), not 'mult_dsp', which applies uniform weights: "):
        layer_run(network, small_config(**{"pe.kind": "mult_dsp"}), inputs, ["two_rows"])


def test_vector_layers_the_rtl_cannot_run_are_rejected():
    builder = NetworkBuilder((2, 6, 6), seed=1)
    first = builder.conv(2, kernel=3, rows_kept=1, name="conv")
    builder.add(first, "input", name="add")
    network = builder.build()
    add = network.layers[-1]
    shifted = dataclasses.replace(network, layers=(network.layers[0], dataclasses.replace(add, shift_b=16)))
    inputs = {"add": (np.zeros(72, np.int8), np.zeros(72, np.int8))}
    with pytest.raises(UnsupportedLayerError, match="'add' operand shift must be at most 15 for the RTL, not 16"):
        layer_run(shifted, small_config(), inputs, ["add"])
    wide = NetworkBuilder((1, 256, 256))
    wide.pool(256, name="pool")
    with pytest.raises(UnsupportedLayerError, match="'pool' window height must be at most 255 for the RTL, not 256"):
        layer_run(wide.build(), small_config(**{"buffers.input_bytes": 1 << 17}), {"pool": (np.zeros(256 * 256, np.int8),)})
    uneven = NetworkBuilder((1, 6, 6))
    uneven.pool(3, stride=2, padding=1, kind=PoolKind.AVG, ceil_mode=True, name="pool")
    network = uneven.build()
    pool = network.layers[0]
    network = dataclasses.replace(network, layers=(dataclasses.replace(
        pool, rows=dataclasses.replace(pool.rows, divisor_pad=0)),))  # divisors 2, 3 and 1 along the rows
    with pytest.raises(UnsupportedLayerError, match="'pool' row windows must have at most two divisors for "
                                                    r"the RTL, not 3 \(2, 3, 1\)"):
        layer_run(network, small_config(), {"pool": (np.zeros(36, np.int8),)})


def test_vector_layers_get_parameter_only_weight_groups():
    config = small_config()  # tn = 2, 4-byte beats
    params = rtl_parameters(config)
    builder = NetworkBuilder((3, 4, 4))
    builder.pool(2, kind=PoolKind.AVG, name="avg")
    builder.pool(2, name="max")
    network = builder.build()
    avg, maximum = (vector_view(layer, shape) for layer, shape in zip(network.layers, [(3, 4, 4), (3, 2, 2)]))
    # average pooling: its one multiplier and bias repeated, 8 bytes per channel, 2 groups of tn
    # channels, the second with a zero word for its missing channel
    image = vector_param_image(avg, config)
    assert len(image) == 2 * 2 * 8 and image[:8] == image[8:16] == image[16:24] and image[24:] == bytes(8)
    assert (avg.mode, maximum.mode) == (Mode.AVG_POOL, Mode.MAX_POOL)
    assert vector_param_image(maximum, config) == b""
    plan = plan_network(network, config).layers[1]
    words = vector_descriptor(maximum, config, params, plan, (64, 128, 192, 64))
    fields = dict(zip(DESCRIPTOR_FIELDS, words))
    assert (fields["mode"], fields["w_bytes"], fields["rq_shift"], fields["rq_lo"], fields["rq_hi"]) == (
        1, 0, 0, 0x80, 0x7F
    )


def test_requantization_beyond_the_hardware_widths_is_rejected():
    builder = NetworkBuilder((1, 2, 2))
    builder.conv(1, kernel=1, rows_kept=None, name="conv")
    network = builder.build()
    wide = Requant(np.array([1 << 16]), np.array([0]), 0, 0, 127, 18)
    network = dataclasses.replace(
        network, layers=(dataclasses.replace(network.layers[0], requant=wide),)
    )
    with pytest.raises(UnsupportedLayerError, match="multipliers must fit 16 signed bits"):
        layer_run(network, small_config(), {"conv": (np.zeros(4, np.int8),)})


def test_first_divergence_and_first_mismatch():
    a = [("load_input", 0, 0, 0, 10), ("compute", 0, 0, 10, 30)]
    b = [("load_input", 0, 0, 0, 10), ("compute", 0, 0, 11, 31)]
    assert first_divergence(a, a) is None
    assert first_divergence(a, b) == {
        "position": 1,
        "rtl": ["compute", 0, 0, 10, 30],
        "sim": ["compute", 0, 0, 11, 31],
    }
    assert first_divergence(a, a[:1])["sim"] is None
    x = np.arange(12).reshape(3, 4)
    y = x.copy()
    y[2, 1] = -5
    assert first_mismatch(x, x) is None
    assert first_mismatch(x, y) == {"index": [2, 1], "rtl": 9, "expected": -5}


def test_trace_file_parsing(tmp_path):
    path = tmp_path / "trace.txt"
    path.write_text(
        "0 load_input 0 0 0 16\n0 compute 0 0 16 40\n0 layer -1 0 0 46\n"
        "0 request 0 16 0 64\n1 timeout 0 0 99 99\n"
    )
    events, spans, errors = parse_trace(path)
    assert events == {0: [("load_input", 0, 0, 0, 16), ("compute", 0, 0, 16, 40)]}
    assert spans == {0: (0, 46)}
    assert errors == ["1 timeout 0 0 99 99"]
