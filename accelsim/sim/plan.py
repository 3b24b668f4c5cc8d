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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import ConfigError, UnsupportedLayerError, brief
from ..hw.config import DdrConfig, HwConfig, PeKind, check_config
from ..hw.geometry import (
    REQUANT_PARAM_BITS,
    ddr_elements,
    packed_bytes,
    param_beats,
    row_bytes,
    step_beats,
)
from ..hw.intmath import ceil_div
from ..hw.resources import require_fits
from ..integer.graph import (
    AddLayer,
    ConcatLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    Layer,
    LinearLayer,
    PoolAxis,
    PoolLayer,
    WeightFormat,
)


class LayerKind(str, enum.Enum):
    """What a layer is."""

    CONV = "conv"
    LINEAR = "linear"
    POOL = "pool"
    ADD = "add"
    FLATTEN = "flatten"
    CONCAT = "concat"


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
class Transfer:
    """One DDR transfer: ``segments`` contiguous runs of ``segment_bytes`` bytes each.

    Each segment starts a new DDR beat (``docs/microarchitecture.md``, section 7), so a transfer
    carries ``segments * ceil(segment_bytes / bytes_per_cycle)`` data beats.
    """

    segments: int
    segment_bytes: int

    @property
    def nbytes(self) -> int:
        """Bytes moved."""
        return self.segments * self.segment_bytes

    def beats(self, ddr: DdrConfig) -> int:
        """Data beats on the DDR channel."""
        return self.segments * ceil_div(self.segment_bytes, ddr.bytes_per_cycle)


@dataclass(frozen=True)
class LoadJob:
    """One load of a buffer half: the DDR transfers that fill it and the tiles that read it.

    Attributes:
        transfers: the DDR transfers, in order (two for a residual add's operands).
        bits: bits of the half occupied (whole beats, as written).
        first_tile, last_tile: indices of the first and last tile that read this half.
    """

    transfers: tuple[Transfer, ...]
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
        cycles: PE-datapath cycles including the pipeline fill and drain.
        store: its DDR store (one segment per output row of the tile).
        store_bits: bits of the output half it occupies.
    """

    index: int
    input_job: int
    weight_job: int | None
    cycles: int
    store: Transfer
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
            ``ceil(Ky/kmax) * ceil(Kx/kmax)`` (vector layers), 0 for a flatten or concatenation.
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
        """Bytes read from DDR (inputs, weights and parameters; padding included)."""
        return sum(transfer.nbytes for job in self.input_jobs + self.weight_jobs for transfer in job.transfers)

    @property
    def ddr_bytes_written(self) -> int:
        """Bytes written to DDR (outputs; padding channels included)."""
        return sum(tile.store.nbytes for tile in self.tiles)

    def transfers(self) -> Iterator[Transfer]:
        """Every DDR transfer of the layer."""
        for job in self.input_jobs + self.weight_jobs:
            yield from job.transfers
        for tile in self.tiles:
            yield tile.store

    def memory_cycles(self, ddr: DdrConfig) -> int:
        """Cycles the DDR channel alone needs for all of the layer's transfers."""
        return sum(transfer_cycles(transfer, ddr) for transfer in self.transfers())


@dataclass(frozen=True)
class NetworkPlan:
    """A network bound to a configuration."""

    network: str
    config: HwConfig
    layers: tuple[LayerPlan, ...]


# --------------------------------------------------------------------------------------- DDR


def bursts(beats: int, ddr: DdrConfig) -> list[int]:
    """Data beats of the requests a transfer of ``beats`` beats is split into: full ones, then the rest."""
    per_request = ddr.burst_bytes // ddr.bytes_per_cycle
    full, rest = divmod(beats, per_request)
    return [per_request] * full + ([rest] if rest else [])


def request_cycles(beats: int, ddr: DdrConfig) -> int:
    """Cycles one request of ``beats`` data beats holds the channel: ``latency + beats``."""
    return ddr.latency_cycles + beats


def transfer_cycles(transfer: Transfer, ddr: DdrConfig) -> int:
    """Channel cycles of a whole transfer: the sum over its requests."""
    return sum(request_cycles(size, ddr) for size in bursts(transfer.beats(ddr), ddr))


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


def input_rows(axis: PoolAxis, first_out: int, end_out: int, height: int) -> int:
    """Input rows (padding excluded) that the windows of output rows ``[first_out, end_out)``
    read: ``[start(first), end(last))`` clipped to ``[0, height)``."""
    first = max(0, axis.start(first_out))
    last = min(height, axis.end(end_out - 1))
    return max(0, last - first)


def row_bound(axis: PoolAxis, tile_rows: int, height: int) -> int:
    """Most input rows a row group of ``tile_rows`` output rows can read:
    ``min(ceil(((Tr-1)*step + span)/den), H)`` (``min((Tr-1)s + K, H)`` for regular windows)."""
    return min(ceil_div((tile_rows - 1) * axis.step + axis.span, axis.den), height)


@dataclass(frozen=True)
class DatapathLayer:
    """A layer as the PE datapath runs it (``docs/microarchitecture.md``, sections 5 and 6).

    A linear layer is a 1x1 convolution over a 1x1 map. A pooling layer has ``C_in = C_out``
    and the pool's windows; a residual add is a 1x1 window over two operands. Pooling and adds
    run in vector mode: each output lane reduces its own channel's window (no weights).

    Attributes:
        name, kind: the layer and what it is.
        c_in, c_out: input and output channels (equal for vector layers).
        h_in, w_in, h_out, w_out: feature-map sizes, pixels.
        kernel: a convolution's K (its weights' side; 1 for linear layers and adds, the largest
            window side for a pooling).
        rows, cols: the windows along the rows and the columns (a convolution's and an add's are
            regular: ``PoolAxis.regular(K, stride, padding)``).
        rows_kept: kept rows per kernel of a KRP convolution, ``None`` for a dense one (and for
            vector layers).
        nonzeros: non-zero weights (0 for vector layers).
        weights: weights of the dense layer (0 for vector layers).
        operands: input tensors read per output (2 for an add, else 1).
        params: whether requantization parameters are loaded (all but max pooling).
        groups: a convolution's groups (``C_in / groups`` input channels per output channel).
        strided: per operand, whether each of its input rows is its own DDR segment (the operand is
            a slice of a concatenation, whose rows lie a concatenated row apart); empty: none.
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
    rows: PoolAxis
    cols: PoolAxis
    rows_kept: int | None
    nonzeros: int
    weights: int
    operands: int
    params: bool
    groups: int = 1
    strided: tuple[bool, ...] = ()

    @property
    def vector(self) -> bool:
        """Whether the layer runs in vector mode (pooling, residual add)."""
        return self.kind in (LayerKind.POOL, LayerKind.ADD)

    def input_channels(self, first: int, channels: int) -> tuple[int, int]:
        """``[lo, hi)``: the input channels output channels ``[first, first + channels)`` read
        (their own for a vector layer, their groups' for a grouped convolution)."""
        if self.vector:
            return first, first + channels
        group_in, group_out = self.c_in // self.groups, self.c_out // self.groups
        return first // group_out * group_in, ((first + channels - 1) // group_out + 1) * group_in

    def blocks(self, kernel_max: int) -> tuple[int, int]:
        """Window blocks of ``kmax x kmax`` per side (rows, columns) a vector layer's window needs."""
        return (ceil_div(self.rows.window(self.h_out), kernel_max),
                ceil_div(self.cols.window(self.w_out), kernel_max))


def datapath_layer(
    layer: ConvLayer | LinearLayer | PoolLayer | AddLayer, input_shape: tuple[int, ...],
    strided: tuple[bool, ...] = (),
) -> DatapathLayer:
    """The datapath's view of a convolution, linear, pooling or residual-add layer.

    ``input_shape`` is the shape of the (first) input tensor as it lies in DDR; a linear layer's
    input channels are its length (a flattened map's padding channels included; section 2).
    ``strided``: the input is a slice of a concatenation (:attr:`DatapathLayer.strided`).

    Raises:
        UnsupportedLayerError: a pooling or add whose tensors are not (C, H, W) feature maps, or a
            pooling window wholly in the padding.
    """
    one = PoolAxis.regular(1, 1)
    if isinstance(layer, LinearLayer):
        return DatapathLayer(layer.name, LayerKind.LINEAR, input_shape[0], layer.out_features,
                             1, 1, 1, 1, 1, one, one, None, layer.nonzeros, layer.weights.size, 1, True)
    if isinstance(layer, ConvLayer):
        axis = PoolAxis.regular(layer.kernel, layer.stride, layer.padding)
        return DatapathLayer(layer.name, LayerKind.CONV, layer.in_channels, layer.out_channels,
                             layer.in_h, layer.in_w, layer.out_h, layer.out_w, layer.kernel, axis, axis,
                             layer.rows_kept if layer.is_krp else None, layer.nonzeros, layer.weights.size,
                             1, True, layer.groups, strided)
    if len(layer.output.shape) != 3 or len(input_shape) != 3:
        raise UnsupportedLayerError(
            f"layer {layer.name!r} must work on (C, H, W) feature maps, not {input_shape} -> "
            f"{layer.output.shape}"
        )
    channels, h_out, w_out = layer.output.shape
    _, h_in, w_in = input_shape
    if isinstance(layer, PoolLayer):
        layer.check_windows(h_in, w_in)
        side = max(layer.rows.window(h_out), layer.cols.window(w_out))
        return DatapathLayer(layer.name, LayerKind.POOL, channels, channels, h_in, w_in, h_out, w_out,
                             side, layer.rows, layer.cols, None, 0, 0, 1, layer.requant is not None,
                             strided=strided)
    return DatapathLayer(layer.name, LayerKind.ADD, channels, channels, h_in, w_in, h_out, w_out,
                         1, one, one, None, 0, 0, 2, True, strided=strided)


def _largest_tile_rows(height: int, fits_rows: Callable[[int], bool]) -> int:
    """The largest ``Tr`` in ``[1, height]`` with ``fits_rows(Tr)`` true (0 if none)."""
    for rows in range(height, 0, -1):
        if fits_rows(rows):
            return rows
    return 0


def _row_groups(height: int, tile_rows: int) -> list[tuple[int, int]]:
    """``[first, end)`` output rows of each row group."""
    return [(first, min(height, first + tile_rows)) for first in range(0, height, tile_rows)]


def input_groups(lo: int, hi: int, tm: int, tn: int) -> int:
    """Input-channel groups of ``tm`` that the steps of input channels ``[lo, hi)`` read: ``G_n``.

    The first group starts at ``lo`` rounded down to ``min(tm, tn)`` (a group is a ``tm``-slice of
    a channel block, or ``tm / tn`` whole blocks from any block), so ``G_n = ceil((hi - that)/tm)``.
    """
    unit = min(tm, tn)
    return ceil_div(hi - lo // unit * unit, tm)


def _steps_per_group(view: DatapathLayer, config: HwConfig) -> int:
    """Datapath steps per output pixel and input-channel group read; a tile's steps per output pixel
    are this times ``G_n``, the groups holding the input channels of its outputs (all of them,
    ``ceil(C_in/tm)``, unless grouped): ``P * G_n`` for a convolution, window blocks ``* operands *
    G_n`` for a vector layer."""
    pe = config.pe
    if view.vector:
        blocks_y, blocks_x = view.blocks(pe.kernel_max)
        return blocks_y * blocks_x * view.operands
    return passes(pe.kind, pe.kernel_max, view.kernel, view.rows_kept)


def _weight_transfer(view: DatapathLayer, config: HwConfig, steps: int) -> tuple[Transfer, int]:
    """The weight transfer of one channel group and the bits it occupies in its half.

    A convolution moves ``steps`` step words of ``step_beats`` beats each, then the parameters
    (``param_beats``); a vector layer only the parameters (section 2).
    """
    beat = config.ddr.bytes_per_cycle
    words = 0 if view.vector else steps * step_beats(config, view.kernel)
    transfer = Transfer(1, (words + param_beats(config)) * beat)
    bits = 8 * beat * words if words else config.pe.tn * REQUANT_PARAM_BITS
    return transfer, bits


@dataclass(frozen=True)
class DatapathTiling:
    """How a datapath layer is cut into tiles: the numbers :func:`plan_datapath_layer` builds its
    loads and tiles from (``docs/microarchitecture.md``, sections 5 and 6).

    They depend on the layer's view and on the configuration's ``pe``, ``buffers`` and
    ``act_bits`` only (not on the DDR or the clock), so the fast engine of
    :mod:`accelsim.dse.fastsim` computes them once per such combination.

    Attributes:
        groups: input-channel groups of ``tm``, ``ceil(C_in / tm)``.
        groups_out: output-channel groups ``N = ceil(C_out / tn)``.
        passes: passes ``P`` per input-channel group (0 for a vector layer).
        steps: datapath steps per output pixel of each channel group (``P * G_n``, or a vector
            layer's blocks x operands x ``G_n``).
        in_row: DDR bytes of one input row (every block).
        tile_rows: output rows per tile ``Tr``.
        row_ranges: ``[first, end)`` output rows of each row group.
        rows_in: input rows each row group loads (padding excluded).
        store_row: DDR bytes of one output row of one channel group.
    """

    groups: int
    groups_out: int
    passes: int
    steps: tuple[int, ...]
    in_row: int
    tile_rows: int
    row_ranges: tuple[tuple[int, int], ...]
    rows_in: tuple[int, ...]
    store_row: int


def tile_datapath_layer(view: DatapathLayer, config: HwConfig) -> DatapathTiling:
    """The tiling of a layer on the PE datapath (reads only ``config.pe``, ``config.buffers`` and
    ``config.act_bits``).

    Raises:
        ConfigError: a buffer is too small for one tile of this layer.
    """
    pe, buf, a = config.pe, config.buffers, config.act_bits
    groups = ceil_div(view.c_in, pe.tm)
    groups_out = ceil_div(view.c_out, pe.tn)
    n_pass = 0 if view.vector else passes(pe.kind, pe.kernel_max, view.kernel, view.rows_kept)
    per_group = _steps_per_group(view, config)
    steps_of = tuple(per_group * input_groups(*view.input_channels(group * pe.tn, min(pe.tn, view.c_out - group * pe.tn)),
                                              pe.tm, pe.tn)
                     for group in range(groups_out))
    if not view.vector and max(steps_of) > buf.weight_depth:
        read = max(steps_of) // n_pass
        raise ConfigError(
            f"buffers.weight_depth must be at least {max(steps_of)} step words for layer {view.name!r} "
            f"({read} input-channel groups x {n_pass} passes), not {buf.weight_depth}"
        )
    in_row = row_bytes(view.c_in, view.w_in, config)
    if view.w_out > buf.output_depth:
        raise ConfigError(
            f"buffers.output_depth must be at least {view.w_out} pixels for layer {view.name!r} "
            f"(one output row), not {buf.output_depth}"
        )

    def slab_bytes(rows: int) -> int:
        """Input-buffer bytes of ``rows`` input rows of every operand."""
        return view.operands * rows * in_row

    def fits(tile_rows: int) -> bool:
        if tile_rows * view.w_out > buf.output_depth:
            return False
        return slab_bytes(row_bound(view.rows, tile_rows, view.h_in)) <= buf.input_bytes

    tile_rows = _largest_tile_rows(view.h_out, fits)
    if tile_rows == 0:
        rows = row_bound(view.rows, 1, view.h_in)
        operands = f" of each of its {view.operands} operands" if view.operands > 1 else ""
        raise ConfigError(
            f"buffers.input_bytes must be at least {slab_bytes(rows)} for layer {view.name!r} (one output "
            f"row reads up to {rows} input rows of {in_row} bytes{operands}), not {buf.input_bytes}"
        )
    row_ranges = tuple(_row_groups(view.h_out, tile_rows))
    return DatapathTiling(
        groups=groups, groups_out=groups_out, passes=n_pass, steps=steps_of, in_row=in_row,
        tile_rows=tile_rows, row_ranges=row_ranges,
        rows_in=tuple(input_rows(view.rows, first, end, view.h_in) for first, end in row_ranges),
        store_row=packed_bytes(pe.tn * view.w_out, a),
    )


def plan_datapath_layer(view: DatapathLayer, config: HwConfig) -> LayerPlan:
    """Tile a layer for the PE datapath (``docs/microarchitecture.md``, sections 5 and 6).

    Raises:
        ConfigError: a buffer is too small for one tile of this layer.
    """
    tiling = tile_datapath_layer(view, config)
    pe, a = config.pe, config.act_bits
    groups_out, in_row, store_row = tiling.groups_out, tiling.in_row, tiling.store_row
    # one weight transfer per distinct step count (the same for every row group)
    weights = {steps: _weight_transfer(view, config, steps) for steps in set(tiling.steps)} if view.params else {}
    strided = view.strided or (False,) * view.operands
    input_jobs: list[LoadJob] = []
    weight_jobs: list[LoadJob] = []
    tiles: list[TilePlan] = []
    for (first, end), rows_in in zip(tiling.row_ranges, tiling.rows_in):
        start = len(tiles)
        transfers = _nonzero(tuple(Transfer(rows_in, in_row) if sliced else Transfer(1, rows_in * in_row)
                                   for sliced in strided))
        input_jobs.append(LoadJob(transfers, 8 * view.operands * rows_in * in_row, start, start + groups_out - 1))
        rows = end - first
        store = Transfer(rows, store_row)
        store_bits = rows * view.w_out * pe.tn * a
        for steps in tiling.steps:
            index = len(tiles)
            if view.params and (groups_out > 1 or not weight_jobs):
                transfer, bits = weights[steps]
                weight_jobs.append(LoadJob((transfer,), bits, index, index))
            tiles.append(TilePlan(
                index=index,
                input_job=len(input_jobs) - 1,
                weight_job=len(weight_jobs) - 1 if view.params else None,
                cycles=rows * view.w_out * steps + pe.pipeline_depth,
                store=store,
                store_bits=store_bits,
            ))
    if groups_out == 1 and weight_jobs:  # one weight block serves every tile
        weight_jobs[0] = LoadJob(weight_jobs[0].transfers, weight_jobs[0].bits, 0, len(tiles) - 1)
    pixels_out = view.h_out * view.w_out
    return LayerPlan(
        name=view.name, kind=view.kind, unit=Unit.VECTOR if view.vector else Unit.PE,
        tile_rows=tiling.tile_rows, row_groups=len(tiling.row_ranges), channel_groups=groups_out,
        input_groups=view.operands * tiling.groups,
        passes=view.blocks(pe.kernel_max)[0] * view.blocks(pe.kernel_max)[1] if view.vector else tiling.passes,
        input_jobs=tuple(input_jobs), weight_jobs=tuple(weight_jobs), tiles=tuple(tiles),
        macs=view.nonzeros * pixels_out,
        dense_macs=view.weights * pixels_out,
    )


def _nonzero(transfers: tuple[Transfer, ...]) -> tuple[Transfer, ...]:
    """Drop empty transfers (a row group whose window lies wholly in the padding reads nothing)."""
    return tuple(transfer for transfer in transfers if transfer.nbytes > 0)


def _free_plan(layer: FlattenLayer | ConcatLayer) -> LayerPlan:
    """A flatten or a channel concatenation is free: its output already lies in DDR as it should
    (a flatten's vector is the map's bytes; a concatenation's inputs were stored into it)."""
    kind = LayerKind.FLATTEN if isinstance(layer, FlattenLayer) else LayerKind.CONCAT
    return LayerPlan(layer.name, kind, Unit.NONE, 0, 0, 0, 0, 0, (), (), (), 0, 0)


def concat_slices(network: IntegerNetwork, config: HwConfig) -> dict[str, tuple[str, int]]:
    """Where each concatenated tensor lies: ``name -> (outermost concatenation, first channel)``.

    A concatenation's inputs are stored into its output (section 2): input ``i`` is the channel
    blocks from ``sum(C_j for j < i) / tn`` on, so every input but the last must be a whole number
    of blocks, and a tensor can lie in one concatenation only.

    Raises:
        UnsupportedLayerError: a concatenation whose inputs do not start on channel blocks, a
            tensor concatenated twice, or a flatten of a concatenated tensor.
    """
    tn = config.pe.tn
    parent: dict[str, tuple[str, int]] = {}
    for layer in network.layers:
        if not isinstance(layer, ConcatLayer):
            continue
        first = 0
        for position, name in enumerate(layer.inputs):
            channels = network.tensor(name).shape[0]
            if name in parent:
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} input {name!r} must be concatenated once, not also by "
                    f"{parent[name][0]!r} (a tensor lies in one place in DDR)"
                )
            if position < len(layer.inputs) - 1 and channels % tn:
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} input {name!r} must have a multiple of pe.tn = {tn} channels "
                    f"(every input but the last starts a channel block), not {channels}: choose a pe.tn "
                    f"dividing the channel counts"
                )
            parent[name] = (layer.name, first)
            first += channels
    places = {}
    for name, (root, offset) in parent.items():
        while root in parent:
            root, offset = parent[root][0], parent[root][1] + offset
        places[name] = (root, offset)
    for layer in network.layers:
        if isinstance(layer, FlattenLayer) and layer.input in places:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} must flatten a whole tensor, not {layer.input!r}, a slice of "
                f"concatenation {places[layer.input][0]!r}"
            )
    return places


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


def ddr_shape(layer: Layer, shapes: dict[str, tuple[int, ...]], config: HwConfig) -> tuple[int, ...]:
    """The shape of ``layer``'s output as it lies in DDR: its shape, except that a flatten of a
    ``(C, H, W)`` map is a vector of the map's DDR activations, padding channels included."""
    if isinstance(layer, FlattenLayer) and len(shapes[layer.input]) == 3:
        return (ddr_elements(shapes[layer.input], config),)
    return layer.output.shape


def plan_layer(layer: Layer, shapes: dict[str, tuple[int, ...]], config: HwConfig,
               strided: tuple[bool, ...] = ()) -> LayerPlan:
    """Bind one layer; ``shapes`` maps tensor names (``"input"`` and layer names) to their DDR
    shapes (:func:`ddr_shape`); ``strided``: its input is a slice of a concatenation.

    Raises:
        ConfigError: widths or buffers too small. UnsupportedLayerError: unknown layer type.
    """
    _check_widths(layer, config)
    view = layer_view(layer, shapes, strided)
    return view if isinstance(view, LayerPlan) else plan_datapath_layer(view, config)


def layer_view(layer: Layer, shapes: dict[str, tuple[int, ...]],
               strided: tuple[bool, ...] = ()) -> DatapathLayer | LayerPlan:
    """What the accelerator runs for ``layer``: its datapath view, or the (empty) plan of a free
    layer (flatten, concatenation); ``shapes`` and ``strided`` as :func:`plan_layer`'s.

    Raises:
        UnsupportedLayerError: a layer type the accelerator does not run, or a pooling or add not
            on (C, H, W) feature maps.
    """
    if isinstance(layer, (ConvLayer, LinearLayer, PoolLayer, AddLayer)):
        source = layer.inputs[0] if isinstance(layer, AddLayer) else layer.input
        return datapath_layer(layer, shapes[source], strided)
    if isinstance(layer, (FlattenLayer, ConcatLayer)):
        return _free_plan(layer)
    raise UnsupportedLayerError(f"layer {getattr(layer, 'name', layer)!r} has a type the accelerator does not run: "
                                f"{type(layer).__name__}")


def reads_slice(layer: Layer, places: dict[str, tuple[str, int]]) -> tuple[bool, ...]:
    """Per operand of ``layer``, whether it is a slice of a concatenation (rows a concatenated
    row apart); empty for a concatenation."""
    if isinstance(layer, ConcatLayer):
        return ()
    sources = layer.inputs if isinstance(layer, AddLayer) else (layer.input,)
    return tuple(source in places for source in sources)


def check_arguments(network: object, config: object) -> None:
    """``network`` must be an :class:`IntegerNetwork` and ``config`` a :class:`HwConfig`: the first
    check of the public functions that time a network, so a wrong argument is named, not an
    ``AttributeError`` deep in the binding.

    Raises:
        ConfigError: ``network`` or ``config`` is of another type.
    """
    if not isinstance(network, IntegerNetwork):
        raise ConfigError(f"network must be an IntegerNetwork (e.g. accelsim.load_workload('vgg16')), not {brief(network)}")
    check_config(config)


def weight_formats(network: IntegerNetwork) -> dict[WeightFormat, str]:
    """The weight formats of ``network``'s convolution and linear layers, each with the name of its
    first layer (empty for a network without weights)."""
    formats: dict[WeightFormat, str] = {}
    for layer in network.layers:
        if isinstance(layer, (ConvLayer, LinearLayer)):
            formats.setdefault(layer.weight_format, layer.name)
    return formats


def foreign_weights(formats: Mapping[WeightFormat, str], kind: PeKind) -> tuple[WeightFormat, str] | None:
    """A weight format of ``formats`` (:func:`weight_formats`) that the taps of ``kind`` cannot apply,
    with its first layer, or None if ``kind`` applies them all.

    The RTL's contract (``docs/rtl.md``, section 1; :func:`accelsim.rtl.images.layer_codes`): shifters
    (``gsnq_shift``, ``krp_gsnq``) apply GSNQ powers of two, multipliers (``mult_dsp``, ``mult_lut``)
    ``w``-bit uniform codes, which a GSNQ weight (up to ``2^(2^(w-1))`` in units of the smallest) does
    not fit.
    """
    for weights, layer in formats.items():
        if weights is not kind.weight_format:
            return weights, layer
    return None


def check_weight_format(network: str, formats: Mapping[WeightFormat, str], kind: PeKind) -> None:
    """The PE kind must apply the weights of the network named ``network`` (:func:`foreign_weights`).

    Raises:
        ConfigError: naming ``pe.kind``, the network's weight format, and the kinds or compression to use.
    """
    foreign = foreign_weights(formats, kind)
    if foreign is None:
        return
    weights, layer = foreign
    kinds = " or ".join(other.value for other in PeKind if other.weight_format is weights)
    raise ConfigError(
        f"pe.kind must apply the {weights.value} weights of network {network!r} (layer {layer!r}), not "
        f"{kind.value!r}, which applies {kind.weight_format.value} weights: set pe.kind to {kinds}, or compress "
        f"the network with --weights {kind.weight_format.value}"
    )


def plan_network(network: IntegerNetwork, config: HwConfig) -> NetworkPlan:
    """Bind ``network`` to ``config``: check the design fits its device, tile every layer.

    Raises:
        ConfigError: not a network or a configuration, weights the PE kind cannot apply
            (:func:`check_weight_format`), the design does not fit its device, a buffer is too small for one tile of some layer, or a bit width is too narrow (the
            message names the field and layer).
        UnsupportedLayerError: a layer the accelerator cannot run.
    """
    check_arguments(network, config)
    check_weight_format(network.name, weight_formats(network), config.pe.kind)
    require_fits(config, f"configuration {config.name!r}")
    places = concat_slices(network, config)
    shapes: dict[str, tuple[int, ...]] = {"input": network.input.shape}
    layers = []
    for layer in network.layers:
        layers.append(plan_layer(layer, shapes, config, reads_slice(layer, places)))
        shapes[layer.name] = ddr_shape(layer, shapes, config)
    return NetworkPlan(network=network.name, config=config, layers=tuple(layers))
