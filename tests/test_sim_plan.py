"""The contract's formulas (passes, weight bits, tile rows) and the bind-time errors."""

from __future__ import annotations

import dataclasses

import pytest

from accelsim.errors import ConfigError, UnsupportedLayerError
from accelsim.hw import BufferConfig, HwConfig, PeConfig, PeKind, load_config
from accelsim.integer.graph import IntegerNetwork
from accelsim.sim import NetworkBuilder, plan_network, simulate, vgg16_shapes
from accelsim.sim.plan import (
    bursts,
    channel_groups_read,
    passes,
    request_cycles,
    transfer_cycles,
    vector_blocks,
    weight_pair_bits,
)


@pytest.mark.parametrize(
    ("kind", "kernel", "rows", "expected"),
    [
        (PeKind.GSNQ_SHIFT, 3, 1, 1),   # dense kinds compute the KRP zeros: one 3x3 window pass
        (PeKind.MULT_DSP, 3, None, 1),
        (PeKind.MULT_LUT, 1, None, 1),  # 1x1: one tap
        (PeKind.MULT_LUT, 5, None, 4),  # 2x2 window blocks
        (PeKind.GSNQ_SHIFT, 11, None, 16),
        (PeKind.KRP_GSNQ, 3, 1, 1),     # the kept row
        (PeKind.KRP_GSNQ, 3, 2, 2),
        (PeKind.KRP_GSNQ, 3, None, 3),  # dense layer on KRP units: every row
        (PeKind.KRP_GSNQ, 5, None, 10),  # 5 rows x 2 segments
        (PeKind.KRP_GSNQ, 5, 1, 4),     # kept row: 2 row blocks x 2 segments, masked per unit
        (PeKind.KRP_GSNQ, 11, 1, 16),
        (PeKind.KRP_GSNQ, 1, 1, 1),
    ],
)
def test_passes_table(kind, kernel, rows, expected):
    assert passes(kind, 3, kernel, rows) == expected


@pytest.mark.parametrize(
    ("first", "channels", "tm", "expected"),
    [
        (0, 8, 4, 2),   # channels 0-7: groups 0 and 1
        (8, 8, 4, 2),
        (3, 3, 2, 2),   # channels 3-5 with tm = 2: groups 1 and 2
        (2, 2, 3, 2),   # channels 2-3 with tm = 3: groups 0 and 1 (straddles)
        (0, 2, 3, 1),
        (5, 1, 4, 1),
        (0, 1, 1, 1),
        (6, 6, 1, 6),
    ],
)
def test_vector_tiles_read_the_input_groups_holding_their_channels(first, channels, tm, expected):
    assert channel_groups_read(first, channels, tm) == expected
    touched = {channel // tm for channel in range(first, first + channels)}
    assert expected == len(touched)


def test_vector_window_blocks():
    assert [vector_blocks(kernel, 3) for kernel in (1, 2, 3, 4, 6, 7, 8)] == [1, 1, 1, 4, 4, 9, 9]
    assert vector_blocks(2, 1) == 4


def test_weight_bits_per_kernel():
    assert weight_pair_bits(PeKind.KRP_GSNQ, 4, 3, 1) == 3 * 4 + 2  # one row + its 2-bit index
    assert weight_pair_bits(PeKind.KRP_GSNQ, 4, 3, None) == 36     # dense layer: all 9 weights
    assert weight_pair_bits(PeKind.GSNQ_SHIFT, 4, 3, 1) == 36      # dense kinds move the zeros
    assert weight_pair_bits(PeKind.KRP_GSNQ, 3, 5, 2) == 2 * (5 * 3 + 3)
    assert weight_pair_bits(PeKind.KRP_GSNQ, 4, 1, 1) == 4         # 1x1: no row index


def test_ddr_request_split_and_occupancy():
    ddr = load_config().ddr  # 8 B/cycle, latency 30, 2048-byte requests
    assert bursts(5000, ddr) == [2048, 2048, 904]
    assert request_cycles(904, ddr) == 30 + 113
    assert transfer_cycles(5000, ddr) == 2 * (30 + 256) + 30 + 113
    assert bursts(4096, ddr) == [2048, 2048]


def test_vgg16_tiling_on_the_default_configuration():
    plan = plan_network(vgg16_shapes(), load_config())
    convs = [layer for layer in plan.layers if layer.kind.value == "conv"]
    # Do = 1024 pixels: whole 32x32, 16x16 ... maps per tile; the input slabs fit Di = 2048.
    assert [layer.tile_rows for layer in convs] == [32, 32, 16, 16, 8, 8, 8, 4, 4, 4, 2, 2, 2]
    assert all(layer.row_groups == 1 for layer in convs)
    assert [layer.channel_groups for layer in convs[:3]] == [8, 8, 16]
    # conv1_2: 64 input channels / tm 4 = 16 groups x 1 pass; 1024 px -> 16384 + D cycles per tile
    assert convs[1].input_groups == 16 and convs[1].passes == 1
    assert convs[1].tiles[0].cycles == 1024 * 16 + 16
    fc = plan.layers[-2]
    assert (fc.kind.value, fc.channel_groups, fc.input_groups) == ("linear", 64, 128)


def tiny_conv(channels: int, size: int, out: int = 4) -> IntegerNetwork:
    builder = NetworkBuilder((channels, size, size))
    builder.conv(out, kernel=3, name="c")
    return builder.build()


def test_buffers_too_small_are_named_at_bind_time():
    small = HwConfig(buffers=BufferConfig(input_depth=4, weight_depth=512, output_depth=1024))
    with pytest.raises(ConfigError) as error:
        simulate(tiny_conv(8, 16), small)
    # an interior output row reads K = 3 input rows: ceil(8/4) * ceil(3/3) * ceil(16/3) = 12 words
    assert str(error.value) == (
        "buffers.input_depth must be at least 12 words for layer 'c' (one output row reads up to 3 input "
        "rows of 8 channels x 16 columns in 36 banks), not 4"
    )
    with pytest.raises(ConfigError, match=r"^buffers.output_depth must be at least 16 words for layer 'c' "
                                          r"\(one output row of 16 pixels\), not 8$"):
        simulate(tiny_conv(2, 16), HwConfig(buffers=BufferConfig(output_depth=8)))
    with pytest.raises(ConfigError, match=r"^buffers.weight_depth must be at least 3 words for layer 'c' "
                                          r"\(3 input-channel groups x 1 passes\), not 2$"):
        simulate(tiny_conv(12, 4), HwConfig(buffers=BufferConfig(weight_depth=2)))


def test_widths_must_fit_the_datapath():
    with pytest.raises(ConfigError, match=r"^weight_bits must be at least 4 \(the weight width of layer 'c'\), not 3$"):
        simulate(tiny_conv(2, 4), HwConfig(weight_bits=3))
    with pytest.raises(ConfigError, match=r"^act_bits must be at least 8 .*layer 'c'.*, not 6$"):
        simulate(tiny_conv(2, 4), HwConfig(act_bits=6))


def test_design_that_does_not_fit_its_device_fails_before_simulating():
    huge = HwConfig(pe=PeConfig(kind=PeKind.MULT_DSP, tn=64, tm=8))
    with pytest.raises(ConfigError, match=r"must fit device 'xc7z035'"):
        simulate(tiny_conv(2, 4), huge)


def test_unknown_layer_type_is_rejected():
    network = tiny_conv(2, 4)

    @dataclasses.dataclass(frozen=True)
    class Softmax:
        name: str
        input: str
        output: object

    bad = IntegerNetwork(network.input, network.layers + (Softmax("soft", "c", network.layers[0].output),), "soft")
    with pytest.raises(UnsupportedLayerError, match="'soft' has a type the accelerator does not run: Softmax"):
        plan_network(bad, HwConfig())
