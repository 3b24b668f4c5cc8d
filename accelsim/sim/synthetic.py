"""Synthetic integer networks built from layer shapes, for hardware studies without a model.

The simulator needs only shapes, kernels, kept rows, bit widths and non-zero counts, so a network
described by its layer shapes is enough to size an accelerator. :class:`NetworkBuilder` makes an
:class:`~accelsim.integer.graph.IntegerNetwork` with seeded power-of-two weights (KRP kept rows
chosen at random) and neutral requantization parameters; its arithmetic is not meant to be run.

>>> builder = NetworkBuilder((3, 8, 8))
>>> _ = builder.conv(16, kernel=3)
>>> _ = builder.pool(2)
>>> builder.build().layers[-1].output.shape
(16, 4, 4)
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..integer.graph import (
    AddLayer,
    ConcatLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    Layer,
    LinearLayer,
    PoolAxis,
    PoolKind,
    PoolLayer,
    Requant,
    TensorSpec,
    WeightFormat,
)


class NetworkBuilder:
    """Append layers to a network one at a time; each method returns the new layer's name.

    Args:
        input_shape: ``(C, H, W)`` of the network input.
        act_bits: activation width of every tensor, bits.
        weight_bits: code width of every weight, bits.
        seed: seed of the weight generator.
        name: network name.
        weights: the weights' format: GSNQ powers of two (the shift PE kinds) or uniform codes (the
            multiplier kinds; :attr:`PeKind.weight_format`).
    """

    def __init__(self, input_shape: tuple[int, ...], act_bits: int = 8, weight_bits: int = 4,
                 seed: int = 0, name: str = "synthetic", weights: WeightFormat = WeightFormat.GSNQ) -> None:
        self.act_bits = act_bits
        self.weight_bits = weight_bits
        self.weight_format = WeightFormat(weights)
        self.name = name
        self._rng = np.random.default_rng(seed)
        self._input = self._tensor(tuple(input_shape))
        self._shapes: dict[str, tuple[int, ...]] = {"input": tuple(input_shape)}
        self._layers: list[Layer] = []
        self._last = "input"

    def _tensor(self, shape: tuple[int, ...]) -> TensorSpec:
        return TensorSpec(shape=shape, bits=self.act_bits, frac_bits=0)

    def _requant(self, channels: int) -> Requant:
        hi = (1 << (self.act_bits - 1)) - 1
        return Requant(np.ones(channels, np.int64), np.zeros(channels, np.int64), 0, 0, hi, 2)

    def _append(self, layer: Layer) -> str:
        if layer.name in self._shapes:
            raise ConfigError(f"layer name must be unique, not {layer.name!r} again")
        self._layers.append(layer)
        self._shapes[layer.name] = layer.output.shape
        self._last = layer.name
        return layer.name

    def _source(self, source: str | None) -> tuple[str, tuple[int, ...]]:
        name = self._last if source is None else source
        if name not in self._shapes:
            raise ConfigError(f"input must be 'input' or an earlier layer name, not {name!r}")
        return name, self._shapes[name]

    def _weights(self, shape: tuple[int, ...], density: float) -> np.ndarray:
        """Random +-2**s GSNQ weights (s in 0..3) or uniform codes (magnitudes 1 .. 2**(w-1) - 1), each
        non-zero with probability ``density``."""
        signs = self._rng.choice(np.array([-1, 1]), size=shape)
        if self.weight_format is WeightFormat.GSNQ:
            values = signs * (1 << self._rng.integers(0, 4, size=shape))
        else:
            values = signs * self._rng.integers(1, max(2, 1 << (self.weight_bits - 1)), size=shape)
        keep = self._rng.random(shape) < density
        return np.where(keep, values, 0).astype(np.int64)

    def conv(self, out_channels: int, kernel: int = 3, stride: int = 1, padding: int | None = None,
             rows_kept: int | None = 1, density: float = 1.0, source: str | None = None,
             name: str | None = None, groups: int = 1) -> str:
        """A KxK convolution; ``rows_kept=None`` makes it dense, else KRP with that many rows;
        ``groups`` as in torch (``groups`` = input channels: depthwise)."""
        source, shape = self._source(source)
        channels, height, width = shape
        pad = kernel // 2 if padding is None else padding
        if kernel > min(height, width) + 2 * pad:
            raise ConfigError(f"kernel must fit the padded {height}x{width} input (padding {pad}), not {kernel}")
        if groups < 1 or channels % groups or out_channels % groups:
            raise ConfigError(f"groups must divide {channels} input and {out_channels} output channels, not {groups}")
        weights = self._weights((out_channels, channels // groups, kernel, kernel), density)
        kept = None
        if rows_kept is not None:
            scores = self._rng.random((out_channels, channels // groups, kernel))
            kept = np.sort(np.argsort(scores, axis=2)[:, :, :rows_kept], axis=2).astype(np.int64)
            mask = np.zeros(weights.shape, dtype=bool)
            np.put_along_axis(mask, kept[..., None].repeat(kernel, axis=3), True, axis=2)
            weights = np.where(mask, weights, 0)
        out_h = (height + 2 * pad - kernel) // stride + 1
        out_w = (width + 2 * pad - kernel) // stride + 1
        return self._append(ConvLayer(
            name=name or f"conv{len(self._layers)}", input=source,
            output=self._tensor((out_channels, out_h, out_w)), in_channels=channels,
            out_channels=out_channels, in_h=height, in_w=width, kernel=kernel, stride=stride,
            padding=pad, weights=weights, kept_rows=kept, weight_bits=self.weight_bits, acc_bits=32,
            weight_format=self.weight_format,
            requant=self._requant(out_channels), groups=groups,
        ))

    def linear(self, out_features: int, density: float = 1.0, source: str | None = None,
               name: str | None = None) -> str:
        """A fully connected layer on a vector input."""
        source, shape = self._source(source)
        if len(shape) != 1:
            raise ConfigError(f"a linear layer's input must be a vector (flatten first), not {shape}")
        weights = self._weights((out_features, shape[0]), density)
        return self._append(LinearLayer(
            name=name or f"fc{len(self._layers)}", input=source, output=self._tensor((out_features,)),
            in_features=shape[0], out_features=out_features, weights=weights,
            weight_bits=self.weight_bits, acc_bits=32, requant=self._requant(out_features),
            weight_format=self.weight_format,
        ))

    def pool(self, kernel: int, stride: int | None = None, kind: PoolKind = PoolKind.MAX,
             source: str | None = None, name: str | None = None, padding: int = 0,
             ceil_mode: bool = False) -> str:
        """A max or average pooling (square ``kernel``; an average counts padding as zeros)."""
        axis = PoolAxis.regular(kernel, kernel if stride is None else stride, padding)
        source, (_, height, width) = self._source(source)
        return self._pool(kind, axis, axis, (axis.count(height, ceil_mode), axis.count(width, ceil_mode)),
                          source, name)

    def adaptive_pool(self, size: tuple[int, int], kind: PoolKind = PoolKind.AVG,
                      source: str | None = None, name: str | None = None) -> str:
        """An adaptive pooling to ``size`` (torch's windows, :meth:`PoolAxis.adaptive`)."""
        source, (_, height, width) = self._source(source)
        return self._pool(kind, PoolAxis.adaptive(height, size[0]), PoolAxis.adaptive(width, size[1]),
                          size, source, name)

    def _pool(self, kind: PoolKind, rows: PoolAxis, cols: PoolAxis, size: tuple[int, int],
              source: str, name: str | None) -> str:
        channels, height, width = self._shapes[source]
        output = self._tensor((channels, *size))
        layer = PoolLayer(name or f"pool{len(self._layers)}", source, output, kind, rows, cols)
        layer.check_windows(height, width)
        if kind is PoolKind.AVG:
            areas = tuple(int(a) for a in np.unique(layer.window_areas(height, width)))
            requant = self._requant(len(areas))
            layer = PoolLayer(layer.name, source, output, kind, rows, cols, requant, areas)
        return self._append(layer)

    def add(self, first: str, second: str, name: str | None = None) -> str:
        """A residual addition of two equally shaped tensors."""
        (first, shape), (second, other) = self._source(first), self._source(second)
        if shape != other:
            raise ConfigError(f"added tensors must have one shape, not {shape} and {other}")
        return self._append(AddLayer(name or f"add{len(self._layers)}", (first, second),
                                     self._tensor(shape), 0, 0, self._requant(shape[0])))

    def concat(self, sources: list[str], name: str | None = None) -> str:
        """A channel concatenation of maps of one height and width."""
        shapes = [self._source(source)[1] for source in sources]
        if len(sources) < 2 or len({shape[1:] for shape in shapes}) != 1:
            raise ConfigError(f"concatenated maps must be two or more of one height and width, not {shapes}")
        channels = sum(shape[0] for shape in shapes)
        return self._append(ConcatLayer(name or f"concat{len(self._layers)}", tuple(sources),
                                        self._tensor((channels, *shapes[0][1:]))))

    def flatten(self, source: str | None = None, name: str | None = None) -> str:
        """Flatten a (C, H, W) tensor to a vector."""
        source, shape = self._source(source)
        return self._append(FlattenLayer(name or f"flatten{len(self._layers)}", source,
                                         self._tensor((int(np.prod(shape)),))))

    def build(self) -> IntegerNetwork:
        """The network (its output is the last layer added)."""
        return IntegerNetwork(input=self._input, layers=tuple(self._layers), output=self._last,
                              name=self.name)


def vgg16_shapes(seed: int = 0, rows_kept: int | None = 1, weights: WeightFormat = WeightFormat.GSNQ) -> IntegerNetwork:
    """CIFAR VGG-16 (13 conv3x3, 5 max-pools, Linear 512-512-10) as a synthetic network with ``weights``."""
    builder = NetworkBuilder((3, 32, 32), seed=seed, name="vgg16", weights=weights)
    for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if item == "M":
            builder.pool(2)
        else:
            builder.conv(int(item), rows_kept=rows_kept)
    builder.flatten()
    builder.linear(512)
    builder.linear(10)
    return builder.build()


def resnet_shapes(blocks_per_stage: int, seed: int = 0, rows_kept: int | None = 1,
                  weights: WeightFormat = WeightFormat.GSNQ) -> IntegerNetwork:
    """CIFAR ResNet-(6n+2) (He et al.; 1x1 projection shortcuts when downsampling), synthetic, with ``weights``."""
    builder = NetworkBuilder((3, 32, 32), seed=seed, name=f"resnet{6 * blocks_per_stage + 2}", weights=weights)
    current = builder.conv(16, rows_kept=rows_kept)
    channels = 16
    for stage, width in enumerate((16, 32, 64)):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            first = builder.conv(width, stride=stride, rows_kept=rows_kept, source=current)
            second = builder.conv(width, rows_kept=rows_kept, source=first)
            shortcut = current
            if stride != 1 or channels != width:
                shortcut = builder.conv(width, kernel=1, stride=stride, padding=0, rows_kept=rows_kept,
                                        source=current)
            current = builder.add(second, shortcut)
            channels = width
    builder.pool(8, kind=PoolKind.AVG, source=current)
    builder.flatten()
    builder.linear(10)
    return builder.build()
