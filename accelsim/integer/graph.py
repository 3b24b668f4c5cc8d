"""The integer network: a small typed graph of layers with integer parameters.

This is what the accelerator executes and what the simulator and the RTL read. Every tensor is a
signed two's-complement integer tensor of ``bits`` bits with a power-of-two scale: the real value
of an integer ``q`` is ``q * 2**-frac_bits``. Layer parameters are integers only; the exact
arithmetic of each layer is specified in ``docs/integer-arithmetic.md``.

Layers are listed in topological order; each names its input tensor(s) by layer name (the network
input is called ``"input"``). Shapes are per image, channels first: ``(C, H, W)`` for feature maps,
``(N,)`` for vectors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import UnsupportedLayerError


class WeightFormat(str, enum.Enum):
    """How a conv / linear layer's integer weights relate to its compressed weights.

    * ``GSNQ``: every integer weight is 0 or ``sign * 2**s`` (``s >= 0``); the hardware applies it
      as a shift and a conditional negate. ``weight_bits`` is the GSNQ code width.
    * ``UNIFORM``: every integer weight is the signed code ``q`` of a symmetric uniform grid,
      ``|q| <= 2**(weight_bits - 1) - 1`` (the code ``-2**(weight_bits - 1)`` is unused); the
      hardware multiplies. ``weight_bits`` is the code width b (the codes are b-bit two's
      complement).

    In both formats the real weight is the integer times one per-layer scale, which lowering
    folds into the layer's requantization (``docs/integer-arithmetic.md``).
    """

    GSNQ = "gsnq"
    UNIFORM = "uniform"


class PoolKind(str, enum.Enum):
    """Pooling operator."""

    MAX = "max"
    AVG = "avg"


@dataclass(frozen=True)
class TensorSpec:
    """An integer activation tensor of one image.

    Attributes:
        shape: ``(C, H, W)`` or ``(N,)``.
        bits: width of each element in bits (signed two's complement).
        frac_bits: power-of-two scale; real value = integer * 2**-frac_bits.
    """

    shape: tuple[int, ...]
    bits: int
    frac_bits: int

    @property
    def lo(self) -> int:
        """Smallest representable integer."""
        return -(1 << (self.bits - 1))

    @property
    def hi(self) -> int:
        """Largest representable integer."""
        return (1 << (self.bits - 1)) - 1

    @property
    def elements(self) -> int:
        """Number of elements per image."""
        return int(np.prod(self.shape))


@dataclass(frozen=True, eq=False)
class Requant:
    """Per-channel requantization of an accumulator to the output tensor.

    ``y = clamp((acc * multiplier[c] + bias[c] + round) >> shift, lo, hi)`` where
    ``round = 1 << (shift - 1)`` if ``shift > 0`` else 0 and ``>>`` is an arithmetic shift right.
    ``lo`` is 0 when a ReLU is fused, otherwise the output tensor's minimum.

    Attributes:
        multiplier: int64 array of shape (C,), the folded BN / scale factor.
        bias: int64 array of shape (C,), the folded bias at the scale of ``acc * multiplier``.
        shift: rounding right shift in bits (>= 0).
        lo: clamp lower bound (integer).
        hi: clamp upper bound (integer).
        multiplier_bits: signed width of ``multiplier`` in bits.
    """

    multiplier: np.ndarray
    bias: np.ndarray
    shift: int
    lo: int
    hi: int
    multiplier_bits: int


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """A 2-D convolution (dilation 1; grouped or depthwise with ``groups``) and requantization.

    Attributes:
        name: layer name (the torch module's qualified name).
        input: name of the producing layer, or ``"input"``.
        output: the output tensor.
        in_channels, out_channels: channel counts.
        in_h, in_w: input feature-map height and width in pixels (before padding).
        kernel: square kernel size K.
        stride, padding: as in ``torch.nn.Conv2d`` (symmetric zero padding).
        weights: signed integer array (out_channels, in_channels / groups, K, K), as torch's; every
            entry is 0 or +-2**s, s >= 0 (GSNQ), or a code q with ``|q| <= 2**(weight_bits - 1) - 1``
            (uniform). Lowering stores it in the narrowest of int8 .. int64 that holds it (4-bit
            GSNQ: int8 or int16; uniform: int8); read it as int64 for arithmetic.
        kept_rows: for a KRP layer, int64 array (out_channels, in_channels / groups, rows_kept) of
            the kept kernel-row indices, ascending; ``None`` for a dense layer. Rows not listed are
            all zero.
        weight_bits: code width of the weights in bits (GSNQ or uniform, see ``weight_format``).
        acc_bits: signed accumulator width in bits, wide enough for the worst case (no wrap-around).
        requant: the requantization applied to the accumulator.
        weight_format: what the integer weights are (:class:`WeightFormat`).
        groups: as in ``torch.nn.Conv2d``: output channel ``o`` reads the input channels
            ``[g * in_channels/groups, (g + 1) * in_channels/groups)`` of its group
            ``g = o // (out_channels/groups)``; ``groups == in_channels`` is a depthwise convolution.
    """

    name: str
    input: str
    output: TensorSpec
    in_channels: int
    out_channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int
    padding: int
    weights: np.ndarray
    kept_rows: np.ndarray | None
    weight_bits: int
    acc_bits: int
    requant: Requant
    weight_format: WeightFormat = WeightFormat.GSNQ
    groups: int = 1

    @property
    def group_in(self) -> int:
        """Input channels of one group (``in_channels / groups``)."""
        return self.in_channels // self.groups

    @property
    def group_out(self) -> int:
        """Output channels of one group (``out_channels / groups``)."""
        return self.out_channels // self.groups

    @property
    def out_h(self) -> int:
        """Output height in pixels."""
        return (self.in_h + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_w(self) -> int:
        """Output width in pixels."""
        return (self.in_w + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def is_krp(self) -> bool:
        """Whether only the kept kernel rows are computed."""
        return self.kept_rows is not None

    @property
    def rows_kept(self) -> int:
        """Kernel rows computed per (output, input) channel pair."""
        return self.kernel if self.kept_rows is None else int(self.kept_rows.shape[2])

    @cached_property
    def nonzeros(self) -> int:
        """Number of non-zero weights (counted once: the weights never change)."""
        return int(np.count_nonzero(self.weights))


@dataclass(frozen=True, eq=False)
class LinearLayer:
    """A fully connected layer (possibly sparse: zero weights are skipped) and requantization.

    Attributes:
        weights: signed integer array (out_features, in_features); entries as in :class:`ConvLayer`
            (and stored as its are).
        weight_format: what the integer weights are (:class:`WeightFormat`).

    The other attributes are as in :class:`ConvLayer`.
    """

    name: str
    input: str
    output: TensorSpec
    in_features: int
    out_features: int
    weights: np.ndarray
    weight_bits: int
    acc_bits: int
    requant: Requant
    weight_format: WeightFormat = WeightFormat.GSNQ

    @cached_property
    def nonzeros(self) -> int:
        """Number of non-zero weights (counted once: the weights never change)."""
        return int(np.count_nonzero(self.weights))


@dataclass(frozen=True)
class PoolAxis:
    """The pooling windows along one axis (rows or columns) of a map of ``size`` positions.

    Window ``i`` spans ``[start(i), end(i))`` with ``start(i) = floor(i*step/den) - pad`` and
    ``end(i) = floor((i*step + span)/den) - pad``; it reads the positions of that range inside
    ``[0, size)``. torch's windows are exactly these:

    * ``MaxPool2d`` / ``AvgPool2d`` (kernel k, stride s, padding p, floor or ceil mode): ``step=s,
      span=k, den=1, pad=p`` (:meth:`regular`);
    * ``AdaptiveAvgPool2d`` / ``AdaptiveMaxPool2d`` from ``n`` positions to ``m``: ``step=n,
      span=n+m-1, den=m, pad=0`` (:meth:`adaptive`: ``floor(i*n/m)`` to ``ceil((i+1)*n/m)``).

    An average divides window ``i``'s sum by its **divisor** ``min(end, size + divisor_pad) -
    max(start, -divisor_pad)`` along this axis (times the other axis's): ``divisor_pad = pad``
    counts the padding (torch's ``count_include_pad=True``, and its clipping of ceil-mode windows
    to the padded map), ``0`` counts the elements read.

    Attributes:
        step, span, den: the window formula's integers (``den >= 1``, ``step >= 1``, ``span >= 1``).
        pad: positions before the map's first one at which window 0 starts.
        divisor_pad: padding counted in an average's divisor (``0 <= divisor_pad <= pad``).
    """

    step: int
    span: int
    den: int = 1
    pad: int = 0
    divisor_pad: int = 0

    @classmethod
    def regular(cls, kernel: int, stride: int, padding: int = 0, count_include_pad: bool = True) -> PoolAxis:
        """Windows of ``kernel`` positions every ``stride``, starting at ``-padding``."""
        return cls(stride, kernel, 1, padding, padding if count_include_pad else 0)

    @classmethod
    def adaptive(cls, size: int, count: int) -> PoolAxis:
        """torch's adaptive windows: ``count`` windows over ``size`` positions."""
        return cls(size, size + count - 1, count, 0, 0)

    @property
    def is_regular(self) -> bool:
        """Whether every window has ``span`` positions, ``step`` apart (``den == 1``)."""
        return self.den == 1

    def start(self, index: int) -> int:
        """``start(index)``: the first position of window ``index`` (before clipping to the map)."""
        return index * self.step // self.den - self.pad

    def end(self, index: int) -> int:
        """``end(index)``: one past the last position of window ``index`` (before clipping)."""
        return (index * self.step + self.span) // self.den - self.pad

    def starts(self, count: int) -> np.ndarray:
        """int64 ``start(i)`` of windows ``0 .. count-1`` (before clipping to the map)."""
        return np.arange(count, dtype=np.int64) * self.step // self.den - self.pad

    def ends(self, count: int) -> np.ndarray:
        """int64 ``end(i)`` of windows ``0 .. count-1`` (before clipping to the map)."""
        return (np.arange(count, dtype=np.int64) * self.step + self.span) // self.den - self.pad

    def empty_window(self, size: int, count: int) -> int | None:
        """The first of windows ``0 .. count-1`` with no position of the ``size``-position map
        (wholly in the padding: its maximum, or an uncounted average, is undefined), or None."""
        empty = np.flatnonzero((self.ends(count) <= 0) | (self.starts(count) >= size))
        return int(empty[0]) if empty.size else None

    def divisors(self, size: int, count: int) -> np.ndarray:
        """int64 divisor of each window along this axis (see the class docstring)."""
        lo = np.maximum(self.starts(count), -self.divisor_pad)
        return np.minimum(self.ends(count), size + self.divisor_pad) - lo

    def window(self, count: int) -> int:
        """The most positions a window spans (clipping aside): the hardware's window size."""
        return int((self.ends(count) - self.starts(count)).max()) if count else 0

    def count(self, size: int, ceil_mode: bool = False) -> int:
        """Windows of a regular axis over ``size`` positions, as torch counts them."""
        span = size + 2 * self.pad - self.span
        if not ceil_mode:
            return span // self.step + 1
        count = -(-span // self.step) + 1
        return count - 1 if (count - 1) * self.step >= size + self.pad else count


@dataclass(frozen=True, eq=False)
class PoolLayer:
    """Max or average pooling: per channel, windows ``rows`` x ``cols`` (:class:`PoolAxis`).

    Max pooling takes the maximum of the elements a window reads (never padding); values and
    scale are unchanged. Average pooling requantizes each window's sum: the multiplier and bias of
    its **area**, the product of its two divisors. ``areas`` lists the distinct areas of the
    layer's windows, ascending, and ``requant.multiplier`` / ``requant.bias`` hold one entry per
    area, in that order (``shift``, ``lo``, ``hi`` are shared).
    """

    name: str
    input: str
    output: TensorSpec
    kind: PoolKind
    rows: PoolAxis
    cols: PoolAxis
    requant: Requant | None = None
    areas: tuple[int, ...] = ()

    def check_windows(self, in_h: int, in_w: int) -> None:
        """Refuse windows that lie wholly in the padding (torch refuses such poolings too).

        Raises:
            UnsupportedLayerError: the first such window, by axis and index.
        """
        _, out_h, out_w = self.output.shape
        for axis, size, count, label in ((self.rows, in_h, out_h, "rows"), (self.cols, in_w, out_w, "columns")):
            index = axis.empty_window(size, count)
            if index is not None:
                raise UnsupportedLayerError(
                    f"layer {self.name!r} window {index} of its {label} must hold a position of the "
                    f"{size}-position map, not span [{axis.start(index)}, {axis.end(index)}) wholly in "
                    f"the padding: choose a padding of at most half the kernel (as torch requires)"
                )

    def window_areas(self, in_h: int, in_w: int) -> np.ndarray:
        """int64 (out_h, out_w): each window's area (the average's divisor)."""
        _, out_h, out_w = self.output.shape
        return self.rows.divisors(in_h, out_h)[:, None] * self.cols.divisors(in_w, out_w)[None, :]


@dataclass(frozen=True, eq=False)
class AddLayer:
    """Residual addition of two tensors, aligned to a common scale, then requantized.

    ``acc = (a << shift_a) + (b << shift_b)``, then ``requant`` (per-channel, optional ReLU).
    """

    name: str
    inputs: tuple[str, str]
    output: TensorSpec
    shift_a: int
    shift_b: int
    requant: Requant


@dataclass(frozen=True, eq=False)
class FlattenLayer:
    """Reshape (C, H, W) to (C*H*W,) in C-major order; values and scale unchanged."""

    name: str
    input: str
    output: TensorSpec


@dataclass(frozen=True, eq=False)
class ConcatLayer:
    """Channel concatenation of feature maps of one height and width, in ``inputs`` order.

    Every input has the output's ``bits`` and ``frac_bits`` (lowering gives the producers one
    scale), so values are unchanged.
    """

    name: str
    inputs: tuple[str, ...]
    output: TensorSpec


Layer = ConvLayer | LinearLayer | PoolLayer | AddLayer | FlattenLayer | ConcatLayer


@dataclass(frozen=True, eq=False)
class IntegerNetwork:
    """A lowered network: the input tensor, layers in topological order, the output layer name."""

    input: TensorSpec
    layers: tuple[Layer, ...]
    output: str
    name: str = "network"
    metadata: dict[str, object] = field(default_factory=dict)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``."""
        for item in self.layers:
            if item.name == name:
                return item
        raise KeyError(name)

    def tensor(self, name: str) -> TensorSpec:
        """The tensor called ``name``: ``"input"`` or a layer's output."""
        return self.input if name == "input" else self.layer(name).output
