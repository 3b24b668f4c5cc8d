"""What the RTL reads from DDR: GSNQ codes, packed weight groups, descriptors, and the checks that
reject what the RTL cannot run (no Verilator needed)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.errors import ConfigError, UnsupportedLayerError
from accelsim.hw import load_config
from accelsim.integer.graph import PoolKind, Requant
from accelsim.rtl.check import first_divergence, first_mismatch, parse_trace
from accelsim.rtl.emit import layer_run
from accelsim.rtl.images import (
    DESCRIPTOR_FIELDS,
    Mode,
    group_bytes,
    gsnq_codes,
    pe_view,
    vector_descriptor,
    vector_param_image,
    vector_view,
    weight_image,
)
from accelsim.rtl.params import RTL_MIN_PIPELINE_DEPTH, rtl_parameters
from accelsim.sim import NetworkBuilder
from accelsim.sim.plan import plan_network


def decode(code: int, n_pos: int, base_pos: int, base_neg: int) -> int:
    """The code -> weight rule of docs/rtl.md, written independently of the encoder."""
    if code == 0:
        return 0
    if code <= n_pos:
        return 1 << (base_pos + code - 1)
    return -(1 << (base_neg + code - n_pos - 1))


def test_gsnq_codes_round_trip_with_sign_based_ranges():
    weights = np.array([0, 4, 8, 32, -1, -2, -16, 0, 4, -16])
    codes = gsnq_codes("layer", weights, 4)
    assert (codes.n_pos, codes.base_pos, codes.base_neg) == (4, 2, 0)
    decoded = [decode(int(c), codes.n_pos, codes.base_pos, codes.base_neg) for c in codes.codes]
    assert decoded == weights.tolist()
    assert codes.codes.max() <= 15


def test_gsnq_codes_reject_too_many_levels():
    weights = np.array([1 << s for s in range(9)] + [-(1 << s) for s in range(8)])
    with pytest.raises(
        UnsupportedLayerError,
        match="weight_bits must be large enough for the levels of layer 'x' "
        r"\(9 positive and 8 negative powers of two, shifts up to 8\), not 4",
    ):
        gsnq_codes("x", weights, 4)


def small_config(**changes):
    base = {
        "pe.tn": 2,
        "pe.tm": 2,
        "ddr.latency_cycles": 2,
        "ddr.bytes_per_cycle": 4,
        "ddr.burst_bytes": 16,
    }
    return load_config("default").replace(**{**base, **changes})


def test_krp_weight_group_bytes_follow_the_contract():
    builder = NetworkBuilder((3, 4, 4), seed=3)
    builder.conv(5, kernel=3, rows_kept=1, name="conv")
    network = builder.build()
    config = small_config()
    params = rtl_parameters(config)
    view = pe_view(network.layers[0])
    image = weight_image(view, params, gsnq_codes("conv", view.weights, params.weight_bits))
    plan = plan_network(network, config).layers[0]
    assert [job.transfers[0] for job in plan.weight_jobs] == [
        group_bytes(view, params, c) for c in (2, 2, 1)
    ]
    assert len(image) == sum(job.transfers[0] for job in plan.weight_jobs)
    # first pair of group 0: the 3 codes of the kept row of kernel (0, 0), then its 2-bit row index
    codes = gsnq_codes("conv", view.weights, 4)
    row = int(view.kept_rows[0, 0, 0])
    bits = int.from_bytes(image[:2], "little")
    for v in range(3):
        assert (bits >> (4 * v)) & 0xF == codes.codes[0, 0, row, v]
    assert (bits >> 12) & 0x3 == row
    # parameters follow the pairs of the group, byte aligned: multiplier in bits 0-15, bias above
    pair_bytes = -(-2 * 3 * 14 // 8)
    word = int.from_bytes(image[pair_bytes : pair_bytes + 8], "little")
    requant = network.layers[0].requant
    assert word & 0xFFFF == int(requant.multiplier[0]) & 0xFFFF
    assert word >> 16 == int(requant.bias[0]) & ((1 << 48) - 1)


def test_dense_pairs_hold_every_tap_zeros_included():
    builder = NetworkBuilder((1, 3, 3), seed=5)
    builder.conv(1, kernel=3, rows_kept=1, name="conv")
    network = builder.build()
    params = rtl_parameters(small_config(**{"pe.kind": "gsnq_shift"}))
    view = pe_view(network.layers[0])
    codes = gsnq_codes("conv", view.weights, 4)
    image = weight_image(view, params, codes)
    assert len(image) == -(-9 * 4 // 8) + 8
    bits = int.from_bytes(image[:5], "little")
    assert [(bits >> (4 * t)) & 0xF for t in range(9)] == codes.codes.reshape(-1).tolist()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"act_bits": 6}, "act_bits must be 8 for the RTL (one activation per DDR byte), not 6"),
        (
            {"pe.pipeline_depth": RTL_MIN_PIPELINE_DEPTH - 1},
            f"pe.pipeline_depth must be at least {RTL_MIN_PIPELINE_DEPTH} for the RTL (its PE pipeline), not 11",
        ),
        (
            {"weight_bits": 7},
            "weight_bits must be at most 6 for the RTL (shifts up to 2^w - 2), not 7",
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
    builder.conv(2, kernel=3, rows_kept=None, name="dense3x3")
    builder.pool(2, name="pool")
    builder.flatten(name="flatten")
    network = builder.build()
    config = small_config()
    inputs = {layer.name: (np.zeros(8, np.int8),) for layer in network.layers}
    with pytest.raises(UnsupportedLayerError, match="'two_rows' must have one kept row per kernel"):
        layer_run(network, config, inputs, ["two_rows"])
    with pytest.raises(
        UnsupportedLayerError, match="'dense3x3' must have one kept row .* not a dense layer"
    ):
        layer_run(network, config, inputs, ["dense3x3"])
    with pytest.raises(
        UnsupportedLayerError,
        match="'flatten' must be a convolution, linear, pooling or add layer to run on the RTL, "
        "not FlattenLayer",
    ):
        layer_run(network, config, inputs, ["flatten"])
    with pytest.raises(ConfigError, match="layer must be one of the network's layers, not 'nope'"):
        layer_run(network, config, inputs, ["nope"])
    wide = NetworkBuilder((1, 6, 6))
    wide.conv(1, kernel=5, rows_kept=1, name="k5")
    with pytest.raises(
        UnsupportedLayerError, match=r"'k5' kernel must be at most pe.kernel_max = 3 for the RTL"
    ):
        layer_run(wide.build(), config, {"k5": (np.zeros(36, np.int8),)})


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
    padded = NetworkBuilder((1, 6, 6))
    padded.pool(3, name="pool")
    pool = padded.build()
    pool = dataclasses.replace(pool, layers=(dataclasses.replace(pool.layers[0], padding=1),))
    with pytest.raises(
        UnsupportedLayerError, match="'pool' padding must be smaller than its kernel and pe.kernel_max"
    ):
        layer_run(pool, small_config(**{"pe.kernel_max": 1}), {"pool": (np.zeros(36, np.int8),)})


def test_vector_layers_get_parameter_only_weight_groups():
    params = rtl_parameters(small_config())  # tn = 2
    builder = NetworkBuilder((3, 4, 4))
    builder.pool(2, kind=PoolKind.AVG, name="avg")
    builder.pool(2, name="max")
    avg, maximum = (vector_view(layer, shape) for layer, shape in
                    zip(builder.build().layers, [(3, 4, 4), (3, 2, 2)]))
    # average pooling: its one multiplier and bias repeated, 8 bytes per channel, groups of tn
    image = vector_param_image(avg, params)
    assert len(image) == 3 * 8 and image[:8] == image[8:16] == image[16:]
    assert (avg.mode, maximum.mode) == (Mode.AVG_POOL, Mode.MAX_POOL)
    assert vector_param_image(maximum, params) == b""
    words = vector_descriptor(maximum, params, 2, (64, 128, 192, 64))
    fields = dict(zip(DESCRIPTOR_FIELDS, words))
    assert (fields["mode"], fields["pair_bits"], fields["rq_shift"], fields["rq_lo"], fields["rq_hi"]) == (
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
