"""Execution of an :class:`IntegerNetwork` on a batch with the Numba kernels.

:func:`run` takes integer inputs (use :func:`quantize_input` for float data) and returns the
integer outputs and, on request, every layer's activations: the golden values the simulator and
the RTL are compared with.

The kernels apply every tap as a shift (a weight ``sign * 2**s``). A weight that is not a power
of two (a uniform code such as 7) becomes one tap per set bit of its magnitude, all of its sign
(:func:`power_of_two_terms`: ``7 x = (x << 2) + (x << 1) + x``): exact integer arithmetic, so the
result is the product; GSNQ weights are single terms, so their tables do not change.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import ConfigError, brief
from . import kernels
from .graph import (
    AddLayer,
    ConcatLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    Layer,
    LinearLayer,
    PoolKind,
    PoolLayer,
    TensorSpec,
)
from .quant import storage_dtype

#: Output pixels per convolution work item (the inner, vectorized loop length).
CONV_TILE = 256
#: Stride-1 convolutions whose output maps are at least this wide and high read the padded input
#: directly ("wide" layout, no im2col); smaller maps would compute too many dropped positions.
WIDE_MIN = 32
#: Tiles are a multiple of this many pixels (whole vectors in the inner loop).
TILE_QUANTUM = 32


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """Integer outputs of a batch.

    Attributes:
        outputs: (N, *output_shape) integer array of the network's output tensor.
        activations: layer name -> (N, *shape) integer array of its output, if requested.
    """

    outputs: np.ndarray
    activations: dict[str, np.ndarray] | None


@dataclass(frozen=True, eq=False)
class ConvTaps:
    """Tap tables of a convolution for :func:`kernels.conv2d` (see its docstring).

    Attributes:
        wide: True for the wide layout (stride 1, large maps: taps read the padded input
            directly), False for the patch layout (:func:`kernels.im2col`).
        ptr: (OC + 1,) int64 first tap of each output channel.
        mid: (OC,) int64 first negative tap of each output channel.
        row: int64 source row of each tap (patch row, or channel); the zero row for null taps.
        col: int64 source column offset of each tap (``ky*Wp + kx`` when wide, else 0).
        shift: shift of each tap, in the accumulator's type (int32 or int64: the narrow type
            keeps the vector lanes narrow).
    """

    wide: bool
    ptr: np.ndarray
    mid: np.ndarray
    row: np.ndarray
    col: np.ndarray
    shift: np.ndarray


@dataclass(frozen=True, eq=False)
class LinearTaps:
    """CSR tables of a fully connected layer for :func:`kernels.linear`."""

    ptr: np.ndarray
    index: np.ndarray
    shift: np.ndarray
    neg: np.ndarray


_PLANS: weakref.WeakKeyDictionary[IntegerNetwork, dict[str, ConvTaps | LinearTaps]] = (
    weakref.WeakKeyDictionary()
)


def accumulator_dtype(acc_bits: int) -> np.dtype:
    """int32 when the layer's accumulator fits 32 bits, else int64."""
    return np.dtype(np.int32 if acc_bits <= 32 else np.int64)


def computed_taps(layer: ConvLayer) -> np.ndarray:
    """bool (OC, IC / groups, K, K): the taps the datapath computes (kept rows; zero weights
    skipped), indexed like the weights."""
    rows = np.ones(layer.weights.shape[:3], dtype=bool)  # (OC, IC / groups, K)
    if layer.kept_rows is not None:
        rows[:] = False
        np.put_along_axis(rows, layer.kept_rows, True, axis=2)
    return rows[..., None] & (layer.weights != 0)


def uses_wide_layout(layer: ConvLayer) -> bool:
    """Whether the convolution reads the padded input directly (stride 1, maps >= WIDE_MIN)."""
    return layer.stride == 1 and min(layer.out_h, layer.out_w) >= WIDE_MIN


def conv_taps(layer: ConvLayer) -> ConvTaps:
    """The tap tables of ``layer``: per output channel, its positive then its negative taps, each
    run padded with null taps to a multiple of :data:`kernels.TAP_GROUP`."""
    k, wide = layer.kernel, uses_wide_layout(layer)
    oc, ic, ky, kx = np.nonzero(computed_taps(layer))
    owner, values = power_of_two_terms(layer.weights[oc, ic, ky, kx])
    oc, ic, ky, kx = oc[owner], ic[owner], ky[owner], kx[owner]
    ic = ic + oc // layer.group_out * layer.group_in  # the input channel of the tap's group
    key = oc * 2 + (values < 0)  # group: (channel, sign)
    order = np.argsort(key, kind="stable")
    ic, ky, kx, values, key = ic[order], ky[order], kx[order], values[order], key[order]
    counts = np.bincount(key, minlength=layer.out_channels * 2)
    padded = -(-counts // kernels.TAP_GROUP) * kernels.TAP_GROUP
    starts = np.concatenate(([0], np.cumsum(padded))).astype(np.int64)
    first = np.concatenate(([0], np.cumsum(counts)))
    position = starts[key] + np.arange(key.size) - first[key]
    zero_row = layer.in_channels if wide else layer.in_channels * k * k
    row = np.full(int(starts[-1]), zero_row, dtype=np.int64)
    col = np.zeros(int(starts[-1]), dtype=np.int64)
    shift = np.zeros(int(starts[-1]), dtype=accumulator_dtype(layer.acc_bits))
    if wide:
        row[position] = ic
        col[position] = ky * (layer.in_w + 2 * layer.padding) + kx
    else:
        row[position] = (ic * k + ky) * k + kx
    shift[position] = _log2(values)
    return ConvTaps(wide, starts[0::2].copy(), starts[1::2].copy(), row, col, shift)


def linear_taps(layer: LinearLayer) -> LinearTaps:
    """CSR tables over the non-zero weights of ``layer`` (one entry per power-of-two term)."""
    rows, cols = np.nonzero(layer.weights)
    owner, values = power_of_two_terms(layer.weights[rows, cols])
    rows, cols = rows[owner], cols[owner]
    ptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=layer.out_features)))).astype(
        np.int64
    )
    return LinearTaps(
        ptr, cols.astype(np.int64), _log2(values), np.where(values < 0, -1, 0).astype(np.int64)
    )


def power_of_two_terms(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split non-zero integers into signed powers of two: the binary digits of each magnitude.

    Returns ``(owner, terms)``: int64 arrays with ``values[i] = sum(terms[owner == i])``, every
    term ``sign(values[i]) * 2**s`` for one set bit ``s`` of ``|values[i]|``; ordered by owner, then
    by ascending ``s``. A power of two is its own single term.
    """
    owner = np.arange(values.size, dtype=np.int64)
    rest = np.abs(values).astype(np.int64)
    owners, terms = [], []
    while owner.size:
        lowest = rest & -rest
        owners.append(owner)
        terms.append(np.where(values[owner] < 0, -lowest, lowest))
        rest = rest - lowest
        left = rest != 0
        owner, rest = owner[left], rest[left]
    if not owners:
        return owner, np.zeros(0, dtype=np.int64)
    owner, term = np.concatenate(owners), np.concatenate(terms)
    order = np.argsort(owner, kind="stable")
    return owner[order], term[order]


def _log2(values: np.ndarray) -> np.ndarray:
    """Exact ``log2 |v|`` of non-zero integer powers of two (int64; float64 holds every 2**s exactly)."""
    magnitude = np.abs(values.astype(np.int64)).astype(np.uint64).astype(np.float64)
    return (np.frexp(magnitude)[1] - 1).astype(np.int64)


def _plan(network: IntegerNetwork) -> dict[str, ConvTaps | LinearTaps]:
    """The tap tables of every conv/linear layer, built once per network."""
    plan = _PLANS.get(network)
    if plan is None:
        plan = {}
        for layer in network.layers:
            if isinstance(layer, ConvLayer):
                plan[layer.name] = conv_taps(layer)
            elif isinstance(layer, LinearLayer):
                plan[layer.name] = linear_taps(layer)
        _PLANS[network] = plan
    return plan


def _input_spec(network: object) -> TensorSpec:
    """The input tensor of ``network``; ConfigError if it is not an :class:`IntegerNetwork`."""
    if not isinstance(network, IntegerNetwork):
        raise ConfigError(f"network must be an IntegerNetwork (from accelsim.lower), not {brief(network)}")
    return network.input


def check_input(network: IntegerNetwork, x: object) -> np.ndarray:
    """``x`` as the network input's storage dtype; raise :class:`ConfigError` when unusable."""
    spec = _input_spec(network)
    expected = "(N, " + ", ".join(str(v) for v in spec.shape) + ")"
    if not isinstance(x, np.ndarray):
        raise ConfigError(
            f"input must be a numpy array of shape {expected}, not {type(x).__name__}"
        )
    if x.ndim != len(spec.shape) + 1 or tuple(x.shape[1:]) != spec.shape or x.shape[0] < 1:
        raise ConfigError(f"input must have shape {expected}, not {tuple(x.shape)}")
    if x.dtype.kind not in "iu":
        raise ConfigError(
            f"input must be an integer array (quantize float data with quantize_input), not {x.dtype}"
        )
    if x.size and (int(x.min()) < spec.lo or int(x.max()) > spec.hi):
        raise ConfigError(
            f"input values must be in [{spec.lo}, {spec.hi}] ({spec.bits}-bit), "
            f"not [{int(x.min())}, {int(x.max())}]"
        )
    return np.ascontiguousarray(x, dtype=storage_dtype(spec.bits))


def quantize_input(network: IntegerNetwork, x_float: np.ndarray) -> np.ndarray:
    """Float inputs -> the network's integer input: ``clamp(rint(x * 2**f), lo, hi)``.

    ``rint`` rounds half to even; the product by a power of two is exact in float64.
    """
    spec = _input_spec(network)
    expected = "(N, " + ", ".join(str(v) for v in spec.shape) + ")"
    if not isinstance(x_float, np.ndarray) or x_float.dtype.kind not in "fiu":
        raise ConfigError(
            f"input must be a float numpy array of shape {expected}, not {type(x_float).__name__}"
        )
    if x_float.ndim != len(spec.shape) + 1 or tuple(x_float.shape[1:]) != spec.shape:
        raise ConfigError(f"input must have shape {expected}, not {tuple(x_float.shape)}")
    if not np.all(np.isfinite(x_float)):
        raise ConfigError("input must be finite, not contain NaN or inf")
    scaled = np.rint(np.ldexp(x_float.astype(np.float64), spec.frac_bits))
    return np.clip(scaled, spec.lo, spec.hi).astype(storage_dtype(spec.bits))


def dequantize(spec: TensorSpec, q: np.ndarray) -> np.ndarray:
    """Integer tensor -> real values (float64): ``q * 2**-frac_bits``."""
    if not isinstance(spec, TensorSpec):
        raise ConfigError(f"spec must be a TensorSpec (e.g. network.tensor(network.output)), not {brief(spec)}")
    return np.ldexp(np.asarray(q, dtype=np.float64), -spec.frac_bits)


def run(network: IntegerNetwork, x: np.ndarray, *, activations: bool = False) -> InferenceResult:
    """Run ``network`` on the integer batch ``x`` (N, *input_shape).

    Returns the output tensor's integers and, if ``activations``, every layer's output.
    """
    values: dict[str, np.ndarray] = {"input": check_input(network, x)}
    plan = _plan(network)
    for layer in network.layers:
        values[layer.name] = _run_layer(layer, values, plan.get(layer.name))
    kept = {layer.name: values[layer.name] for layer in network.layers} if activations else None
    return InferenceResult(values[network.output], kept)


def _output_array(batch: int, spec: TensorSpec) -> np.ndarray:
    """An uninitialized output batch for ``spec``."""
    return np.empty((batch, *spec.shape), dtype=storage_dtype(spec.bits))


def _run_layer(
    layer: Layer, values: dict[str, np.ndarray], taps: ConvTaps | LinearTaps | None
) -> np.ndarray:
    """One layer's output batch."""
    if isinstance(layer, AddLayer):
        return _run_add(layer, values[layer.inputs[0]], values[layer.inputs[1]])
    if isinstance(layer, ConcatLayer):
        dtype = storage_dtype(layer.output.bits)
        return np.concatenate([values[name].astype(dtype, copy=False) for name in layer.inputs], axis=1)
    x = values[layer.input]
    if isinstance(layer, ConvLayer):
        assert isinstance(taps, ConvTaps)
        return _run_conv(layer, x, taps)
    if isinstance(layer, LinearLayer):
        assert isinstance(taps, LinearTaps)
        out = _output_array(x.shape[0], layer.output)
        q = layer.requant
        kernels.linear(
            x,
            taps.ptr,
            taps.index,
            taps.shift,
            taps.neg,
            q.multiplier,
            q.bias,
            q.shift,
            q.lo,
            q.hi,
            out,
        )
        return out
    if isinstance(layer, PoolLayer):
        return _run_pool(layer, x)
    if isinstance(layer, FlattenLayer):
        return x.reshape(x.shape[0], -1).astype(storage_dtype(layer.output.bits), copy=False)
    raise TypeError(f"unknown layer type {type(layer).__name__}")


def _run_conv(layer: ConvLayer, x: np.ndarray, taps: ConvTaps) -> np.ndarray:
    """Convolution + requantization of a batch (N, C, H, W)."""
    batch, k, s, p = x.shape[0], layer.kernel, layer.stride, layer.padding
    channels, hp, wp = layer.in_channels, layer.in_h + 2 * p, layer.in_w + 2 * p
    oc, plane = layer.out_channels, layer.out_h * layer.out_w
    xpad = np.zeros((channels, batch, hp, wp), dtype=x.dtype)
    xpad[:, :, p : p + layer.in_h, p : p + layer.in_w] = x.transpose(1, 0, 2, 3)
    n = np.arange(batch)[:, None, None]
    if taps.wide:  # tap space = every padded position (n, y, x); outputs where y < OH, x < OW
        y, xx = np.arange(hp)[None, :, None], np.arange(wp)[None, None, :]
        valid = (y < layer.out_h) & (xx < layer.out_w)
        target = np.where(valid, n * oc * plane + y * layer.out_w + xx, -1).reshape(-1)
        tile = CONV_TILE
        tiles = -(-target.size // tile)
        source = np.zeros((channels + 1, tiles * tile + (k - 1) * (wp + 1)), dtype=x.dtype)
        source[:channels, : target.size] = xpad.reshape(channels, -1)
        row_step, col_step = 0, 1
    else:  # tap space = output pixels (n, oh, ow); patch rows gathered by im2col
        oh, ow = np.arange(layer.out_h)[None, :, None], np.arange(layer.out_w)[None, None, :]
        pbase = (n * (hp * wp) + oh * (s * wp) + ow * s).reshape(-1).astype(np.int64)
        target = (n * oc * plane + oh * layer.out_w + ow).reshape(-1).astype(np.int64)
        tile = min(CONV_TILE, -(-pbase.size // TILE_QUANTUM) * TILE_QUANTUM)
        tiles = -(-pbase.size // tile)
        patches = np.empty((tiles, channels * k * k + 1, tile), dtype=x.dtype)
        kernels.im2col(xpad.reshape(channels, -1), pbase, wp, k, patches)
        source = patches.reshape(tiles * (channels * k * k + 1), tile)
        row_step, col_step = channels * k * k + 1, 0
    out = _output_array(batch, layer.output)
    chunks = min(oc, max(1, -(-2 * numba.get_num_threads() // tiles)))
    q = layer.requant
    kernels.conv2d(
        source,
        row_step,
        col_step,
        tile,
        taps.ptr,
        taps.mid,
        taps.row,
        taps.col,
        taps.shift,
        target,
        q.multiplier,
        q.bias,
        q.shift,
        q.lo,
        q.hi,
        out.reshape(batch, oc, -1),
        chunks,
    )
    return out


def _run_pool(layer: PoolLayer, x: np.ndarray) -> np.ndarray:
    """Max or average pooling of a batch."""
    out = _output_array(x.shape[0], layer.output)
    (_, out_h, out_w), (height, width) = layer.output.shape, x.shape[2:]
    layer.check_windows(height, width)
    rows = layer.rows.starts(out_h), layer.rows.ends(out_h)
    cols = layer.cols.starts(out_w), layer.cols.ends(out_w)
    if layer.kind is PoolKind.MAX:
        kernels.max_pool2d(x, *rows, *cols, out)
        return out
    q = layer.requant
    assert q is not None
    entry = np.searchsorted(np.asarray(layer.areas, dtype=np.int64), layer.window_areas(height, width))
    kernels.avg_pool2d(
        x, *rows, *cols, entry.astype(np.int64), np.asarray(q.multiplier, dtype=np.int64),
        np.asarray(q.bias, dtype=np.int64), q.shift, q.lo, q.hi, out,
    )
    return out


def _run_add(layer: AddLayer, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Residual add of two batches."""
    batch, channels = a.shape[0], layer.output.shape[0]
    out = _output_array(batch, layer.output)
    q = layer.requant
    kernels.add(
        a.reshape(batch, channels, -1),
        b.reshape(batch, channels, -1),
        layer.shift_a,
        layer.shift_b,
        q.multiplier,
        q.bias,
        q.shift,
        q.lo,
        q.hi,
        out.reshape(batch, channels, -1),
    )
    return out
