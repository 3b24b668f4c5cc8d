"""The timing contract as pure functions: a network bound to a configuration, tiled.

:func:`plan_network` turns an :class:`~accelsim.integer.graph.IntegerNetwork` and an
:class:`~accelsim.hw.HwConfig` into a :class:`NetworkPlan`: for each layer its tiles, the DDR
transfers (bytes) of its input, weight and output streams, and the cycles of each compute. Every
formula here is written in ``docs/microarchitecture.md`` (sections "Tiling", "Passes",
"DDR traffic"); the SimPy model (:mod:`accelsim.sim.engine`) only adds *when* things happen.
Binding checks that every tile fits the buffers and that the network's bit widths fit the
datapath, so bad input fails here, before any simulation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import ConfigError, UnsupportedLayerError
from ..hw.config import DdrConfig, HwConfig, PeKind
from ..hw.geometry import input_buffer, weight_buffer
from ..hw.intmath import bits_for, ceil_div
from ..hw.resources import REQUANT_BIAS_BITS, REQUANT_MULTIPLIER_BITS, require_fits
from ..integer.graph import (
    AddLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    Layer,
    LinearLayer,
    PoolLayer,
)

#: Bits of the requantization parameters of one output channel in DDR (multiplier + bias).
REQUANT_PARAM_BITS = REQUANT_MULTIPLIER_BITS + REQUANT_BIAS_BITS


class LayerKind(str, enum.Enum):
    """What a layer is."""

    CONV = "conv"
    LINEAR = "linear"
    POOL = "pool"
    ADD = "add"
    FLATTEN = "flatten"


class Unit(str, enum.Enum):
    """Which unit executes a layer."""

    PE = "pe"
    VECTOR = "vector"
    NONE = "none"


class EventKind(str, enum.Enum):
    """The trace vocabulary shared by the simulator and the RTL testbench."""

    LOAD_INPUT = "load_input"
    LOAD_WEIGHT = "load_weight"
    COMPUTE = "compute"
    VECTOR = "vector"
    STORE_OUTPUT = "store_output"


#: DDR arbitration priority on a tie of request cycles (lower wins): store, input, weight.
DDR_PRIORITY: dict[EventKind, int] = {
    EventKind.STORE_OUTPUT: 0,
    EventKind.LOAD_INPUT: 1,
    EventKind.LOAD_WEIGHT: 2,
}


@dataclass(frozen=True)
class LoadJob:
    """One load of a buffer half: the DDR transfers that fill it and the tiles that read it.

    Attributes:
        transfers: bytes of each DDR transfer, in order (two for a residual add's operands).
        bits: bits of the half occupied (words used x word width).
        first_tile, last_tile: indices of the first and last tile that read this half.
    """

    transfers: tuple[int, ...]
    bits: int
    first_tile: int
    last_tile: int


@dataclass(frozen=True)
class TilePlan:
    """One tile: which loaded halves it reads, its compute cycles and its store.

    Attributes:
        index: position in the layer's tile order.
        input_job: index of the input load it reads.
        weight_job: index of the weight load it reads, or ``None`` (no weights).
        cycles: PE-array (or vector-unit) cycles including the pipeline fill and drain.
        store_bytes: bytes written to DDR by its store.
        store_bits: bits of the output half it occupies.
    """

    index: int
    input_job: int
    weight_job: int | None
    cycles: int
    store_bytes: int
    store_bits: int


@dataclass(frozen=True)
class LayerPlan:
    """A layer bound to the hardware: tiling, loads, tiles and operation counts.

    Attributes:
        name, kind, unit: the layer, what it is, which unit runs it.
        tile_rows: output rows per tile (``Tr``); the last row group may be shorter.
        row_groups: ``R = ceil(H_out / Tr)``.
        channel_groups: output-channel groups ``N = ceil(C_out / tn)``.
        input_groups: input-channel groups of the input slab, ``G = ceil(C_in / tm)`` (twice
            that for an add's two operands; 0 for a flatten).
        passes: passes ``P`` per input-channel group (convolutions), window blocks
            ``ceil(K/kmax)**2`` (vector layers), 0 for a flatten.
        input_jobs, weight_jobs, tiles: the schedule's building blocks.
        macs: multiply-accumulates with a non-zero weight (the useful work).
        dense_macs: multiply-accumulates of the dense layer.
    """

    name: str
    kind: LayerKind
    unit: Unit
    tile_rows: int
    row_groups: int
    channel_groups: int
    input_groups: int
    passes: int
    input_jobs: tuple[LoadJob, ...]
    weight_jobs: tuple[LoadJob, ...]
    tiles: tuple[TilePlan, ...]
    macs: int
    dense_macs: int

    @property
    def compute_cycles(self) -> int:
        """Cycles the PE datapath alone needs: the sum of the tiles' cycles."""
        return sum(tile.cycles for tile in self.tiles)

    @property
    def ddr_bytes_read(self) -> int:
        """Bytes read from DDR (inputs, weights and parameters)."""
        return sum(sum(job.transfers) for job in self.input_jobs + self.weight_jobs)

    @property
    def ddr_bytes_written(self) -> int:
        """Bytes written to DDR (outputs)."""
        return sum(tile.store_bytes for tile in self.tiles)

    def transfers(self) -> Iterator[int]:
        """Bytes of every DDR transfer of the layer."""
        for job in self.input_jobs + self.weight_jobs:
            yield from job.transfers
        for tile in self.tiles:
            yield tile.store_bytes

    def memory_cycles(self, ddr: DdrConfig) -> int:
        """Cycles the DDR channel alone needs for all of the layer's transfers."""
        return sum(transfer_cycles(nbytes, ddr) for nbytes in self.transfers())


@dataclass(frozen=True)
class NetworkPlan:
    """A network bound to a configuration."""

    network: str
    config: HwConfig
    layers: tuple[LayerPlan, ...]


# --------------------------------------------------------------------------------------- DDR


def bursts(nbytes: int, ddr: DdrConfig) -> list[int]:
    """Sizes of the requests a transfer of ``nbytes`` is split into: full bursts, then the rest."""
    full, rest = divmod(nbytes, ddr.burst_bytes)
    return [ddr.burst_bytes] * full + ([rest] if rest else [])


def request_cycles(nbytes: int, ddr: DdrConfig) -> int:
    """Cycles one request of ``nbytes`` holds the channel: ``latency + ceil(nbytes / bytes_per_cycle)``."""
    return ddr.latency_cycles + ceil_div(nbytes, ddr.bytes_per_cycle)


def transfer_cycles(nbytes: int, ddr: DdrConfig) -> int:
    """Channel cycles of a whole transfer: the sum over its requests."""
    return sum(request_cycles(size, ddr) for size in bursts(nbytes, ddr))


def packed_bytes(elements: int, bits: int) -> int:
    """Bytes of ``elements`` values of ``bits`` bits packed densely: ``ceil(elements*bits/8)``."""
    return ceil_div(elements * bits, 8)


# ------------------------------------------------------------------------------ PE geometry


def passes(kind: PeKind, kernel_max: int, kernel: int, rows_kept: int | None) -> int:
    """Passes per input-channel group for a KxK kernel (``rows_kept`` None: dense layer).

    Dense kinds: ``ceil(K/kmax)**2`` window blocks. KRP unit on a dense layer: ``K`` rows, each in
    ``ceil(K/kmax)`` segments. KRP unit on a KRP layer: ``rows_kept * ceil(K/kmax)**2`` (the row
    differs per unit, so each row block and segment is visited, masked per unit, when K > kmax).
    """
    segments = ceil_div(kernel, kernel_max)
    if not kind.is_row_unit:
        return segments * segments
    if rows_kept is None:
        return kernel * segments
    return rows_kept * segments * segments


def weight_pair_bits(kind: PeKind, weight_bits: int, kernel: int, rows_kept: int | None) -> int:
    """DDR bits of the kernel of one (output, input) channel pair.

    KRP unit on a KRP layer: the kept rows, each ``K`` weights and a ``ceil(log2 K)``-bit row
    index. Otherwise the dense ``K*K`` weights (zeros included).
    """
    if kind.is_row_unit and rows_kept is not None:
        return rows_kept * (kernel * weight_bits + bits_for(kernel))
    return kernel * kernel * weight_bits


def input_rows(first_out: int, end_out: int, stride: int, padding: int, kernel: int, height: int) -> int:
    """Input rows (padding excluded) that output rows ``[first_out, end_out)`` read."""
    first = max(0, first_out * stride - padding)
    last = min(height - 1, (end_out - 1) * stride - padding + kernel - 1)
    return max(0, last - first + 1)


def row_bound(tile_rows: int, stride: int, kernel: int, height: int) -> int:
    """Most input rows a row group of ``tile_rows`` output rows can read: ``min((Tr-1)s + K, H)``."""
    return min((tile_rows - 1) * stride + kernel, height)


@dataclass(frozen=True)
class DatapathLayer:
    """A layer as the PE datapath runs it (``docs/microarchitecture.md``, sections 5 and 6).

    A linear layer is a 1x1 convolution over a 1x1 map. A pooling layer has ``C_in = C_out``
    and the pool's window; a residual add is a 1x1 window over two operands. Pooling and adds run
    in vector mode: each output lane reduces its own channel's window (no weights).

    Attributes:
        name, kind: the layer and what it is.
        c_in, c_out: input and output channels (equal for vector layers).
        h_in, w_in, h_out, w_out: feature-map sizes, pixels.
        kernel, stride, padding: the (square) window.
        rows_kept: kept rows per kernel of a KRP convolution, ``None`` for a dense one (and for
            vector layers).
        nonzeros: non-zero weights (0 for vector layers).
        operands: input tensors read per output (2 for an add, else 1).
        params: whether requantization parameters are loaded (all but max pooling).
    """

    name: str
    kind: LayerKind
    c_in: int
    c_out: int
    h_in: int
    w_in: int
    h_out: int
    w_out: int
    kernel: int
    stride: int
    padding: int
    rows_kept: int | None
    nonzeros: int
    operands: int
    params: bool

    @property
    def vector(self) -> bool:
        """Whether the layer runs in vector mode (pooling, residual add)."""
        return self.kind in (LayerKind.POOL, LayerKind.ADD)


def datapath_layer(
    layer: ConvLayer | LinearLayer | PoolLayer | AddLayer, input_shape: tuple[int, ...]
) -> DatapathLayer:
    """The datapath's view of a convolution, linear, pooling or residual-add layer.

    Raises:
        UnsupportedLayerError: a pooling or add whose tensors are not (C, H, W) feature maps.
    """
    if isinstance(layer, LinearLayer):
        return DatapathLayer(layer.name, LayerKind.LINEAR, layer.in_features, layer.out_features,
                             1, 1, 1, 1, 1, 1, 0, None, layer.nonzeros, 1, True)
    if isinstance(layer, ConvLayer):
        return DatapathLayer(layer.name, LayerKind.CONV, layer.in_channels, layer.out_channels,
                             layer.in_h, layer.in_w, layer.out_h, layer.out_w, layer.kernel,
                             layer.stride, layer.padding, layer.rows_kept if layer.is_krp else None,
                             layer.nonzeros, 1, True)
    if len(layer.output.shape) != 3 or len(input_shape) != 3:
        raise UnsupportedLayerError(
            f"layer {layer.name!r} must work on (C, H, W) feature maps, not {input_shape} -> "
            f"{layer.output.shape}"
        )
    channels, h_out, w_out = layer.output.shape
    _, h_in, w_in = input_shape
    if isinstance(layer, PoolLayer):
        return DatapathLayer(layer.name, LayerKind.POOL, channels, channels, h_in, w_in, h_out, w_out,
                             layer.kernel, layer.stride, layer.padding, None, 0, 1,
                             layer.requant is not None)
    return DatapathLayer(layer.name, LayerKind.ADD, channels, channels, h_in, w_in, h_out, w_out,
                         1, 1, 0, None, 0, 2, True)


def _input_words(config: HwConfig, groups: int, rows: int, width: int) -> int:
    """Words per input bank for a slab of ``groups`` input-channel groups: ``groups * ceil(rows/k) * ceil(W/k)``."""
    k = config.pe.kernel_max
    return groups * ceil_div(rows, k) * ceil_div(width, k)


def _largest_tile_rows(height: int, fits_rows: Callable[[int], bool]) -> int:
    """The largest ``Tr`` in ``[1, height]`` with ``fits_rows(Tr)`` true (0 if none)."""
    for rows in range(height, 0, -1):
        if fits_rows(rows):
            return rows
    return 0


def _row_groups(height: int, tile_rows: int) -> list[tuple[int, int]]:
    """``[first, end)`` output rows of each row group."""
    return [(first, min(height, first + tile_rows)) for first in range(0, height, tile_rows)]


def vector_blocks(kernel: int, kernel_max: int) -> int:
    """Window blocks of a vector layer: ``ceil(K/kmax)**2`` (each ``kmax x kmax``, row-major)."""
    return ceil_div(kernel, kernel_max) ** 2


def channel_groups_read(first: int, channels: int, tm: int) -> int:
    """Input-channel groups (of ``tm``) holding channels ``[first, first + channels)``: ``G_n``."""
    return (first + channels - 1) // tm - first // tm + 1


def _steps(view: DatapathLayer, config: HwConfig, first: int, channels: int) -> int:
    """Datapath steps per output pixel of the tile of output channels ``[first, first + channels)``.

    Convolution: ``P * ceil(C_in/tm)``. Vector layer: ``ceil(K/kmax)**2 * operands * G_n``.
    """
    pe = config.pe
    if view.vector:
        return (vector_blocks(view.kernel, pe.kernel_max) * view.operands
                * channel_groups_read(first, channels, pe.tm))
    return passes(pe.kind, pe.kernel_max, view.kernel, view.rows_kept) * ceil_div(view.c_in, pe.tm)


def plan_datapath_layer(view: DatapathLayer, config: HwConfig) -> LayerPlan:
    """Tile a layer for the PE datapath (``docs/microarchitecture.md``, sections 5 and 6).

    Raises:
        ConfigError: a buffer is too small for one tile of this layer.
    """
    pe, buf, a = config.pe, config.buffers, config.act_bits
    groups = ceil_div(view.c_in, pe.tm)
    slab_groups = view.operands * groups
    n_pass = 0 if view.vector else passes(pe.kind, pe.kernel_max, view.kernel, view.rows_kept)
    if not view.vector and n_pass * groups > buf.weight_depth:
        raise ConfigError(
            f"buffers.weight_depth must be at least {n_pass * groups} words for layer {view.name!r} "
            f"({groups} input-channel groups x {n_pass} passes), not {buf.weight_depth}"
        )
    if view.w_out > buf.output_depth:
        raise ConfigError(
            f"buffers.output_depth must be at least {view.w_out} words for layer {view.name!r} "
            f"(one output row of {view.w_out} pixels), not {buf.output_depth}"
        )

    def fits(rows: int) -> bool:
        slab = row_bound(rows, view.stride, view.kernel, view.h_in)
        return rows * view.w_out <= buf.output_depth and (
            _input_words(config, slab_groups, slab, view.w_in) <= buf.input_depth
        )

    tile_rows = _largest_tile_rows(view.h_out, fits)
    if tile_rows == 0:
        slab = row_bound(1, view.stride, view.kernel, view.h_in)
        need = _input_words(config, slab_groups, slab, view.w_in)
        operands = " of each of its 2 operands" if view.operands > 1 else ""
        raise ConfigError(
            f"buffers.input_depth must be at least {need} words for layer {view.name!r} (one output "
            f"row reads up to {slab} input rows of {view.c_in} channels x {view.w_in} columns{operands} "
            f"in {input_buffer(config).banks} banks), not {buf.input_depth}"
        )
    groups_out = ceil_div(view.c_out, pe.tn)
    pair_bits = 0 if view.vector else weight_pair_bits(
        pe.kind, config.weight_bits, view.kernel, view.rows_kept
    )
    weight_word = weight_buffer(config).word_bits
    row_ranges = _row_groups(view.h_out, tile_rows)

    channels_of = [min(pe.tn, view.c_out - group * pe.tn) for group in range(groups_out)]
    steps_of = [_steps(view, config, group * pe.tn, channels) for group, channels in enumerate(channels_of)]
    input_jobs: list[LoadJob] = []
    weight_jobs: list[LoadJob] = []
    tiles: list[TilePlan] = []
    for first, end in row_ranges:
        rows_in = input_rows(first, end, view.stride, view.padding, view.kernel, view.h_in)
        words = _input_words(config, slab_groups, rows_in, view.w_in)
        slab_bytes = packed_bytes(view.c_in * rows_in * view.w_in, a)
        start = len(tiles)
        input_jobs.append(LoadJob(_nonzero((slab_bytes,) * view.operands),
                                  words * input_buffer(config).banks * a, start,
                                  start + groups_out - 1))
        for group in range(groups_out):
            channels, steps = channels_of[group], steps_of[group]
            index = len(tiles)
            if view.params and (groups_out > 1 or not weight_jobs):
                weight_bytes = packed_bytes(channels * view.c_in, pair_bits) if pair_bits else 0
                weight_bytes += packed_bytes(channels, REQUANT_PARAM_BITS)
                weight_bits = steps * weight_word if not view.vector else channels * REQUANT_PARAM_BITS
                weight_jobs.append(LoadJob((weight_bytes,), weight_bits, index, index))
            pixels = (end - first) * view.w_out
            tiles.append(TilePlan(
                index=index,
                input_job=len(input_jobs) - 1,
                weight_job=len(weight_jobs) - 1 if view.params else None,
                cycles=pixels * steps + pe.pipeline_depth,
                store_bytes=packed_bytes(channels * pixels, a),
                store_bits=pixels * pe.tn * a,
            ))
    if groups_out == 1 and weight_jobs:  # one weight block serves every tile
        weight_jobs[0] = LoadJob(weight_jobs[0].transfers, weight_jobs[0].bits, 0, len(tiles) - 1)
    pixels_out = view.h_out * view.w_out
    return LayerPlan(
        name=view.name, kind=view.kind, unit=Unit.VECTOR if view.vector else Unit.PE,
        tile_rows=tile_rows, row_groups=len(row_ranges), channel_groups=groups_out,
        input_groups=slab_groups, passes=vector_blocks(view.kernel, pe.kernel_max) if view.vector else n_pass,
        input_jobs=tuple(input_jobs), weight_jobs=tuple(weight_jobs), tiles=tuple(tiles),
        macs=view.nonzeros * pixels_out,
        dense_macs=0 if view.vector else view.c_out * view.c_in * view.kernel * view.kernel * pixels_out,
    )


def _nonzero(transfers: tuple[int, ...]) -> tuple[int, ...]:
    """Drop empty transfers (a row group whose window lies wholly in the padding reads nothing)."""
    return tuple(size for size in transfers if size > 0)


def _flatten_plan(layer: FlattenLayer) -> LayerPlan:
    """A flatten is free: the (C, H, W) layout in DDR already is the flattened vector."""
    return LayerPlan(layer.name, LayerKind.FLATTEN, Unit.NONE, 0, 0, 0, 0, 0, (), (), (), 0, 0)


def _check_widths(layer: Layer, config: HwConfig) -> None:
    """The network's bit widths must fit the datapath's."""
    if layer.output.bits > config.act_bits:
        raise ConfigError(
            f"act_bits must be at least {layer.output.bits} (the output width of layer "
            f"{layer.name!r}), not {config.act_bits}"
        )
    if isinstance(layer, (ConvLayer, LinearLayer)):
        if layer.weight_bits > config.weight_bits:
            raise ConfigError(
                f"weight_bits must be at least {layer.weight_bits} (the weight width of layer "
                f"{layer.name!r}), not {config.weight_bits}"
            )
        if layer.acc_bits > config.acc_bits:
            raise ConfigError(
                f"acc_bits must be at least {layer.acc_bits} (the accumulator width of layer "
                f"{layer.name!r}), not {config.acc_bits}"
            )


def plan_layer(layer: Layer, shapes: dict[str, tuple[int, ...]], config: HwConfig) -> LayerPlan:
    """Bind one layer; ``shapes`` maps tensor names (``"input"`` and layer names) to shapes.

    Raises:
        ConfigError: widths or buffers too small. UnsupportedLayerError: unknown layer type.
    """
    _check_widths(layer, config)
    if isinstance(layer, (ConvLayer, LinearLayer, PoolLayer, AddLayer)):
        source = layer.inputs[0] if isinstance(layer, AddLayer) else layer.input
        return plan_datapath_layer(datapath_layer(layer, shapes[source]), config)
    if isinstance(layer, FlattenLayer):
        return _flatten_plan(layer)
    raise UnsupportedLayerError(f"layer {getattr(layer, 'name', layer)!r} has a type the accelerator does not run: "
                                f"{type(layer).__name__}")


def plan_network(network: IntegerNetwork, config: HwConfig) -> NetworkPlan:
    """Bind ``network`` to ``config``: check the design fits its device, tile every layer.

    Raises:
        ConfigError: the design does not fit its device, a buffer is too small for one tile of
            some layer, or a bit width is too narrow (the message names the field and layer).
        UnsupportedLayerError: a layer the accelerator cannot run.
    """
    require_fits(config, f"configuration {config.name!r}")
    shapes: dict[str, tuple[int, ...]] = {"input": network.input.shape}
    layers = []
    for layer in network.layers:
        layers.append(plan_layer(layer, shapes, config))
        shapes[layer.name] = layer.output.shape
    return NetworkPlan(network=network.name, config=config, layers=tuple(layers))
