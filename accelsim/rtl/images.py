"""What the RTL reads from DDR: feature maps, weight codes, step words, requantization parameters
and the per-layer descriptors (docs/rtl.md, "Data in DDR"; docs/microarchitecture.md, section 2).

- **Feature maps** lie in channel blocks of ``tn``, row-major (:func:`to_blocks`,
  :func:`from_blocks`); a linear layer after a flatten reads the map's bytes in that order, so its
  weight columns are permuted and zero-padded to match (:func:`ddr_columns`).
- **Weight codes.** Shift kinds: GSNQ codes, per layer code 0 is the weight 0, codes
  ``1 .. n_pos`` the positive powers ``2^(c + off_pos)`` and codes ``n_pos + 1 ..`` the negative
  ``-2^(c + off_neg)`` (shifts relative to the layer's smallest weight, i.e. of the integer weights
  of :class:`~accelsim.integer.graph.ConvLayer`). Multiplier kinds: the integer weight itself as a
  signed ``w``-bit uniform code.
- **Step words.** Per output-channel group, for each pass and input group, the items of all
  ``tn x tm`` units (``i`` outer, ``j`` inner; zero items beyond the layer's channels), LSB first,
  each word padded to whole beats; then ``tn`` 8-byte parameter words (16-bit multiplier in bits
  0-15, 48-bit bias in bits 16-63), padded to whole beats. An item is one code for a 1x1 kernel,
  else the unit's full item: a KRP unit's ``k`` codes of one kernel row and the row's index (a
  KRP layer's kept row per pass; every row in turn for a dense layer), or a dense unit's
  ``k x k`` codes (row-major, zero-padded). Vector layers have only the parameter words (max
  pooling none).
- **Descriptors**: one per layer, :data:`DESCRIPTOR_FIELDS`; every product of layer sizes the
  core needs is computed here, so the core only adds and compares.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedLayerError
from ..hw.config import HwConfig, PeKind
from ..hw.geometry import channel_blocks, param_beats, row_bytes, step_beats
from ..hw.intmath import bits_for, ceil_div
from ..hw.resources import REQUANT_BIAS_BITS, REQUANT_MULTIPLIER_BITS, max_shift_of
from ..integer.graph import (
    AddLayer,
    ConvLayer,
    LinearLayer,
    PoolAxis,
    PoolKind,
    PoolLayer,
    Requant,
)
from ..sim.plan import DatapathLayer, LayerPlan, datapath_layer, input_groups, passes
from .params import CHANNEL_BITS, DIM_BITS, MAX_WINDOW_FIELD, RtlParameters

#: Descriptor words per layer (tb_harness.v: NF; accel_core.v's desc_* ports) and their order.
DESCRIPTOR_FIELDS = (
    "c_out", "h_in", "w_in", "h_out", "w_out", "tile_rows",
    "mode", "shift_a", "shift_b", "rq_shift", "rq_lo", "rq_hi", "n_pos", "off_pos", "off_neg",
    "narrow", "passes", "groups", "in_base", "in2_base", "w_base", "out_base", "in_row_bytes",
    "in_blk_bytes", "pad_bytes", "tr_bytes", "span_bytes", "end_bytes", "srow_bytes", "krow_bytes",
    "tr_rows", "w_bytes", "w_word_beats", "w_lanes", "out_row_bytes", "out_seg_bytes",
    "out_tr_bytes", "st_beats", "st_beats_last", "passes_last",
    "y_step", "x_step", "y_rem", "x_rem", "y_den", "x_den", "y_size", "x_size", "y_thr", "x_thr",
    "y_pad", "x_pad", "y_dpad", "x_dpad", "y_div1", "x_div1", "y_blocks", "x_blocks",
    "avg_m01", "avg_m23", "t_rem", "span_thr", "xstep_bytes",
    "groups_last", "c_per", "c_step_blk", "c_step_slice", "w_bytes_last", "w_word_beats_last",
    "in0_bytes", "in0_beats", "in1_u", "in1_rows", "in1_rem",
)
DESCRIPTOR_WORDS = 76
#: Largest left shift of an add's operands (the descriptor's 4-bit fields).
MAX_ADD_SHIFT = 15
#: Most passes per window block (the descriptor's 8-bit ``passes`` fields).
MAX_PASSES = 255


class Mode(enum.IntEnum):
    """What the datapath runs (the descriptor's ``mode``, accel_core.v)."""

    CONV = 0
    MAX_POOL = 1
    AVG_POOL = 2
    ADD = 3


# ------------------------------------------------------------------------------ feature maps


def to_blocks(tensor: np.ndarray, tn: int) -> bytes:
    """A ``(C, H, W)`` map (or ``(F,)`` vector) of int8 activations in DDR order: channel blocks of
    ``tn``, row-major (``(H, ceil(C/tn), W, tn)``), missing channels zero."""
    values = np.asarray(tensor, dtype=np.int64)
    cube = values.reshape(-1, 1, 1) if values.ndim == 1 else values
    channels, height, width = cube.shape
    blocks = ceil_div(channels, tn)
    padded = np.zeros((blocks * tn, height, width), dtype=np.int8)
    padded[:channels] = cube
    return padded.reshape(blocks, tn, height, width).transpose(2, 0, 3, 1).tobytes()


def from_blocks(data: np.ndarray, shape: tuple[int, ...], tn: int) -> np.ndarray:
    """The int8 tensor of ``shape`` stored at ``data`` (uint8 bytes) by :func:`to_blocks`."""
    channels, height, width = shape if len(shape) == 3 else (shape[0], 1, 1)
    blocks = ceil_div(channels, tn)
    cube = np.asarray(data, dtype=np.uint8).view(np.int8).reshape(height, blocks, width, tn)
    return cube.transpose(1, 3, 0, 2).reshape(blocks * tn, height, width)[:channels].reshape(shape)


def block_bytes(shape: tuple[int, ...], tn: int) -> int:
    """Bytes of a tensor of ``shape`` in DDR (:func:`to_blocks`)."""
    channels, height, width = shape if len(shape) == 3 else (shape[0], 1, 1)
    return height * ceil_div(channels, tn) * tn * width


def ddr_columns(input_shape: tuple[int, ...], tn: int) -> np.ndarray:
    """For each activation of a linear layer's input in DDR, its feature index in torch order
    (``c*H*W + y*W + x`` of a flattened ``(C, H, W)`` map), -1 for padding. A vector of ``F``
    features (a linear layer's output) lies in its first ``F`` bytes, its last block's padding
    after them: the layer reads those ``F`` (its ``C_in``, as the simulator binds it)."""
    if len(input_shape) == 1:
        return np.arange(input_shape[0])
    channels, height, width = input_shape
    blocks = ceil_div(channels, tn)
    y, b, x, j = np.meshgrid(np.arange(height), np.arange(blocks), np.arange(width), np.arange(tn),
                             indexing="ij")
    channel = b * tn + j
    index = channel * height * width + y * width + x
    return np.where(channel < channels, index, -1).reshape(-1)


# -------------------------------------------------------------------------------- weight codes


@dataclass(frozen=True)
class LayerCodes:
    """A layer's weights as the codes its PE kind decodes.

    Attributes:
        codes: uint8 array of the weights' shape.
        n_pos, off_pos, off_neg: the GSNQ decoding of shift kinds (descriptor fields; 0 for
            uniform codes): code ``c`` is ``+2^(c + off_pos)`` for ``1 <= c <= n_pos`` and
            ``-2^(c + off_neg)`` above, offsets modulo ``2^shift_bits``.
    """

    codes: np.ndarray
    n_pos: int
    off_pos: int
    off_neg: int


def gsnq_codes(name: str, weights: np.ndarray, params: RtlParameters) -> LayerCodes:
    """Encode integer power-of-two weights (0 or +-2^s) as ``weight_bits``-bit GSNQ codes.

    Raises:
        UnsupportedLayerError: a weight is not 0 or +-2^s, the levels need more codes than
            ``weight_bits`` give, or a shift exceeds what the shifters cover (``2^(w-1)``).
    """
    values = np.asarray(weights, dtype=np.int64)
    magnitude = np.abs(values)
    nonzero = magnitude != 0
    if np.any(magnitude[nonzero] & (magnitude[nonzero] - 1)):
        raise UnsupportedLayerError(
            f"layer {name!r} weights must be 0 or +-2^s for the {PeKind(_kind(params)).value} RTL "
            "(compress with GSNQ weights)"
        )
    shifts = np.zeros(values.shape, dtype=np.int64)
    shifts[nonzero] = np.log2(magnitude[nonzero]).round().astype(np.int64)
    pos, neg = values > 0, values < 0
    base_pos = int(shifts[pos].min()) if pos.any() else 0
    base_neg = int(shifts[neg].min()) if neg.any() else 0
    n_pos = int(shifts[pos].max()) - base_pos + 1 if pos.any() else 0
    n_neg = int(shifts[neg].max()) - base_neg + 1 if neg.any() else 0
    top = int(shifts[nonzero].max()) if nonzero.any() else 0
    w = params.weight_bits
    if n_pos + n_neg > (1 << w) - 1 or top > max_shift_of(w):
        raise UnsupportedLayerError(
            f"weight_bits must be large enough for the levels of layer {name!r} ({n_pos} positive "
            f"and {n_neg} negative powers of two, shifts up to {top}; {w}-bit shifters cover shifts "
            f"up to {max_shift_of(w)}), not {w}"
        )
    codes = np.zeros(values.shape, dtype=np.uint8)
    codes[pos] = 1 + shifts[pos] - base_pos
    codes[neg] = n_pos + 1 + shifts[neg] - base_neg
    mask = (1 << params.shift_bits) - 1
    return LayerCodes(codes, n_pos, (base_pos - 1) & mask, (base_neg - n_pos - 1) & mask)


def uniform_codes(name: str, weights: np.ndarray, params: RtlParameters) -> LayerCodes:
    """The integer weights as signed ``weight_bits``-bit uniform codes (multiplier kinds).

    Raises:
        UnsupportedLayerError: a weight outside ``-(2^(w-1) - 1) .. 2^(w-1) - 1``.
    """
    values = np.asarray(weights, dtype=np.int64)
    top = (1 << (params.weight_bits - 1)) - 1
    if values.size and int(np.abs(values).max()) > top:
        raise UnsupportedLayerError(
            f"layer {name!r} weights must be uniform {params.weight_bits}-bit codes (-{top} .. {top}) "
            f"for the {PeKind(_kind(params)).value} RTL, not up to {int(np.abs(values).max())} "
            "(compress with uniform weights)"
        )
    return LayerCodes((values & ((1 << params.weight_bits) - 1)).astype(np.uint8), 0, 0, 0)


def _kind(params: RtlParameters) -> str:
    return list(PeKind)[params.kind].value


def layer_codes(name: str, weights: np.ndarray, params: RtlParameters) -> LayerCodes:
    """The codes a layer's weights take on the configuration's PE kind: GSNQ codes on the
    shifters, uniform codes on the multipliers.

    The layer's weight format must be the one the PE kind applies; the binding checks it for every
    network it runs (:func:`accelsim.sim.plan.check_weight_format`, by :func:`~accelsim.sim.plan.plan_network`).

    Raises:
        UnsupportedLayerError: a weight has no code (:func:`gsnq_codes`, :func:`uniform_codes`).
    """
    if PeKind(_kind(params)).is_shift:
        return gsnq_codes(name, weights, params)
    return uniform_codes(name, weights, params)


def pack_fields(fields: list[tuple[np.ndarray, int]], count: int) -> np.ndarray:
    """Bits of ``count`` records, each the concatenation (LSB first) of the given fields.

    ``fields`` lists ``(values, bits)``, ``values`` of shape ``(count,)``. Returns a uint8 bit
    array of shape ``(count, record_bits)``.
    """
    columns = []
    for values, bits in fields:
        column = np.asarray(values, dtype=np.uint64).reshape(count, 1)
        columns.append(
            ((column >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
        )
    return np.concatenate(columns, axis=1) if columns else np.zeros((count, 0), np.uint8)


def pack_bits(bits: np.ndarray) -> bytes:
    """A flat bit array (LSB first) as bytes, the last byte padded with zeros."""
    return np.packbits(bits.reshape(-1), bitorder="little").tobytes()


# ----------------------------------------------------------------------- convolution and linear


@dataclass(frozen=True)
class PeLayerView:
    """A convolution or linear layer as the RTL runs it (a linear layer is a 1x1 convolution).

    Attributes:
        layer: the layer's shape as the datapath sees it (the timing contract's view: a linear
            layer's input channels are its input's activations in DDR, padding included).
        weights: ``(c_out, c_in, K, K)`` integer weights in torch's input order (a grouped
            convolution's block-diagonal: zero between channels of different groups).
        kept_rows: ``(c_out, c_in, r)`` kept rows of a KRP layer, or None.
        columns: for each DDR input channel, its torch input channel (-1: padding); a linear
            layer after a flatten reads the map's channel blocks in their DDR order.
        requant: the per-channel requantization.
    """

    layer: DatapathLayer
    weights: np.ndarray
    kept_rows: np.ndarray | None
    columns: np.ndarray
    requant: Requant

    @property
    def name(self) -> str:
        """The layer's name."""
        return self.layer.name


def pe_view(layer: ConvLayer | LinearLayer, input_shape: tuple[int, ...], tn: int) -> PeLayerView:
    """The RTL's view of a convolution or linear layer whose input tensor has ``input_shape``
    (a linear layer's input map before its flatten, if any)."""
    if isinstance(layer, LinearLayer):
        columns = ddr_columns(input_shape, tn)
        shape = datapath_layer(layer, (len(columns),))
        weights = layer.weights.reshape(layer.out_features, layer.in_features, 1, 1)
        return PeLayerView(shape, weights, None, columns, layer.requant)
    shape = datapath_layer(layer, input_shape)
    weights, kept = layer.weights, layer.kept_rows
    if layer.groups > 1:  # the dense equivalent: each output channel's group, zeros elsewhere
        weights = np.zeros((layer.out_channels, layer.in_channels, layer.kernel, layer.kernel), weights.dtype)
        rows = None if kept is None else np.zeros((layer.out_channels, layer.in_channels, kept.shape[2]), np.int64)
        for group in range(layer.groups):
            outs = slice(group * layer.group_out, (group + 1) * layer.group_out)
            ins = slice(group * layer.group_in, (group + 1) * layer.group_in)
            weights[outs, ins] = layer.weights[outs]
            if rows is not None and kept is not None:
                rows[outs, ins] = kept[outs]
        kept = rows
    return PeLayerView(shape, weights, kept, np.arange(layer.in_channels), layer.requant)


def check_pe_layer(view: PeLayerView, params: RtlParameters) -> None:
    """Raise if the RTL cannot run ``view`` (before anything is built): the descriptor's field
    widths (kernel, window blocks and passes included), a grouped convolution's channel steps,
    and the requantization."""
    shape, name = view.layer, view.name
    _check_geometry(name, shape.kernel, shape.rows.pad, (
        ("kernel", shape.kernel, MAX_WINDOW_FIELD),
        ("stride", shape.rows.step, (1 << DIM_BITS) - 1),
        ("input height", shape.h_in, (1 << DIM_BITS) - 1),
        ("input width", shape.w_in, (1 << DIM_BITS) - 1),
        ("input channels", shape.c_in, (1 << CHANNEL_BITS) - 1),
        ("output channels", shape.c_out, (1 << CHANNEL_BITS) - 1),
        ("passes per window block", block_passes(view, params)[0], MAX_PASSES),
    ), params)
    group_steps(shape, params)
    check_requant(name, view.requant, params)


@dataclass(frozen=True)
class GroupSteps:
    """How a convolution's tiles walk their input channels (``docs/rtl.md``): tile ``n`` reads
    ``groups`` input-channel groups (``groups_last`` for the last) from channel
    ``(n // per) * step`` (``per = 0``: always from channel 0)."""

    groups: int
    groups_last: int
    per: int
    step: int


def group_steps(shape: DatapathLayer, params: RtlParameters) -> GroupSteps:
    """The channel walk of a (grouped) convolution's tiles, checked against the contract's.

    Tile ``n``'s steps start at its first input channel rounded down to ``min(tm, tn)``
    (:func:`~accelsim.sim.plan.input_groups`); the core steps that start by ``step`` every ``per``
    tiles, so the starts must follow one such walk and every tile but the last must read as many
    groups.

    Raises:
        UnsupportedLayerError: a grouped convolution whose tiles' starts or group counts do not.
    """
    tn, tm = params.tn, params.tm
    unit = min(tm, tn)
    tiles = ceil_div(shape.c_out, tn)
    exact = [shape.input_channels(n * tn, min(tn, shape.c_out - n * tn)) for n in range(tiles)]
    counts = [input_groups(lo, hi, tm, tn) for lo, hi in exact]
    firsts = [lo // unit * unit for lo, _ in exact]
    per = next((n for n in range(1, tiles) if firsts[n] != firsts[0]), 0)
    step = firsts[per] if per else 0
    walked = [(n // per) * step if per else 0 for n in range(tiles)]
    if walked != firsts or len(set(counts[:-1])) > 1 or (tm > tn and step % tn):
        group_in, group_out = shape.c_in // shape.groups, shape.c_out // shape.groups
        raise UnsupportedLayerError(
            f"layer {shape.name!r} groups must give the tiles of pe.tn = {tn} output channels input "
            f"channels that start in equal steps, not {shape.groups} groups of {group_in} inputs and "
            f"{group_out} outputs (choose a pe.tn that divides or is a multiple of {group_out})"
        )
    return GroupSteps(counts[0], counts[-1], per, step)


def _layer_passes(view: PeLayerView, params: RtlParameters) -> int:
    rows = None if view.kept_rows is None else int(view.kept_rows.shape[2])
    return passes(list(PeKind)[params.kind], params.kernel_max, view.layer.kernel, rows)


def block_passes(view: PeLayerView, params: RtlParameters) -> tuple[int, int]:
    """Passes per ``kmax x kmax`` window block: in every block row but the last, and in the last.

    The core walks a ``K x K`` kernel as ``ceil(K/kmax)^2`` window blocks (row-major) and, in each,
    its passes: one for the dense kinds, the ``r`` kept-row slots of a KRP layer on KRP units, and
    the kernel rows inside the block row for a dense layer on KRP units (``kmax``, and
    ``K - (s-1)*kmax`` in the last block row). Their sum over the blocks is the contract's ``P``.
    """
    k, kmax = view.layer.kernel, params.kernel_max
    if k == 1 or params.kind != list(PeKind).index(PeKind.KRP_GSNQ):
        return 1, 1
    if view.kept_rows is not None:
        rows = int(view.kept_rows.shape[2])
        return rows, rows
    return kmax, k - (ceil_div(k, kmax) - 1) * kmax


def unit_items(view: PeLayerView, params: RtlParameters, codes: LayerCodes) -> np.ndarray:
    """The weight item of every (output channel, DDR input channel, step of a pixel): a uint8 bit
    array of shape ``(c_out, c_in, P, item_bits)`` (section 2's item formats), the steps in the
    core's order: window block row ``by``, block column ``bx``, pass (:func:`block_passes`).

    A KRP unit's item for a pass of block ``(by, bx)`` holds the codes of columns ``bx*kmax ..``
    of its kernel row and that row's index inside the block row; a kept row outside the block
    row gives a zero item. A dense kind's item is the block's ``kmax x kmax`` codes (zero past
    the kernel).
    """
    shape, kmax, w = view.layer, params.kernel_max, params.weight_bits
    k, columns = shape.kernel, view.columns
    gathered = np.zeros((shape.c_out, len(columns), k, k), dtype=np.int64)
    gathered[:, columns >= 0] = codes.codes[:, columns[columns >= 0]]
    if k == 1:
        return pack_fields([(gathered.reshape(-1), w)], gathered.size).reshape(shape.c_out, len(columns), 1, w)
    side = ceil_div(k, kmax)
    padded = np.zeros(gathered.shape[:2] + (side * kmax, side * kmax), dtype=np.int64)
    padded[:, :, :k, :k] = gathered
    steps = []
    if params.kind == list(PeKind).index(PeKind.KRP_GSNQ):
        kept = (None if view.kept_rows is None else _ddr_rows(view.kept_rows, columns))  # (c_out, c_in, r)
        for by in range(side):
            first = by * kmax
            slots = range(kept.shape[2]) if kept is not None else range(first, min(k, first + kmax))
            for bx in range(side):
                for slot in slots:
                    row = kept[..., slot] if kept is not None else np.full(gathered.shape[:2], slot)
                    inside = (row >= first) & (row < first + kmax)
                    taps = np.take_along_axis(padded, row[..., None, None], axis=2)[:, :, 0]
                    taps = np.where(inside[..., None], taps[..., bx * kmax:(bx + 1) * kmax], 0)
                    steps.append(np.concatenate([taps, np.where(inside, row - first, 0)[..., None]], axis=2))
        widths = [w] * kmax + [bits_for(kmax)]
    else:
        for by in range(side):
            for bx in range(side):
                block = padded[:, :, by * kmax:(by + 1) * kmax, bx * kmax:(bx + 1) * kmax]
                steps.append(block.reshape(gathered.shape[:2] + (kmax * kmax,)))
        widths = [w] * (kmax * kmax)
    fields_of = np.stack(steps, axis=2)                       # (c_out, c_in, P, fields)
    count = fields_of.shape[0] * fields_of.shape[1] * fields_of.shape[2]
    fields = [(fields_of[..., t].reshape(-1), width) for t, width in enumerate(widths)]
    return pack_fields(fields, count).reshape(fields_of.shape[:3] + (-1,))


def _ddr_rows(kept_rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The kept rows per DDR input channel (padding channels: rows 0 ..)."""
    rows = np.broadcast_to(np.arange(kept_rows.shape[2]), kept_rows.shape[:1] + (len(columns), kept_rows.shape[2]))
    rows = rows.copy()
    rows[:, columns >= 0] = kept_rows[:, columns[columns >= 0]]
    return rows


def weight_image(view: PeLayerView, config: HwConfig, params: RtlParameters, codes: LayerCodes) -> bytes:
    """Every channel group's step words and parameters, one group after the other.

    Tile ``n``'s step words cover the input channels its outputs read, from the first input group
    that holds them (:meth:`DatapathLayer.input_channels`, :func:`input_groups`).
    """
    shape, tn, tm = view.layer, params.tn, params.tm
    items = unit_items(view, params, codes)
    steps, item_bits = items.shape[2], items.shape[3]
    blocks = channel_blocks(shape.c_out, config)
    word_bits = 8 * params.beat * step_beats(config, shape.kernel)
    chunks = []
    for group in range(blocks):
        lo, hi = shape.input_channels(group * tn, min(tn, shape.c_out - group * tn))
        first, count = lo // min(tm, tn) * min(tm, tn), input_groups(lo, hi, tm, tn)
        block = np.zeros((tn, count * tm, steps, item_bits), dtype=np.uint8)
        outs = items[group * tn:(group + 1) * tn, first:first + count * tm]
        block[:outs.shape[0], :outs.shape[1]] = outs
        words = block.reshape(tn, count, tm, steps, item_bits).transpose(3, 1, 0, 2, 4)
        words = words.reshape(steps * count, tn * tm * item_bits)
        words = np.concatenate([words, np.zeros((len(words), word_bits - words.shape[1]), np.uint8)], axis=1)
        chunks.append(pack_bits(words) + param_bytes(view.requant, group, config))
    return b"".join(chunks)


def param_bytes(requant: Requant | None, group: int, config: HwConfig) -> bytes:
    """The parameter beats of output-channel group ``group``: ``tn`` 8-byte words (zeros past the
    layer's channels), padded to whole beats; none for max pooling."""
    if requant is None:
        return b""
    tn = config.pe.tn
    channels = len(np.asarray(requant.multiplier).reshape(-1))
    words = requant_bytes(requant, slice(group * tn, min(channels, (group + 1) * tn)))
    return words.ljust(param_beats(config) * config.ddr.bytes_per_cycle, b"\0")


def requant_bytes(requant: Requant, channels: slice) -> bytes:
    """The 8-byte parameter words of ``channels``: multiplier in bits 0-15, bias in bits 16-63."""
    multiplier = np.asarray(requant.multiplier, dtype=np.int64)[channels]
    bias = np.asarray(requant.bias, dtype=np.int64)[channels]
    words = [
        (int(m) & 0xFFFF) | ((int(b) & ((1 << REQUANT_BIAS_BITS) - 1)) << REQUANT_MULTIPLIER_BITS)
        for m, b in zip(multiplier, bias)
    ]
    return b"".join(word.to_bytes(8, "little") for word in words)


def check_requant(name: str, requant: Requant, params: RtlParameters) -> None:
    """The requantization must fit the RTL's 16-bit multipliers, 48-bit biases, 6-bit shift."""
    m_hi, b_hi = 1 << (REQUANT_MULTIPLIER_BITS - 1), 1 << (REQUANT_BIAS_BITS - 1)
    multiplier, bias = np.asarray(requant.multiplier), np.asarray(requant.bias)
    if multiplier.size and (int(multiplier.max()) >= m_hi or int(multiplier.min()) < -m_hi):
        raise UnsupportedLayerError(
            f"layer {name!r} requantization multipliers must fit {REQUANT_MULTIPLIER_BITS} signed bits "
            f"(lower with multiplier_bits=16), not [{int(multiplier.min())}, {int(multiplier.max())}]"
        )
    if bias.size and (int(bias.max()) >= b_hi or int(bias.min()) < -b_hi):
        raise UnsupportedLayerError(
            f"layer {name!r} requantization biases must fit {REQUANT_BIAS_BITS} signed bits, not "
            f"[{int(bias.min())}, {int(bias.max())}]"
        )
    a_lo, a_hi = -(1 << (params.act_bits - 1)), (1 << (params.act_bits - 1)) - 1
    if not 0 <= requant.shift <= 63 or not a_lo <= requant.lo <= requant.hi <= a_hi:
        raise UnsupportedLayerError(
            f"layer {name!r} requantization must have a shift in 0..63 and bounds in [{a_lo}, {a_hi}], "
            f"not shift {requant.shift}, bounds [{requant.lo}, {requant.hi}]"
        )


# ---------------------------------------------------------------------------- vector layers


@dataclass(frozen=True)
class VectorLayerView:
    """A pooling or residual-add layer as the RTL runs it (vector mode, C_in = C_out).

    Attributes:
        layer: the layer's shape as the datapath sees it (the timing contract's view).
        mode: what the datapath does.
        shift_a, shift_b: an add's operand shifts (0 for pooling).
        requant: the per-channel requantization (an add; average pooling's first multiplier and
            its bias repeated per channel), ``None`` for max pooling.
        pool: the pooling layer (its windows' divisors and multipliers), None for an add.
    """

    layer: DatapathLayer
    mode: Mode
    shift_a: int
    shift_b: int
    requant: Requant | None
    pool: PoolLayer | None = None

    @property
    def name(self) -> str:
        """The layer's name."""
        return self.layer.name


def vector_view(layer: PoolLayer | AddLayer, input_shape: tuple[int, ...]) -> VectorLayerView:
    """The RTL's view of a pooling or residual-add layer on an input of ``input_shape`` (C, H, W).

    Raises:
        UnsupportedLayerError: the tensors are not (C, H, W) feature maps.
    """
    shape = datapath_layer(layer, input_shape)
    if isinstance(layer, AddLayer):
        return VectorLayerView(shape, Mode.ADD, layer.shift_a, layer.shift_b, layer.requant)
    requant = layer.requant
    if layer.kind is PoolKind.AVG and requant is not None:
        # every channel's parameter word carries the bias; the multiplier of each window's
        # divisor class is in the descriptor (:func:`average_multipliers`)
        repeat = (shape.c_out,)
        requant = Requant(np.full(repeat, int(np.asarray(requant.multiplier).reshape(-1)[0])),
                          np.full(repeat, int(np.asarray(requant.bias).reshape(-1)[0])),
                          requant.shift, requant.lo, requant.hi, requant.multiplier_bits)
    mode = Mode.MAX_POOL if layer.kind is PoolKind.MAX else Mode.AVG_POOL
    return VectorLayerView(shape, mode, 0, 0, requant, layer)


def divisor_classes(axis: PoolAxis, size: int, count: int) -> tuple[int, ...]:
    """The distinct divisors of an axis's windows, the first window's first (at most two run)."""
    values = axis.divisors(size, count)
    return tuple(dict.fromkeys(int(v) for v in values))


def average_multipliers(layer: PoolLayer, shape: DatapathLayer) -> tuple[int, int, int, int]:
    """The multiplier of each divisor class ``2 * (row divisor is the second) + (column divisor is
    the second)`` of an average pooling (0 for a class no window has)."""
    rows = divisor_classes(layer.rows, shape.h_in, shape.h_out)
    cols = divisor_classes(layer.cols, shape.w_in, shape.w_out)
    assert layer.requant is not None
    by_area = dict(zip(layer.areas, np.asarray(layer.requant.multiplier).reshape(-1).tolist()))
    table = []
    for y in range(2):
        for x in range(2):
            area = rows[min(y, len(rows) - 1)] * cols[min(x, len(cols) - 1)]
            present = y < len(rows) and x < len(cols)
            table.append(int(by_area.get(area, 0)) if present else 0)
    return table[0], table[1], table[2], table[3]


def _check_geometry(name: str, kernel: int, padding: int, fields: tuple[tuple[str, int, int], ...],
                    params: RtlParameters) -> None:
    """Window, padding and field widths every layer shares (``fields``: name, value, largest)."""
    if padding >= kernel:
        raise UnsupportedLayerError(
            f"layer {name!r} padding must be smaller than its kernel for the RTL, not {padding}"
        )
    for field, value, top in fields:
        if value > top:
            raise UnsupportedLayerError(
                f"layer {name!r} {field} must be at most {top} for the RTL, not {value}"
            )


def check_vector_layer(view: VectorLayerView, params: RtlParameters) -> None:
    """Raise if the RTL cannot run the pooling or add ``view`` (before anything is built)."""
    shape, name = view.layer, view.name
    dim = (1 << DIM_BITS) - 1
    fields = [
        ("window height", shape.rows.window(shape.h_out), MAX_WINDOW_FIELD),
        ("window width", shape.cols.window(shape.w_out), MAX_WINDOW_FIELD),
        ("padding", max(shape.rows.pad, shape.cols.pad), MAX_WINDOW_FIELD),
        ("window step", max(shape.rows.step, shape.cols.step), dim),
        ("window denominator", max(shape.rows.den, shape.cols.den), dim),
        ("input height", shape.h_in, dim),
        ("input width", shape.w_in, dim),
        ("channels", shape.c_in, (1 << CHANNEL_BITS) - 1),
        ("operand shift", max(view.shift_a, view.shift_b), MAX_ADD_SHIFT),
    ]
    for field, value, top in fields:
        if value > top:
            raise UnsupportedLayerError(f"layer {name!r} {field} must be at most {top} for the RTL, not {value}")
    if min(view.shift_a, view.shift_b) < 0:
        raise UnsupportedLayerError(
            f"layer {name!r} operand shifts must be 0 to {MAX_ADD_SHIFT} for the RTL, not "
            f"{view.shift_a} and {view.shift_b}"
        )
    if view.mode is Mode.AVG_POOL and view.pool is not None:
        for label, axis, size, count in (("row", shape.rows, shape.h_in, shape.h_out),
                                         ("column", shape.cols, shape.w_in, shape.w_out)):
            classes = divisor_classes(axis, size, count)
            if len(classes) > 2:
                raise UnsupportedLayerError(
                    f"layer {name!r} {label} windows must have at most two divisors for the RTL, not "
                    f"{len(classes)} ({', '.join(map(str, classes))})"
                )
        requant = view.pool.requant
        assert requant is not None
        if len(set(np.asarray(requant.bias).reshape(-1).tolist())) > 1:
            raise UnsupportedLayerError(
                f"layer {name!r} requantization must have one bias for every window area for the RTL, "
                f"not {sorted(set(np.asarray(requant.bias).reshape(-1).tolist()))}"
            )
        check_requant(name, requant, params)
    if view.requant is not None:
        check_requant(name, view.requant, params)


def vector_param_image(view: VectorLayerView, config: HwConfig) -> bytes:
    """The parameter beats of every channel group, one group after the other (none for max pooling)."""
    return b"".join(param_bytes(view.requant, group, config)
                    for group in range(channel_blocks(view.layer.c_out, config)))


# ------------------------------------------------------------------------------- descriptors


def descriptor(values: dict[str, int]) -> list[int]:
    """Descriptor words in :data:`DESCRIPTOR_FIELDS` order (absent fields 0), padded to
    :data:`DESCRIPTOR_WORDS`; negative values as 32-bit two's complement."""
    words = [values.get(name, 0) & 0xFFFFFFFF for name in DESCRIPTOR_FIELDS]
    return words + [0] * (DESCRIPTOR_WORDS - len(words))


def _requant_fields(requant: Requant | None, params: RtlParameters) -> dict[str, int]:
    """``rq_shift``, ``rq_lo``, ``rq_hi``; without a requantization (max pooling) the identity."""
    mask = (1 << params.act_bits) - 1
    if requant is None:
        half = 1 << (params.act_bits - 1)
        return {"rq_shift": 0, "rq_lo": -half & mask, "rq_hi": half - 1}
    return {"rq_shift": requant.shift, "rq_lo": requant.lo & mask, "rq_hi": requant.hi & mask}


def _axis_fields(prefix: str, axis: PoolAxis, size: int, count: int, kernel_max: int) -> dict[str, int]:
    """One axis's window fields (section 6): step, remainder, denominator, span, threshold,
    padding, the divisor padding and second divisor of an average, window blocks."""
    classes = divisor_classes(axis, size, count)
    return {
        f"{prefix}_step": axis.step // axis.den, f"{prefix}_rem": axis.step % axis.den,
        f"{prefix}_den": axis.den, f"{prefix}_size": axis.span // axis.den,
        f"{prefix}_thr": axis.den - axis.span % axis.den, f"{prefix}_pad": axis.pad,
        f"{prefix}_dpad": axis.divisor_pad, f"{prefix}_div1": classes[1] if len(classes) > 1 else 0,
        f"{prefix}_blocks": ceil_div(axis.window(count), kernel_max),
    }


def _geometry_fields(shape: DatapathLayer, plan: LayerPlan, config: HwConfig) -> dict[str, int]:
    """Shape, windows, tiling and every byte count and offset step of a layer (sections 5 and 6,
    by the plan)."""
    kmax, tn, beat = config.pe.kernel_max, config.pe.tn, config.ddr.bytes_per_cycle
    rows, tr = shape.rows, plan.tile_rows
    row_in = row_bytes(shape.c_in, shape.w_in, config)
    seg_out = tn * shape.w_out
    last_rows = shape.h_out - (plan.row_groups - 1) * tr
    span, span_rem = divmod((tr - 1) * rows.step + rows.span, rows.den)
    tile_step, tile_rem = divmod(tr * rows.step, rows.den)
    end_bytes = min(shape.h_in, rows.end(shape.h_out - 1)) * row_in
    first_bytes = min((span - rows.pad) * row_in, end_bytes)
    return {
        "c_out": shape.c_out, "h_in": shape.h_in, "w_in": shape.w_in, "h_out": shape.h_out,
        "w_out": shape.w_out, "tile_rows": tr,
        **_axis_fields("y", rows, shape.h_in, shape.h_out, kmax),
        **_axis_fields("x", shape.cols, shape.w_in, shape.w_out, kmax),
        "in_row_bytes": row_in, "in_blk_bytes": shape.w_in * tn, "pad_bytes": rows.pad * row_in,
        "tr_bytes": tile_step * row_in, "tr_rows": tile_step, "t_rem": tile_rem,
        "span_bytes": span * row_in, "span_thr": rows.den - span_rem, "end_bytes": end_bytes,
        # load 0 reads [0, min(span - pad, end)) rows (its remainder is 0: it spans span rows);
        # load 1's windows start tr_rows rows lower, its remainder is t_rem (< d: no carry)
        "in0_bytes": first_bytes, "in0_beats": ceil_div(first_bytes, beat),
        "in1_u": (tile_step - rows.pad) * row_in, "in1_rows": tile_step - rows.pad, "in1_rem": tile_rem,
        "srow_bytes": rows.step // rows.den * row_in, "krow_bytes": kmax * row_in,
        "xstep_bytes": shape.cols.step // shape.cols.den * tn,
        "out_row_bytes": row_bytes(shape.c_out, shape.w_out, config), "out_seg_bytes": seg_out,
        "out_tr_bytes": tr * row_bytes(shape.c_out, shape.w_out, config),
        "st_beats": tr * ceil_div(seg_out, beat), "st_beats_last": last_rows * ceil_div(seg_out, beat),
    }


def pe_descriptor(view: PeLayerView, config: HwConfig, params: RtlParameters, codes: LayerCodes,
                  plan: LayerPlan, bases: tuple[int, int, int]) -> list[int]:
    """The descriptor of a convolution or linear layer (``bases``: input, weights, output)."""
    shape = view.layer
    walk = group_steps(shape, params)
    per_group = _layer_passes(view, params) * step_beats(config, shape.kernel)
    words, words_last = per_group * walk.groups, per_group * walk.groups_last
    return descriptor({
        **_geometry_fields(shape, plan, config),
        "mode": Mode.CONV, "n_pos": codes.n_pos, "off_pos": codes.off_pos, "off_neg": codes.off_neg,
        "narrow": int(shape.kernel == 1),
        "passes": block_passes(view, params)[0], "passes_last": block_passes(view, params)[1],
        "groups": walk.groups, "groups_last": walk.groups_last, "c_per": walk.per,
        "c_step_blk": walk.step // params.tn * shape.w_in * params.tn, "c_step_slice": walk.step % params.tn,
        **_requant_fields(view.requant, params),
        "in_base": bases[0], "w_base": bases[1], "out_base": bases[2],
        "w_bytes": (words + param_beats(config)) * params.beat, "w_word_beats": words,
        "w_bytes_last": (words_last + param_beats(config)) * params.beat, "w_word_beats_last": words_last,
        "w_lanes": step_beats(config, shape.kernel),
    })


def vector_descriptor(view: VectorLayerView, config: HwConfig, params: RtlParameters, plan: LayerPlan,
                      bases: tuple[int, int, int, int]) -> list[int]:
    """The descriptor of a pooling or add (``bases``: input, parameters, output, operand B)."""
    w_bytes = param_beats(config) * params.beat if view.requant is not None else 0
    multipliers = (0, 0, 0, 0)
    if view.mode is Mode.AVG_POOL and view.pool is not None:
        multipliers = average_multipliers(view.pool, view.layer)
    mask = 0xFFFF
    return descriptor({
        **_geometry_fields(view.layer, plan, config),
        **_requant_fields(view.requant, params),
        "in_base": bases[0], "w_base": bases[1], "out_base": bases[2], "in2_base": bases[3],
        "mode": view.mode, "shift_a": view.shift_a, "shift_b": view.shift_b,
        "w_bytes": w_bytes, "w_bytes_last": w_bytes, "w_lanes": 1,
        "avg_m01": (multipliers[0] & mask) | (multipliers[1] & mask) << 16,
        "avg_m23": (multipliers[2] & mask) | (multipliers[3] & mask) << 16,
    })
