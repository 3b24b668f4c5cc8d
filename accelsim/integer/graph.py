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
    """A 2-D convolution (groups=1, dilation=1) followed by requantization.

    Attributes:
        name: layer name (the torch module's qualified name).
        input: name of the producing layer, or ``"input"``.
        output: the output tensor.
        in_channels, out_channels: channel counts.
        in_h, in_w: input feature-map height and width in pixels (before padding).
        kernel: square kernel size K.
        stride, padding: as in ``torch.nn.Conv2d`` (symmetric zero padding).
        weights: signed integer array (out_channels, in_channels, K, K); every entry is 0 or
            +-2**s, s >= 0 (GSNQ), or a code q with ``|q| <= 2**(weight_bits - 1) - 1`` (uniform).
            Lowering stores it in the narrowest of int8 .. int64 that holds it (4-bit GSNQ: int8
            or int16; uniform: int8); read it as int64 for arithmetic.
        kept_rows: for a KRP layer, int64 array (out_channels, in_channels, rows_kept) of the kept
            kernel-row indices, ascending; ``None`` for a dense layer. Rows not listed are all zero.
        weight_bits: code width of the weights in bits (GSNQ or uniform, see ``weight_format``).
        acc_bits: signed accumulator width in bits, wide enough for the worst case (no wrap-around).
        requant: the requantization applied to the accumulator.
        weight_format: what the integer weights are (:class:`WeightFormat`).
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


@dataclass(frozen=True, eq=False)
class PoolLayer:
    """Max or average pooling (square window).

    For average pooling the window sum is requantized with ``requant`` (a single-channel
    multiplier broadcast to all channels); max pooling leaves values and scale unchanged.
    """

    name: str
    input: str
    output: TensorSpec
    kind: PoolKind
    kernel: int
    stride: int
    padding: int
    requant: Requant | None = None


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


Layer = ConvLayer | LinearLayer | PoolLayer | AddLayer | FlattenLayer


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
