"""SimPy-style timing tests: exact (event, tile, start, end) lists derived by hand from the contract.

Every expected list below is computed from docs/microarchitecture.md, not from the simulator:
a transfer's beats = segments * ceil(segment bytes / B), occupancy of a DDR request = L + its
beats; C_tile = pixels * P * G + D; the schedule rules of section 8; arbitration = earliest
request, ties store < input < weight.
"""

from __future__ import annotations

from accelsim.hw import BufferConfig, DdrConfig, HwConfig, PeConfig
from accelsim.integer.graph import PoolKind
from accelsim.sim import NetworkBuilder, simulate


def config(bytes_per_cycle: int = 4, latency: int = 2, burst: int = 64, output_depth: int = 1024,
           tm: int = 2) -> HwConfig:
    """tn = 2, tm = 2, k = 3, D = 4, KRP units, 4-bit weights, 8-bit activations."""
    return HwConfig(
        name="timing",
        pe=PeConfig(tn=2, tm=tm, pipeline_depth=4),
        ddr=DdrConfig(bytes_per_cycle=bytes_per_cycle, latency_cycles=latency, burst_bytes=burst),
        buffers=BufferConfig(output_depth=output_depth),
    )


def conv_network(out_channels: int):
    """One 3x3 KRP convolution (1 kept row, padding 1): 2 -> out_channels channels on 4x4."""
    builder = NetworkBuilder((2, 4, 4))
    builder.conv(out_channels, kernel=3, rows_kept=1, name="conv")
    return builder.build()


def events(result):
    return [(event.event.value, event.tile, event.start, event.end) for event in result.trace]


# Shared figures of conv_network on config() (B = 4 bytes/cycle, L = 2):
#   Tr = 4 (one row group: 4 * 4 pixels <= Do, 4 input rows of 8 B fit Bi); P = 1, G = ceil(2/2) = 1
#   C_tile = 16 pixels * 1 + D 4 = 20
#   input load: 4 rows of 1 block (2 channels) x 4 columns = 32 B, one segment: 8 beats -> 2 + 8 = 10
#   weight load per tile: one step word of 2 x 2 items of 3 * 4 + 2 bits = 56 bits -> 2 beats,
#                         + 2 channels x 8 B of requant parameters -> 4 beats: 6 beats -> 2 + 6 = 8
#   store per tile: 4 row segments of 2 ch * 4 px = 8 B: 8 beats -> 10 cycles


def test_two_tiles_store_overlaps_next_compute():
    # 4 output channels, tn = 2: N = 2 tiles.
    # t=0: input and weight 0 requested; tie -> input [0,10); weight 0 [10,18).
    # t=18: tile 0 starts (its loads done, output half 0 free) and, as the first reader of weight
    #       load 0, requests weight load 1: granted at once [18,26). compute 0 [18,38).
    # t=38: tile 0 ends -> store 0 [38,48); tile 1 starts at 38 (weights since 26) [38,58):
    #       the store of tile 0 overlaps the compute of tile 1.
    # t=58: store 1 [58,68). Layer ends at 68.
    result = simulate(conv_network(4), config())
    assert events(result) == [
        ("load_input", 0, 0, 10),
        ("load_weight", 0, 10, 18),
        ("load_weight", 1, 18, 26),
        ("compute", 0, 18, 38),
        ("compute", 1, 38, 58),
        ("store_output", 0, 38, 48),
        ("store_output", 1, 58, 68),
    ]
    assert result.total_cycles == 68
    layer = result.layers[0]
    assert (layer.compute_cycles, layer.memory_cycles) == (40, 10 + 8 + 8 + 10 + 10)
    # the PE array waits 18 cycles for the first loads; the last store drains 10 cycles
    assert (layer.stall_cycles, layer.drain_cycles) == (18, 10)


def test_ddr_collision_store_wins_a_tie():
    # 6 output channels: 3 tiles. As above until t=38, where tile 1 starts and, as the first reader
    # of weight load 1, requests weight load 2 in the same cycle as the store of tile 0:
    # tie at 38 -> store first [38,48), weight 2 [48,56).
    # t=58: tile 1 ends: store 1 [58,68); tile 2 starts at 58 (weights since 56, half 0 freed at 48)
    # [58,78); t=78: store 2 [78,88).
    result = simulate(conv_network(6), config())
    assert events(result) == [
        ("load_input", 0, 0, 10),
        ("load_weight", 0, 10, 18),
        ("load_weight", 1, 18, 26),
        ("compute", 0, 18, 38),
        ("compute", 1, 38, 58),
        ("store_output", 0, 38, 48),
        ("load_weight", 2, 48, 56),
        ("compute", 2, 58, 78),
        ("store_output", 1, 58, 68),
        ("store_output", 2, 78, 88),
    ]
    assert result.total_cycles == 88


def test_low_bandwidth_stalls_and_earliest_request_wins():
    # B = 1 byte/cycle: input 2 + 32 = 34, weights 2 + (7 + 16) = 25, stores 2 + 4 * 8 = 34; 3 tiles.
    # input [0,34), weight 0 [34,59); tile 0 [59,79) requests weight 1 at 59: [59,84).
    # t=79: store 0 requested, channel busy until 84; tile 1 waits for weight 1 (stall 79..84).
    # t=84: store 0 granted [84,118); tile 1 starts [84,104) and requests weight 2 at 84.
    # t=104: tile 1 ends but the store engine is busy with store 0: store 1 is requested at 118.
    # t=118: pending weight 2 (made at 84) and store 1 (made at 118): the earlier wins although
    #        stores have priority on ties -> weight 2 [118,143), store 1 [143,177).
    # t=143: tile 2 starts [143,163); t=177: store 2 [177,211).
    result = simulate(conv_network(6), config(bytes_per_cycle=1))
    assert events(result) == [
        ("load_input", 0, 0, 34),
        ("load_weight", 0, 34, 59),
        ("load_weight", 1, 59, 84),
        ("compute", 0, 59, 79),
        ("compute", 1, 84, 104),
        ("store_output", 0, 84, 118),
        ("load_weight", 2, 118, 143),
        ("compute", 2, 143, 163),
        ("store_output", 1, 143, 177),
        ("store_output", 2, 177, 211),
    ]
    layer = result.layers[0]
    # stalls: 59 before tile 0, 5 before tile 1 (79..84), 39 before tile 2 (104..143); drain 48.
    assert (layer.compute_cycles, layer.stall_cycles, layer.drain_cycles) == (60, 103, 48)
    # The channel is busy every cycle: the layer is exactly memory bound.
    assert layer.cycles == layer.memory_cycles == 34 + 3 * 25 + 3 * 34 == 211


def test_two_row_groups_interleave_bursts():
    # Do = 8 words: Tr = 2 (2 rows * 4 px <= 8) -> 2 row groups x 2 channel groups = 4 tiles,
    # C_tile = 8 + 4 = 12. S = 16-byte requests.
    # Row group 0 reads input rows 0..2, row group 1 rows 1..3: 3 * 8 = 24 B = 6 beats = 4 + 2
    # -> requests of 2 + 4 = 6 and 2 + 2 = 4 cycles. Weights 6 beats -> 6 + 4. Stores 2 rows of
    # 8 B = 4 beats -> 6.
    # t=0   input 0 req 1 [0,6) (tie with weight 0 -> input)
    # t=6   input req 2 made at 6, weight 0 req 1 made at 0 -> weight [6,12)
    # t=12  input req 2 (6) [12,16) -> input 0 spans [0,16); weight req 2 (12) [16,20) -> [6,20)
    # t=20  tile 0 starts [20,32); it is the first reader of input 0 and of weight 0: both next
    #       loads requested at 20; tie -> input 1 req 1 [20,26); weight 1 req 1 [26,32)
    # t=32  tile 0 ends; store 0 requested at 32. Pending: input 1 req 2 (26), weight 1 req 2 (32),
    #       store 0 (32) -> input [32,36) (input 1 spans [20,36)); tie at 32 -> store 0 [36,42);
    #       weight 1 req 2 [42,46) (weight 1 spans [26,46)).
    # t=46  tile 1 [46,58) requests weight 2: [46,52) + [52,56).
    # t=58  store 1 (58) [58,64); tile 2 [58,70) requests weight 3 at 58 (tie, store first):
    #       weight 3 req 1 [64,70); at 70 its req 2 ties with store 2 -> store 2 [70,76),
    #       weight 3 req 2 [76,80). Tile 3 waits for weight 3: [80,92); store 3 [92,98).
    result = simulate(conv_network(4), config(burst=16, output_depth=8))
    assert events(result) == [
        ("load_input", 0, 0, 16),
        ("load_weight", 0, 6, 20),
        ("load_input", 2, 20, 36),
        ("compute", 0, 20, 32),
        ("load_weight", 1, 26, 46),
        ("store_output", 0, 36, 42),
        ("load_weight", 2, 46, 56),
        ("compute", 1, 46, 58),
        ("compute", 2, 58, 70),
        ("store_output", 1, 58, 64),
        ("load_weight", 3, 64, 80),
        ("store_output", 2, 70, 76),
        ("compute", 3, 80, 92),
        ("store_output", 3, 92, 98),
    ]
    layer = result.layers[0]
    assert (layer.tile_rows, layer.row_groups, layer.channel_groups) == (2, 2, 2)


def test_layer_barrier_and_residual_add_in_vector_mode():
    # conv: 1x1 KRP conv 2 -> 2 channels on 2x2 (one tile, P = G = 1): C_tile = 4 px + D 4 = 8.
    #   input 8 B -> 2 + 2 = 4; weights: one step word of 4 one-code items = 16 bits -> 1 beat,
    #   + 4 beats of parameters -> 2 + 5 = 7; store 2 rows of 4 B -> 4.
    #   input [0,4), weight [4,11), compute [11,19), store [19,23).
    # add (starts at 23, the end of the conv's last store): one tile (Tr = 2) of 2 channels.
    #   operand A 8 B [23,27); its requant params, 16 B = 4 beats -> 6 cycles, were requested
    #   at 23 by the weight engine, operand B at 27 -> params first [27,33), operand B [33,37).
    #   vector: channels 0-1 lie in one input group (G_0 = 1), 2 operands, 1 window block:
    #   2 steps per pixel -> 4 px * 2 + D 4 = 12 -> [37,49); store 8 B [49,53).
    builder = NetworkBuilder((2, 2, 2))
    conv = builder.conv(2, kernel=1, rows_kept=1, name="conv")
    builder.add(conv, "input", name="add")
    result = simulate(builder.build(), config())
    assert [(e.layer, e.event.value, e.tile, e.part, e.start, e.end) for e in result.trace] == [
        ("conv", "load_input", 0, 0, 0, 4),
        ("conv", "load_weight", 0, 0, 4, 11),
        ("conv", "compute", 0, 0, 11, 19),
        ("conv", "store_output", 0, 0, 19, 23),
        ("add", "load_input", 0, 0, 23, 27),
        ("add", "load_weight", 0, 0, 27, 33),
        ("add", "load_input", 0, 1, 33, 37),
        ("add", "vector", 0, 0, 37, 49),
        ("add", "store_output", 0, 0, 49, 53),
    ]
    assert [layer.cycles for layer in result.layers] == [23, 30]
    assert result.total_cycles == 53


def test_max_pool_loads_no_weights_and_steps_through_window_blocks():
    # 4x4 max pool of 3 channels on 4x4 (k = 3): ceil(4/3)^2 = 4 window blocks; tn = 2 -> tiles of
    # channels 0-1 (group 0) and channel 2 (group 1): G_n = 1, 1 pixel -> C_tile = 4 + D 4 = 8.
    #   input: 4 rows of 2 blocks (channels 0-1, 2-3 padded) x 4 columns x 2 = 64 B, 16 beats,
    #   one request -> 2 + 16 = 18: [0,18). No weight stream.
    #   compute 0 [18,26); store 0: one row of one 2-channel pixel, 2 B -> 2 + 1 [26,29);
    #   compute 1 [26,34); store 1 (channel 2 and its padding) [34,37).
    builder = NetworkBuilder((3, 4, 4))
    builder.pool(4, name="pool")
    result = simulate(builder.build(), config())
    assert events(result) == [
        ("load_input", 0, 0, 18),
        ("vector", 0, 18, 26),
        ("vector", 1, 26, 34),
        ("store_output", 0, 26, 29),
        ("store_output", 1, 34, 37),
    ]
    layer = result.layers[0]
    assert (layer.passes, layer.input_groups, layer.macs, layer.cycles) == (4, 2, 0, 37)
    assert (layer.ddr_bytes_read, layer.ddr_bytes_written) == (64, 4)


def test_average_pool_tiles_read_the_input_groups_of_their_channels():
    # 2x2 average pool of 3 channels on 2x2 with tm = 1: tile 0 (channels 0-1) reads groups 0 and 1
    # (G_0 = 2), tile 1 (channel 2) group 2 only (G_1 = 1). One pixel, one block:
    #   C_tile = 2 + 4 = 6 and 1 + 4 = 5.  input: 2 rows of 2 blocks x 2 columns x 2 channels =
    #   16 B = 4 beats -> 2 + 4 [0,6); parameters per tile, 2 x 8 B = 4 beats -> 6 cycles:
    #   weight 0 [6,12); tile 0 [12,18) requests weight 1 at 12: [12,18); tile 0's store (2 B,
    #   one beat: 3 cycles) [18,21); tile 1 [18,23); store 1 [23,26).
    builder = NetworkBuilder((3, 2, 2))
    builder.pool(2, kind=PoolKind.AVG, name="pool")
    result = simulate(builder.build(), config(tm=1))
    assert events(result) == [
        ("load_input", 0, 0, 6),
        ("load_weight", 0, 6, 12),
        ("load_weight", 1, 12, 18),
        ("vector", 0, 12, 18),
        ("vector", 1, 18, 23),
        ("store_output", 0, 18, 21),
        ("store_output", 1, 23, 26),
    ]


def test_flatten_is_free():
    builder = NetworkBuilder((2, 2, 2))
    builder.flatten(name="flatten")
    builder.linear(3, name="fc")
    result = simulate(builder.build(), config())
    flatten, fc = result.layers
    assert (flatten.cycles, flatten.ddr_bytes_read, flatten.ddr_bytes_written) == (0, 0, 0)
    assert all(event.layer == "fc" for event in result.trace)
    # fc as a 1x1 conv over 1x1: 8 inputs (2 rows x 1 block x 2 columns x 2 channels in DDR),
    # G = 4, 3 outputs -> N = 2 tiles of 1 pixel: 4 + 4 = 8.
    assert fc.compute_cycles == 2 * 8
    assert fc.start_cycle == 0


def test_each_segment_of_a_store_starts_a_new_beat():
    # 3x3 KRP conv 2 -> 2 channels on 3x3 (B = 4): one tile, Tr = 3 (3 rows of W_out = 3 rounded
    # up to 2 pixels per beat = 4 output words). input: 3 rows x 6 B = 18 B in one segment:
    # 5 beats -> [0,7); weights 6 beats [7,15); C_tile = 9 + 4 = 13 -> [15,28); store: 3 row
    # segments of 2 channels x 3 pixels = 6 B, each 2 beats (not 5 beats for 18 B) -> [28,36).
    builder = NetworkBuilder((2, 3, 3))
    builder.conv(2, kernel=3, rows_kept=1, name="conv")
    result = simulate(builder.build(), config())
    assert events(result) == [
        ("load_input", 0, 0, 7),
        ("load_weight", 0, 7, 15),
        ("compute", 0, 15, 28),
        ("store_output", 0, 28, 36),
    ]
    layer = result.layers[0]
    assert (layer.ddr_bytes_read, layer.ddr_bytes_written, layer.memory_cycles) == (18 + 24, 18, 7 + 8 + 8)


def test_a_flattened_map_keeps_its_padding_channels():
    # 3 channels on 2x2 in blocks of tn = 2 channels: the map occupies 2 rows x 2 blocks x 2 columns
    # x 2 channels = 16 activations in DDR, so the linear layer reads 16 inputs: G = 16 / 2 = 8
    # steps per tile of one pixel, C_tile = 8 + 4 = 12, for each of the 2 tiles of 4 outputs.
    builder = NetworkBuilder((3, 2, 2))
    builder.flatten(name="flatten")
    builder.linear(4, name="fc")
    result = simulate(builder.build(), config())
    fc = result.layers[1]
    assert (fc.input_groups, fc.compute_cycles) == (8, 2 * 12)
    assert fc.dense_macs == 4 * 12  # the real weights: padding is no work
