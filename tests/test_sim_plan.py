"""The contract's formulas (passes, layout, weight words, beats, tile rows) and the bind-time errors."""

from __future__ import annotations

import dataclasses

import pytest

from accelsim.errors import ConfigError, UnsupportedLayerError
from accelsim.hw import BufferConfig, HwConfig, PeConfig, PeKind, load_config
from accelsim.hw.geometry import param_beats, row_bytes, step_beats
from accelsim.integer.graph import IntegerNetwork
from accelsim.sim import NetworkBuilder, plan_network, simulate, vgg16_shapes
from accelsim.sim.plan import (
    Transfer,
    bursts,
    datapath_layer,
    input_groups,
    passes,
    request_cycles,
    transfer_cycles,
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
    ("lo", "hi", "tm", "tn", "expected"),
    [
        (0, 8, 4, 8, 2),    # channels 0-7: groups 0 and 1 (slices of block 0)
        (8, 16, 4, 8, 2),
        (3, 6, 2, 4, 2),    # channels 3-5 with tm = 2: slices 1 and 2
        (5, 6, 4, 8, 1),
        (0, 1, 1, 1, 1),
        (6, 12, 1, 2, 6),
        (16, 24, 32, 8, 1),  # tm = 4 blocks: one group from block 2
        (8, 48, 16, 8, 3),   # blocks 1-5 in groups of two blocks from block 1: three groups
    ],
)
def test_steps_read_the_input_groups_holding_their_channels(lo, hi, tm, tn, expected):
    assert input_groups(lo, hi, tm, tn) == expected
    if tm <= tn:  # tm-slices of the blocks: the slices the channels touch
        assert expected == len({channel // tm for channel in range(lo, hi)})


def test_vector_window_blocks():
    builder = NetworkBuilder((2, 9, 9))
    for kernel in (1, 2, 3, 4, 6, 7, 8):
        builder.pool(kernel, stride=1, source="input", name=f"k{kernel}")
    builder.adaptive_pool((2, 5), source="input", name="adaptive")  # windows of 5 rows, 2 or 3 columns
    views = {layer.name: datapath_layer(layer, (2, 9, 9)) for layer in builder.build().layers}
    assert [views[f"k{k}"].blocks(3) for k in (1, 2, 3, 4, 6, 7, 8)] == [(1, 1)] * 3 + [(2, 2)] * 2 + [(3, 3)] * 2
    assert views["k2"].blocks(1) == (2, 2)
    assert views["adaptive"].blocks(2) == (3, 2)


def test_step_words_and_parameters_are_whole_beats():
    config = load_config()  # 8 x 4 KRP units, 4-bit codes, 8 bytes per beat
    assert step_beats(config, 3) == 7   # 32 units x (3 codes + 2-bit row index) = 448 bits = 56 B
    assert step_beats(config, 1) == 2   # 1x1: one 4-bit code per unit, 16 B
    assert step_beats(config, 2) == 7   # a 2x2 kernel takes the full item, zero-padded
    assert param_beats(config) == 8     # 8 channels x 8 B
    dense = config.replace(**{"pe.kind": "gsnq_shift", "ddr.bytes_per_cycle": 32})
    assert step_beats(dense, 3) == 5    # 32 x 9 x 4 bits = 144 B in 32-byte beats
    assert param_beats(dense) == 2


def test_feature_map_rows_are_whole_channel_blocks():
    config = load_config()  # tn = 8
    assert row_bytes(64, 32, config) == 8 * 8 * 32
    assert row_bytes(3, 32, config) == 8 * 32          # the image's 3 channels fill one block
    assert row_bytes(10, 1, config) == 16               # a 10-feature vector: two blocks
    assert row_bytes(3, 32, config.replace(act_bits=4)) == 4 * 32  # packed 4-bit activations


def test_ddr_request_split_and_occupancy():
    ddr = load_config().ddr  # 8 B/cycle, latency 30, 2048-byte requests = 256 beats
    assert bursts(625, ddr) == [256, 256, 113]
    assert request_cycles(113, ddr) == 30 + 113
    assert Transfer(1, 5000).beats(ddr) == 625
    assert transfer_cycles(Transfer(1, 5000), ddr) == 2 * (30 + 256) + 30 + 113
    assert Transfer(10, 20).beats(ddr) == 10 * 3    # every segment starts a new beat
    assert transfer_cycles(Transfer(10, 20), ddr) == 30 + 30
    assert bursts(512, ddr) == [256, 256]


def test_vgg16_tiling_on_the_default_configuration():
    plan = plan_network(vgg16_shapes(), load_config())
    convs = [layer for layer in plan.layers if layer.kind.value == "conv"]
    # Do = 1024 pixels: whole 32x32 ... maps per tile, unless the input rows exceed Bi = 32 KiB:
    # conv1_2 reads 64 channels = 8 blocks x 32 columns = 2 KiB per row, so Tr + 2 <= 16 rows;
    # conv2_2 (128 channels at 16 x 16) reads its whole map, 16 rows of 2 KiB.
    assert [layer.tile_rows for layer in convs] == [32, 14, 16, 16, 8, 8, 8, 4, 4, 4, 2, 2, 2]
    assert [layer.row_groups for layer in convs[:3]] == [1, 3, 1]
    assert [layer.channel_groups for layer in convs[:3]] == [8, 8, 16]
    # conv1_2: 64 input channels / tm 4 = 16 groups x 1 pass; 14 rows x 32 px -> 448 x 16 + D cycles
    assert convs[1].input_groups == 16 and convs[1].passes == 1
    assert convs[1].tiles[0].cycles == 448 * 16 + 16
    # its first row group reads input rows 0..14 (the top padding is not loaded): 15 x 2 KiB
    assert convs[1].input_jobs[0].transfers == (Transfer(1, 15 * 2048),)
    assert convs[1].tiles[0].store == Transfer(14, 8 * 32)
    fc = plan.layers[-2]
    assert (fc.kind.value, fc.channel_groups, fc.input_groups) == ("linear", 64, 128)
    # 128 steps of 2 beats (1x1 items) and 8 beats of parameters per channel group
    assert fc.weight_jobs[0].transfers == (Transfer(1, (128 * 2 + 8) * 8),)


def tiny_conv(channels: int, size: int, out: int = 4) -> IntegerNetwork:
    builder = NetworkBuilder((channels, size, size))
    builder.conv(out, kernel=3, name="c")
    return builder.build()


def test_buffers_too_small_are_named_at_bind_time():
    small = HwConfig(buffers=BufferConfig(input_bytes=100, weight_depth=512, output_depth=1024))
    with pytest.raises(ConfigError) as error:
        simulate(tiny_conv(8, 16), small)
    # an interior output row reads K = 3 input rows of 1 block x 16 columns x 8 channels = 128 B
    assert str(error.value) == (
        "buffers.input_bytes must be at least 384 for layer 'c' (one output row reads up to 3 input "
        "rows of 128 bytes), not 100"
    )
    with pytest.raises(ConfigError, match=r"^buffers.output_depth must be at least 16 pixels for layer 'c' "
                                          r"\(one output row\), not 8$"):
        simulate(tiny_conv(2, 16), HwConfig(buffers=BufferConfig(output_depth=8)))
    with pytest.raises(ConfigError, match=r"^buffers.weight_depth must be at least 3 step words for layer 'c' "
                                          r"\(3 input-channel groups x 1 passes\), not 2$"):
        simulate(tiny_conv(12, 4), HwConfig(buffers=BufferConfig(weight_depth=2)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pe.tn": 12}, r"^pe.tn must be a power of two .*, not 12; the nearest that work: 8 or 16$"),
        ({"pe.tn": 8, "pe.tm": 3}, (r"^pe.tm must divide pe.tn \(8\) or be a multiple of it .*, not 3; "
                                   r"the nearest that work: 2 or 8$")),
        ({"pe.tn": 4, "pe.tm": 6}, r"^pe.tm must divide .* not 6; the nearest that work: 4 or 8$"),
        ({"ddr.bytes_per_cycle": 3}, (r"^ddr.bytes_per_cycle must be a power of two .*, not 3; "
                                     r"the nearest that work: 2 or 4$")),
    ],
)
def test_organizations_the_hardware_cannot_build_are_refused_at_load(changes, message):
    with pytest.raises(ConfigError, match=message):
        load_config().replace(**changes)


def test_channel_blocks_and_whole_group_reads_are_accepted():
    for tn, tm in ((8, 4), (8, 8), (4, 8), (4, 12), (16, 1), (1, 5)):
        load_config().replace(**{"pe.tn": tn, "pe.tm": tm})


def test_widths_must_fit_the_datapath():
    with pytest.raises(ConfigError, match=r"^weight_bits must be at least 4 \(the weight width of layer 'c'\), not 3$"):
        simulate(tiny_conv(2, 4), HwConfig(weight_bits=3))
    with pytest.raises(ConfigError, match=r"^act_bits must be at least 8 .*layer 'c'.*, not 6$"):
        simulate(tiny_conv(2, 4), HwConfig(act_bits=6))


def test_design_that_does_not_fit_its_device_fails_before_simulating():
    huge = HwConfig(pe=PeConfig(kind=PeKind.KRP_GSNQ, tn=256, tm=64))
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


def test_a_pooling_window_wholly_in_the_padding_is_refused_everywhere():
    """A max of no position is undefined (the datapath said 0, the RTL -128): the builder, the
    datapath and the simulator refuse such a window by axis and index, as torch refuses the
    pooling."""
    import dataclasses as dc

    import numpy as np

    from accelsim.errors import UnsupportedLayerError as Refused
    from accelsim.integer import run
    from accelsim.integer.graph import PoolAxis, PoolKind

    message = (r"layer 'pool' window 0 of its rows must hold a position of the 4-position map, not span "
               r"\[-2, 0\) wholly in the padding: choose a padding of at most half the kernel")
    with pytest.raises(Refused, match=message):
        NetworkBuilder((2, 4, 4), seed=0).pool(2, stride=3, padding=2, name="pool")
    builder = NetworkBuilder((2, 4, 4), seed=0)
    builder.pool(4, stride=3, padding=2, name="pool")  # window 0 spans [-2, 2): legal
    network = builder.build()
    layer = network.layer("pool")
    narrow = dc.replace(network, layers=(dc.replace(layer, rows=PoolAxis.regular(2, 3, 2)),))
    with pytest.raises(Refused, match=message):
        simulate(narrow, load_config())
    with pytest.raises(Refused, match=message):
        run(narrow, np.zeros((1, 2, 4, 4), dtype=np.int8))
    assert layer.kind is PoolKind.MAX and simulate(network, load_config()).total_cycles > 0
