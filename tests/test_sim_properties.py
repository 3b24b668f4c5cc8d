"""Property tests of the simulator over random layer shapes and configurations (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accelsim.errors import ConfigError
from accelsim.hw import (
    BufferConfig,
    DdrConfig,
    HwConfig,
    PeConfig,
    PeKind,
)
from accelsim.sim import NetworkBuilder, simulate

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def layers(draw):
    """A random convolution layer description."""
    kernel = draw(st.sampled_from([1, 2, 3, 5]))
    return {
        "channels": draw(st.integers(1, 9)),
        "height": draw(st.integers(1, 9)),
        "width": draw(st.integers(1, 9)),
        "out": draw(st.integers(1, 10)),
        "kernel": kernel,
        "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, kernel // 2)),
        "rows": draw(st.sampled_from([None, 1, 2])) if kernel > 1 else 1,
        "seed": draw(st.integers(0, 50)),
    }


@st.composite
def arrays(draw):
    """``(tn, tm)``: ``tn`` a power of two, ``tm`` a divisor or a multiple of it (section 1)."""
    tn = draw(st.sampled_from([1, 2, 4, 8]))
    tm = draw(st.sampled_from(sorted({d for d in (1, 2, 4, 8) if tn % d == 0} | {tn, 2 * tn, 3 * tn})))
    return tn, tm


@st.composite
def configs(draw):
    tn, tm = draw(arrays())
    return HwConfig(
        pe=PeConfig(kind=draw(st.sampled_from(list(PeKind))), tn=tn, tm=tm,
                    kernel_max=draw(st.sampled_from([2, 3])), pipeline_depth=draw(st.integers(1, 12))),
        ddr=DdrConfig(bytes_per_cycle=(beat := draw(st.sampled_from([1, 2, 4, 8, 16]))),
                      latency_cycles=draw(st.integers(0, 30)),
                      burst_bytes=beat * draw(st.sampled_from([1, 2, 5, 16, 256]))),
        buffers=BufferConfig(input_bytes=draw(st.integers(8, 1024)), weight_depth=1024,
                             output_depth=draw(st.integers(9, 64))),
    )


def network(spec, config: HwConfig, tail: str = "none"):
    """The random layer ``spec`` with weights in the format ``config``'s PE kind applies."""
    try:
        return build(spec, config, tail)
    except ConfigError:
        assume(False)  # a kernel larger than the padded input


def build(spec, config: HwConfig, tail: str):
    builder = NetworkBuilder((spec["channels"], spec["height"], spec["width"]), seed=spec["seed"],
                             weights=config.pe.kind.weight_format)
    first = builder.conv(spec["out"], kernel=spec["kernel"], stride=spec["stride"], padding=spec["padding"],
                         rows_kept=spec["rows"], name="conv")
    shape = builder.build().layers[-1].output.shape
    if tail == "pool" and min(shape[1:]) >= 2:
        builder.pool(2, name="pool")
    elif tail == "add":
        builder.add(first, builder.conv(shape[0], kernel=3, source=first, name="conv2"), name="add")
    elif tail == "linear":
        builder.flatten(name="flatten")
        builder.linear(5, density=0.5, name="fc")
    return builder.build()


def simulate_or_reject(net, config):
    try:
        return simulate(net, config)
    except ConfigError:
        assume(False)  # a buffer too small for this random shape: rejected at bind time (test_sim_plan)


@SETTINGS
@given(layers(), configs(), st.sampled_from(["none", "pool", "add", "linear"]))
def test_cycles_lie_between_the_bounds(spec, config, tail):
    result = simulate_or_reject(network(spec, config, tail), config)
    for layer in result.layers:
        assert max(layer.compute_cycles, layer.memory_cycles) <= layer.cycles
        assert layer.cycles <= layer.compute_cycles + layer.memory_cycles  # no extra overhead
        assert layer.cycles == layer.compute_cycles + layer.stall_cycles + layer.drain_cycles
        assert 0 <= layer.pe_utilization <= 1
    assert result.total_cycles == sum(layer.cycles for layer in result.layers)


@SETTINGS
@given(layers(), configs(), st.integers(1, 4), st.sampled_from(["none", "pool", "add"]))
def test_more_ddr_bandwidth_never_increases_latency(spec, config, extra, tail):
    # wider beats with the same beats per request (a request of a segment-padded transfer holds
    # fewer bytes in a wider beat: section 12)
    net = network(spec, config, tail)
    slow = simulate_or_reject(net, config)
    faster = {"ddr.burst_bytes": config.ddr.burst_bytes << extra,
              "ddr.bytes_per_cycle": config.ddr.bytes_per_cycle << extra}
    fast = simulate(net, config.replace(**faster))
    assert fast.total_cycles <= slow.total_cycles
    assert all(f.memory_cycles <= s.memory_cycles for f, s in zip(fast.layers, slow.layers))


@SETTINGS
@given(layers(), configs(), st.sampled_from(["tn", "tm"]))
def test_more_pe_units_never_increase_the_compute_bound(spec, config, axis):
    # Twice the units of either axis never add compute cycles while the tiling stays (a wider tn
    # pads a map's rows to larger channel blocks, which can shorten the tiles: section 9). The
    # memory bound has no such rule: blocks of tn channels and step words of tn x tm items move
    # more padding for layers narrower than the array.
    net = network(spec, config)
    base = simulate_or_reject(net, config)
    change = {"pe.tn": 2 * config.pe.tn} if axis == "tn" else {"pe.tm": 2 * config.pe.tm}
    try:
        wider = config.replace(**change)
    except ConfigError:
        assume(False)  # tm = 3 tn does not fit tn doubled
    more = simulate_or_reject(net, wider)
    for bigger, smaller in zip(more.layers, base.layers):
        if bigger.tile_rows == smaller.tile_rows:
            assert bigger.compute_cycles <= smaller.compute_cycles


def test_a_taller_tile_can_load_more_rows_when_stride_exceeds_kernel():
    # 1x1 conv, stride 2, 9 input rows of 2 blocks (tn = 1) x 1 column = 2 B each, B = 1.
    # Bi = 10 B allows Tr = 3: row groups read input rows 0..4 (output rows 0-2, 10 B) and 6..8
    # (output rows 3-4, 6 B): 8 rows, row 5 skipped. Bi = 18 B fits all 5 output rows in one
    # group: the span 0..8 = 9 rows. Weights per load: 2 steps (tm = 1) of one 4-bit item = 1 beat
    # each, 8 beats of parameters.
    builder = NetworkBuilder((2, 9, 1))
    builder.conv(1, kernel=1, stride=2, padding=0, rows_kept=1)
    net = builder.build()
    config = HwConfig(pe=PeConfig(tn=1, tm=1, kernel_max=2),
                      ddr=DdrConfig(bytes_per_cycle=1, burst_bytes=1024),
                      buffers=BufferConfig(input_bytes=10, weight_depth=1024, output_depth=9))
    narrow = simulate(net, config).layers[0]
    wide = simulate(net, config.replace(**{"buffers.input_bytes": 18})).layers[0]
    assert (narrow.row_groups, wide.row_groups) == (2, 1)
    params_and_weights = 2 + 8
    assert narrow.ddr_bytes_read == 2 * 8 * 1 + params_and_weights
    assert wide.ddr_bytes_read == 2 * 9 * 1 + params_and_weights


def test_more_pe_units_can_increase_latency():
    # Not a bug: docs/microarchitecture.md section 9. C_in = 1, C_out = 2 on a 1x1 map, B = 1, L = 0,
    # tm = 2 (a 3x3 KRP kernel on a 1x1 map: every item is a full 14-bit item).
    # tn = 1: two tiles. input: one block of 1 channel, 1 B [0,1); weights 0: one step word of
    #   1 x 2 items of 14 bits = 4 beats + 8 B params = 12 cycles [1,13); tile 0 (1 px + D 3 = 4)
    #   [13,17) overlaps weights 1 [13,25); store 0 [25,26); tile 1 [25,29); store 1 [29,30): 30.
    # tn = 2: one tile: input 2 B (a 2-channel block) [0,2); weights 2 x 2 items = 7 beats + 16 B
    #   = 23 cycles [2,25), nothing to overlap: tile [25,29), store 2 B [29,31): 31 cycles.
    builder = NetworkBuilder((1, 1, 1))
    builder.conv(2, kernel=3, rows_kept=1)
    net = builder.build()

    def config(tn: int) -> HwConfig:
        return HwConfig(pe=PeConfig(tn=tn, tm=2, pipeline_depth=3),
                        ddr=DdrConfig(bytes_per_cycle=1, latency_cycles=0, burst_bytes=1024))

    one, two = simulate(net, config(1)), simulate(net, config(2))
    assert (one.total_cycles, two.total_cycles) == (30, 31)
    assert two.layers[0].compute_cycles < one.layers[0].compute_cycles


def expected_bytes(spec, config: HwConfig, tile_rows: int) -> tuple[int, int]:
    """DDR bytes read and written by one conv layer, counted from scratch (8-bit activations):
    rows of whole channel blocks, step words and parameters in whole beats (section 2)."""
    k_, s_, p_ = spec["kernel"], spec["stride"], spec["padding"]
    c_in, h, w, c_out = spec["channels"], spec["height"], spec["width"], spec["out"]
    tn, tm, kmax, beat = config.pe.tn, config.pe.tm, config.pe.kernel_max, config.ddr.bytes_per_cycle
    h_out, w_out = (h + 2 * p_ - k_) // s_ + 1, (w + 2 * p_ - k_) // s_ + 1
    groups = [(first, min(h_out, first + tile_rows)) for first in range(0, h_out, tile_rows)]
    row_in = -(-c_in // tn) * tn * w
    inputs = 0
    for first, end in groups:  # the span of input rows the group's windows touch, padding excluded
        touched = {y * s_ - p_ + ky for y in range(first, end) for ky in range(k_)} & set(range(h))
        inputs += row_in * (max(touched) - min(touched) + 1) if touched else 0
    row_unit = config.pe.kind is PeKind.KRP_GSNQ
    item = config.weight_bits if k_ == 1 else (
        kmax * config.weight_bits + math.ceil(math.log2(kmax)) if row_unit else kmax * kmax * config.weight_bits)
    segments = -(-k_ // kmax)
    passes = (segments * segments if not row_unit else
              (k_ * segments if spec["rows"] is None else spec["rows"] * segments * segments))
    steps = passes * -(-c_in // tm)
    word_beats = -(-(tn * tm * item) // (8 * beat))
    weights = (steps * word_beats + -(-(8 * tn) // beat)) * beat
    channel_groups = -(-c_out // tn)
    loads = len(groups) * channel_groups if channel_groups > 1 else 1  # one per tile, or one in all
    return inputs + loads * weights, channel_groups * tn * h_out * w_out


@SETTINGS
@given(layers(), configs())
def test_ddr_bytes_are_what_the_tiling_must_move(spec, config):
    result = simulate_or_reject(network(spec, config), config)
    layer = result.layers[0]
    read, written = expected_bytes(spec, config, layer.tile_rows)
    assert (layer.ddr_bytes_read, layer.ddr_bytes_written) == (read, written)
    # and the trace moved exactly that
    moved = {}
    for event in result.trace:
        moved[event.event.value] = moved.get(event.event.value, 0) + 1
    assert moved["compute"] == layer.tiles


@SETTINGS
@given(layers(), configs())
def test_tile_rows_are_the_largest_that_fit(spec, config):
    result = simulate_or_reject(network(spec, config), config)
    layer = result.layers[0]
    h_out = layer.row_groups and (spec["height"] + 2 * spec["padding"] - spec["kernel"]) // spec["stride"] + 1
    w_out = (spec["width"] + 2 * spec["padding"] - spec["kernel"]) // spec["stride"] + 1

    def fits(rows: int) -> bool:
        slab = min((rows - 1) * spec["stride"] + spec["kernel"], spec["height"])
        row_in = -(-spec["channels"] // config.pe.tn) * config.pe.tn * spec["width"]
        return rows * w_out <= config.buffers.output_depth and slab * row_in <= config.buffers.input_bytes

    assert fits(layer.tile_rows)
    assert layer.tile_rows == h_out or not fits(layer.tile_rows + 1)
    half = {"input": 8 * config.buffers.input_bytes,
            "output": config.pe.tn * config.buffers.output_depth * config.act_bits}
    assert layer.input_peak_bits <= 2 * half["input"]
    assert layer.output_peak_bits <= 2 * half["output"]
