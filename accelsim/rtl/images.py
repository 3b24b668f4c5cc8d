"""What the RTL reads from DDR: weight codes, packed weight groups, requantization parameters and
the per-layer descriptors (docs/rtl.md, "Data in DDR").

Weights are GSNQ codes: per layer, code 0 is the weight 0, codes ``1 .. n_pos`` the positive
powers ``2^(base_pos + c - 1)`` and codes ``n_pos + 1 ..`` the negative powers
``-2^(base_neg + c - n_pos - 1)`` (shifts relative to the layer's smallest weight, i.e. of the
integer weights of :class:`~accelsim.integer.graph.ConvLayer`). The weights of one output-channel
group are its ``(o, c)`` kernels ("pairs"), ``o`` outer and ``c`` inner, each ``pair_bits`` bits
packed LSB first without gaps, padded to a byte, then 8 little-endian bytes per output channel:
the 16-bit multiplier in bits 0-15 and the 48-bit bias in bits 16-63. A pair is the dense
``K x K`` codes row-major, or, for ``krp_gsnq`` units on a KRP layer, the ``K`` codes of the kept
row followed by its ``ceil(log2 K)``-bit row index: exactly the byte counts of
docs/microarchitecture.md, section 2. Pooling and residual adds (vector mode) have no weights: an
add and an average pooling load only the 8-byte parameter words of each channel group (average
pooling's one multiplier and bias repeated per channel), max pooling nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedLayerError
from ..hw.intmath import bits_for, ceil_div
from ..hw.resources import REQUANT_BIAS_BITS, REQUANT_MULTIPLIER_BITS
from ..integer.graph import AddLayer, ConvLayer, LinearLayer, PoolKind, PoolLayer, Requant
from ..sim.plan import DatapathLayer, datapath_layer
from .params import CHANNEL_BITS, DIM_BITS, MAX_SMALL_FIELD, RtlParameters

#: Descriptor words per layer (tb_harness.v: NF) and their order.
DESCRIPTOR_FIELDS = (
    "c_in",
    "c_out",
    "h_in",
    "w_in",
    "h_out",
    "w_out",
    "ksize",
    "stride",
    "pad",
    "tile_rows",
    "pair_bits",
    "n_pos",
    "base_pos",
    "base_neg",
    "rq_shift",
    "rq_lo",
    "rq_hi",
    "in_base",
    "w_base",
    "out_base",
    "mode",
    "shift_a",
    "shift_b",
    "in2_base",
)
DESCRIPTOR_WORDS = 24
#: Largest left shift of an add's operands (the descriptor's 4-bit fields).
MAX_ADD_SHIFT = 15


class Mode(enum.IntEnum):
    """What the datapath runs (the descriptor's ``mode``, accel_core.v)."""

    CONV = 0
    MAX_POOL = 1
    AVG_POOL = 2
    ADD = 3


@dataclass(frozen=True)
class GsnqCodes:
    """A layer's weights as GSNQ codes.

    Attributes:
        codes: uint8 array of the weights' shape.
        n_pos: codes of positive weights (``1 .. n_pos``).
        base_pos, base_neg: shift of code 1 and of code ``n_pos + 1``.
    """

    codes: np.ndarray
    n_pos: int
    base_pos: int
    base_neg: int


def gsnq_codes(name: str, weights: np.ndarray, weight_bits: int) -> GsnqCodes:
    """Encode integer power-of-two weights (0 or +-2^s) as ``weight_bits``-bit GSNQ codes.

    Raises:
        UnsupportedLayerError: a weight is not 0 or +-2^s, the levels need more codes than
            ``weight_bits`` give, or a shift exceeds ``2^weight_bits - 2``.
    """
    values = np.asarray(weights, dtype=np.int64)
    magnitude = np.abs(values)
    nonzero = magnitude != 0
    if np.any(magnitude[nonzero] & (magnitude[nonzero] - 1)):
        raise UnsupportedLayerError(f"layer {name!r} weights must be 0 or +-2^s for the RTL")
    shifts = np.zeros(values.shape, dtype=np.int64)
    shifts[nonzero] = np.log2(magnitude[nonzero]).round().astype(np.int64)
    pos, neg = values > 0, values < 0
    base_pos = int(shifts[pos].min()) if pos.any() else 0
    base_neg = int(shifts[neg].min()) if neg.any() else 0
    n_pos = int(shifts[pos].max()) - base_pos + 1 if pos.any() else 0
    n_neg = int(shifts[neg].max()) - base_neg + 1 if neg.any() else 0
    top = int(shifts[nonzero].max()) if nonzero.any() else 0
    if n_pos + n_neg > (1 << weight_bits) - 1 or top > (1 << weight_bits) - 2:
        raise UnsupportedLayerError(
            f"weight_bits must be large enough for the levels of layer {name!r} "
            f"({n_pos} positive and {n_neg} negative powers of two, shifts up to {top}), not {weight_bits}"
        )
    codes = np.zeros(values.shape, dtype=np.uint8)
    codes[pos] = 1 + shifts[pos] - base_pos
    codes[neg] = n_pos + 1 + shifts[neg] - base_neg
    return GsnqCodes(codes, n_pos, base_pos, base_neg)


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


@dataclass(frozen=True)
class PeLayerView:
    """A convolution or linear layer as the RTL runs it (a linear layer is a 1x1 convolution)."""

    name: str
    c_in: int
    c_out: int
    h_in: int
    w_in: int
    kernel: int
    stride: int
    padding: int
    h_out: int
    w_out: int
    weights: np.ndarray  # (c_out, c_in, K, K) integers
    kept_rows: np.ndarray | None  # (c_out, c_in, r) or None
    requant: Requant


def pe_view(layer: ConvLayer | LinearLayer) -> PeLayerView:
    """The RTL's view of a convolution or linear layer."""
    if isinstance(layer, LinearLayer):
        return PeLayerView(
            layer.name,
            layer.in_features,
            layer.out_features,
            1,
            1,
            1,
            1,
            0,
            1,
            1,
            layer.weights.reshape(layer.out_features, layer.in_features, 1, 1),
            None,
            layer.requant,
        )
    return PeLayerView(
        layer.name,
        layer.in_channels,
        layer.out_channels,
        layer.in_h,
        layer.in_w,
        layer.kernel,
        layer.stride,
        layer.padding,
        layer.out_h,
        layer.out_w,
        layer.weights,
        layer.kept_rows,
        layer.requant,
    )


def row_pairs(view: PeLayerView, params: RtlParameters) -> bool:
    """Whether the layer's pairs are kept rows with a row index (krp_gsnq units on a KRP layer)."""
    return params.kind == 3 and view.kept_rows is not None


def pair_bits(view: PeLayerView, params: RtlParameters) -> int:
    """Bits of one pair in DDR (docs/microarchitecture.md, section 2, with ``r = 1``)."""
    if row_pairs(view, params):
        return view.kernel * params.weight_bits + bits_for(view.kernel)
    return view.kernel * view.kernel * params.weight_bits


def check_pe_layer(view: PeLayerView, params: RtlParameters) -> None:
    """Raise if the RTL cannot run ``view`` (before anything is built).

    The RTL runs one pass per input-channel group (P = 1): kernels up to ``pe.kernel_max``; a
    ``krp_gsnq`` array runs KRP layers with one kept row, and dense layers only with 1x1 kernels.
    """
    name, k = view.name, view.kernel
    if k > params.kernel_max:
        raise UnsupportedLayerError(
            f"layer {name!r} kernel must be at most pe.kernel_max = {params.kernel_max} for the RTL "
            f"(one pass per input group), not {k}"
        )
    if params.kind == 3:
        rows = None if view.kept_rows is None else view.kept_rows.shape[2]
        if (rows is None and k > 1) or (rows is not None and rows != 1):
            what = "a dense layer" if rows is None else f"{rows} kept rows"
            raise UnsupportedLayerError(
                f"layer {name!r} must have one kept row per kernel (or a 1x1 kernel) to run on the "
                f"krp_gsnq RTL, not {what} (several passes per group are not implemented in the RTL)"
            )
    _check_geometry(name, k, view.padding, (
        ("stride", view.stride, MAX_SMALL_FIELD),
        ("input height", view.h_in, (1 << DIM_BITS) - 1),
        ("input width", view.w_in, (1 << DIM_BITS) - 1),
        ("input channels", view.c_in, (1 << CHANNEL_BITS) - 1),
        ("output channels", view.c_out, (1 << CHANNEL_BITS) - 1),
    ), params)
    if view.c_in * min(params.tn, view.c_out) >= 1 << CHANNEL_BITS:
        raise UnsupportedLayerError(
            f"layer {name!r} must have fewer than {1 << CHANNEL_BITS} weight pairs per channel group "
            f"for the RTL, not {view.c_in * min(params.tn, view.c_out)}"
        )
    check_requant(name, view.requant, params)


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


@dataclass(frozen=True)
class VectorLayerView:
    """A pooling or residual-add layer as the RTL runs it (vector mode, C_in = C_out).

    Attributes:
        layer: the layer's shape as the datapath sees it (the timing contract's view).
        mode: what the datapath does.
        shift_a, shift_b: an add's operand shifts (0 for pooling).
        requant: the per-channel requantization (an add; average pooling's single multiplier
            repeated per channel), ``None`` for max pooling.
    """

    layer: DatapathLayer
    mode: Mode
    shift_a: int
    shift_b: int
    requant: Requant | None

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
        repeat = (shape.c_out,)
        requant = Requant(np.full(repeat, int(np.asarray(requant.multiplier).reshape(-1)[0])),
                          np.full(repeat, int(np.asarray(requant.bias).reshape(-1)[0])),
                          requant.shift, requant.lo, requant.hi, requant.multiplier_bits)
    mode = Mode.MAX_POOL if layer.kind is PoolKind.MAX else Mode.AVG_POOL
    return VectorLayerView(shape, mode, 0, 0, requant)


def _check_geometry(name: str, kernel: int, padding: int, fields: tuple[tuple[str, int, int], ...],
                    params: RtlParameters) -> None:
    """Window, padding and field widths every layer shares (``fields``: name, value, largest)."""
    if padding >= kernel or padding >= params.kernel_max:
        raise UnsupportedLayerError(
            f"layer {name!r} padding must be smaller than its kernel and pe.kernel_max for the RTL, "
            f"not {padding}"
        )
    for field, value, top in fields:
        if value > top:
            raise UnsupportedLayerError(
                f"layer {name!r} {field} must be at most {top} for the RTL, not {value}"
            )


def check_vector_layer(view: VectorLayerView, params: RtlParameters) -> None:
    """Raise if the RTL cannot run the pooling or add ``view`` (before anything is built)."""
    shape = view.layer
    _check_geometry(view.name, shape.kernel, shape.padding, (
        ("kernel", shape.kernel, MAX_SMALL_FIELD),
        ("stride", shape.stride, MAX_SMALL_FIELD),
        ("input height", shape.h_in, (1 << DIM_BITS) - 1),
        ("input width", shape.w_in, (1 << DIM_BITS) - 1),
        ("channels", shape.c_in, (1 << CHANNEL_BITS) - 1),
        ("operand shift", max(view.shift_a, view.shift_b), MAX_ADD_SHIFT),
    ), params)
    if min(view.shift_a, view.shift_b) < 0:
        raise UnsupportedLayerError(
            f"layer {view.name!r} operand shifts must be 0 to {MAX_ADD_SHIFT} for the RTL, not "
            f"{view.shift_a} and {view.shift_b}"
        )
    if view.requant is not None:
        check_requant(view.name, view.requant, params)


def vector_param_image(view: VectorLayerView, params: RtlParameters) -> bytes:
    """The parameter words of every channel group, one group after the other (none for max pooling)."""
    if view.requant is None:
        return b""
    channels = view.layer.c_out
    return b"".join(
        requant_bytes(view.requant, slice(first, min(channels, first + params.tn)))
        for first in range(0, channels, params.tn)
    )


def requant_bytes(requant: Requant, channels: slice) -> bytes:
    """The 8-byte parameter words of ``channels``: multiplier in bits 0-15, bias in bits 16-63."""
    multiplier = np.asarray(requant.multiplier, dtype=np.int64)[channels]
    bias = np.asarray(requant.bias, dtype=np.int64)[channels]
    words = [
        (int(m) & 0xFFFF) | ((int(b) & ((1 << REQUANT_BIAS_BITS) - 1)) << REQUANT_MULTIPLIER_BITS)
        for m, b in zip(multiplier, bias)
    ]
    return b"".join(word.to_bytes(8, "little") for word in words)


def weight_image(view: PeLayerView, params: RtlParameters, codes: GsnqCodes) -> bytes:
    """All channel groups of the layer, one after the other (docs/rtl.md)."""
    k, w = view.kernel, params.weight_bits
    if row_pairs(view, params):
        assert view.kept_rows is not None
        rows = view.kept_rows[:, :, 0]
        kept = np.take_along_axis(codes.codes, rows[:, :, None, None], axis=2)[
            :, :, 0, :
        ]  # (o, c, K)
        fields = [(kept[..., v].reshape(-1), w) for v in range(k)] + [
            (rows.reshape(-1), bits_for(k))
        ]
    else:
        flat = codes.codes.reshape(view.c_out, view.c_in, k * k)
        fields = [(flat[..., t].reshape(-1), w) for t in range(k * k)]
    pairs = pack_fields(fields, view.c_out * view.c_in).reshape(view.c_out, view.c_in, -1)
    chunks = []
    for first in range(0, view.c_out, params.tn):
        group = slice(first, min(view.c_out, first + params.tn))
        chunks.append(pack_bits(pairs[group]) + requant_bytes(view.requant, group))
    return b"".join(chunks)


def group_bytes(view: PeLayerView, params: RtlParameters, channels: int) -> int:
    """Bytes of one weight transfer of ``channels`` output channels (the contract's formula)."""
    return ceil_div(channels * view.c_in * pair_bits(view, params), 8) + 8 * channels


def descriptor(values: dict[str, int]) -> list[int]:
    """Descriptor words in :data:`DESCRIPTOR_FIELDS` order (absent fields 0), padded to
    :data:`DESCRIPTOR_WORDS`."""
    words = [values.get(name, 0) for name in DESCRIPTOR_FIELDS]
    return words + [0] * (DESCRIPTOR_WORDS - len(words))


def _requant_fields(requant: Requant | None, params: RtlParameters) -> dict[str, int]:
    """``rq_shift``, ``rq_lo``, ``rq_hi``; without a requantization (max pooling) the identity."""
    mask = (1 << params.act_bits) - 1
    if requant is None:
        half = 1 << (params.act_bits - 1)
        return {"rq_shift": 0, "rq_lo": -half & mask, "rq_hi": half - 1}
    return {"rq_shift": requant.shift, "rq_lo": requant.lo & mask, "rq_hi": requant.hi & mask}


def _geometry_fields(view: PeLayerView | DatapathLayer, tile_rows: int) -> dict[str, int]:
    """The descriptor's shape fields: channels, map sizes, window and tile rows."""
    return {
        "c_in": view.c_in,
        "c_out": view.c_out,
        "h_in": view.h_in,
        "w_in": view.w_in,
        "h_out": view.h_out,
        "w_out": view.w_out,
        "ksize": view.kernel,
        "stride": view.stride,
        "pad": view.padding,
        "tile_rows": tile_rows,
    }


def pe_descriptor(
    view: PeLayerView,
    params: RtlParameters,
    codes: GsnqCodes,
    tile_rows: int,
    bases: tuple[int, int, int],
) -> list[int]:
    """The descriptor of a convolution or linear layer (``bases``: input, weights, output)."""
    return descriptor({
        **_geometry_fields(view, tile_rows),
        "pair_bits": pair_bits(view, params),
        "n_pos": codes.n_pos,
        "base_pos": codes.base_pos,
        "base_neg": codes.base_neg,
        **_requant_fields(view.requant, params),
        "in_base": bases[0],
        "w_base": bases[1],
        "out_base": bases[2],
        "mode": Mode.CONV,
    })


def vector_descriptor(
    view: VectorLayerView, params: RtlParameters, tile_rows: int, bases: tuple[int, int, int, int]
) -> list[int]:
    """The descriptor of a pooling or add (``bases``: input, parameters, output, operand B)."""
    return descriptor({
        **_geometry_fields(view.layer, tile_rows),
        **_requant_fields(view.requant, params),
        "in_base": bases[0],
        "w_base": bases[1],
        "out_base": bases[2],
        "mode": view.mode,
        "shift_a": view.shift_a,
        "shift_b": view.shift_b,
        "in2_base": bases[3],
    })
