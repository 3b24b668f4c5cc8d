"""Test support for the integer datapath: an independent torch reference and model fixtures.

* :func:`reference_run` implements the integer semantics of ``docs/integer-arithmetic.md`` with
  torch ops only (im2col with ``F.unfold`` and int64 matrix products, float64 pooling of small
  integers, int64 requantization); it reads the :class:`IntegerNetwork` but none of
  ``accelsim.integer``'s execution code, so the Numba datapath is checked against it bit for bit.
* :func:`make_power_of_two` is the test fixture that turns any model's conv/linear weights into
  KRP-like (rows zeroed) power-of-two weights; it is not a compressor (no retraining, no GSNQ
  level search).
* :func:`fake_quant_forward` runs the float model with its activations fake-quantized to the
  integer network's scales (the "torch fake-quantized model").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from accelsim.integer.graph import (
    AddLayer,
    ConcatLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    LinearLayer,
    PoolKind,
    PoolLayer,
    Requant,
    TensorSpec,
)


def requant(acc: torch.Tensor, q: Requant, channel_dim: int = 1) -> torch.Tensor:
    """``clamp((acc * M[c] + B[c] + round) >> S, lo, hi)`` in int64 torch ops."""
    shape = [1] * acc.dim()
    shape[channel_dim] = -1
    m = torch.from_numpy(q.multiplier.astype(np.int64)).view(shape)
    b = torch.from_numpy(q.bias.astype(np.int64)).view(shape)
    value = acc.to(torch.int64) * m + b
    if q.shift > 0:
        value = (value + (1 << (q.shift - 1))) >> q.shift
    return value.clamp(q.lo, q.hi)


def conv_acc(x: torch.Tensor, weights: np.ndarray, stride: int, padding: int, groups: int = 1) -> torch.Tensor:
    """Exact integer convolution (N, OC, OH, OW) int64 via unfold and an int64 matrix product per
    group (output channels ``[g*OC/groups, ...)`` read input channels ``[g*IC/groups, ...)``)."""
    n, ic, h, w = x.shape
    oc, _, k, _ = weights.shape
    oh = (h + 2 * padding - k) // stride + 1
    ow = (w + 2 * padding - k) // stride + 1
    parts = []
    for g in range(groups):
        xs = x[:, g * ic // groups:(g + 1) * ic // groups].to(torch.float64)
        cols = F.unfold(xs, k, padding=padding, stride=stride).round().to(torch.int64)
        ws = weights[g * oc // groups:(g + 1) * oc // groups]
        parts.append(torch.from_numpy(ws.reshape(len(ws), -1).astype(np.int64)) @ cols)
    return torch.cat(parts, dim=1).view(n, oc, oh, ow)


def _pool_call(layer: PoolLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(window sums or maxima, window divisors) of a pooling layer by torch's own pooling ops:
    regular windows (``den == 1``) by ``max_pool2d`` / ``avg_pool2d`` (ceil mode when the output
    is larger than floor mode gives), adaptive ones by ``adaptive_*_pool2d``."""
    _, out_h, out_w = layer.output.shape
    x64 = x.to(torch.float64)
    if layer.rows.den == 1 and layer.cols.den == 1:
        kernel, stride = (layer.rows.span, layer.cols.span), (layer.rows.step, layer.cols.step)
        padding = (layer.rows.pad, layer.cols.pad)
        floor_h = (x.shape[2] + 2 * padding[0] - kernel[0]) // stride[0] + 1
        floor_w = (x.shape[3] + 2 * padding[1] - kernel[1]) // stride[1] + 1
        ceil_mode = (out_h, out_w) != (floor_h, floor_w)
        if layer.kind is PoolKind.MAX:
            return F.max_pool2d(x64, kernel, stride, padding, ceil_mode=ceil_mode), torch.ones(1)
        # torch's one count_include_pad flag: the padding is counted when every padded axis counts it
        include = all(axis.divisor_pad == axis.pad for axis in (layer.rows, layer.cols) if axis.pad)
        sums = F.avg_pool2d(x64, kernel, stride, padding, ceil_mode, divisor_override=1)
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=torch.float64)
        counted = F.avg_pool2d(ones, kernel, stride, padding, ceil_mode, divisor_override=1)
        averaged = F.avg_pool2d(ones, kernel, stride, padding, ceil_mode, count_include_pad=include)
        return sums, (counted / averaged).round()
    if layer.kind is PoolKind.MAX:
        return F.adaptive_max_pool2d(x64, (out_h, out_w)), torch.ones(1)
    sizes = []
    for n, m in ((x.shape[2], out_h), (x.shape[3], out_w)):
        sizes.append(torch.tensor([-(-(i + 1) * n // m) - i * n // m for i in range(m)], dtype=torch.float64))
    divisors = sizes[0][:, None] * sizes[1][None, :]
    return F.adaptive_avg_pool2d(x64, (out_h, out_w)) * divisors, divisors


def reference_run(network: IntegerNetwork, x: np.ndarray) -> dict[str, torch.Tensor]:
    """Every layer's integer output (int64 tensors) for the integer input batch ``x``."""
    values: dict[str, torch.Tensor] = {"input": torch.from_numpy(np.asarray(x, dtype=np.int64))}
    for layer in network.layers:
        if isinstance(layer, ConcatLayer):
            values[layer.name] = torch.cat([values[name] for name in layer.inputs], dim=1)
            continue
        if isinstance(layer, AddLayer):
            a, b = (values[name] for name in layer.inputs)
            acc = (a << layer.shift_a) + (b << layer.shift_b)
            values[layer.name] = requant(acc, layer.requant)
            continue
        x_in = values[layer.input]
        if isinstance(layer, ConvLayer):
            acc = conv_acc(x_in, layer.weights, layer.stride, layer.padding, layer.groups)
            values[layer.name] = requant(acc, layer.requant)
        elif isinstance(layer, LinearLayer):
            acc = x_in @ torch.from_numpy(layer.weights.astype(np.int64)).T
            values[layer.name] = requant(acc, layer.requant)
        elif isinstance(layer, PoolLayer) and layer.kind is PoolKind.MAX:
            values[layer.name] = _pool_call(layer, x_in)[0].to(torch.int64)
        elif isinstance(layer, PoolLayer):
            total, divisors = _pool_call(layer, x_in)
            q = layer.requant
            entry = torch.from_numpy(np.searchsorted(np.asarray(layer.areas), divisors.to(torch.int64).numpy()))
            m = torch.from_numpy(np.asarray(q.multiplier, dtype=np.int64))[entry]
            b = torch.from_numpy(np.asarray(q.bias, dtype=np.int64))[entry]
            value = total.round().to(torch.int64) * m + b
            if q.shift > 0:
                value = (value + (1 << (q.shift - 1))) >> q.shift
            values[layer.name] = value.clamp(q.lo, q.hi)
        elif isinstance(layer, FlattenLayer):
            values[layer.name] = x_in.reshape(x_in.shape[0], -1)
        else:
            raise TypeError(type(layer).__name__)
    return values


def make_power_of_two(
    model: nn.Module, *, rows_kept: int = 1, levels: int = 7, seed: int = 0
) -> nn.Module:
    """Make ``model``'s conv/linear weights KRP-like and powers of two, in place; return it.

    Every KxK kernel (K >= 2) keeps its ``rows_kept`` rows of largest L1 norm (the others are
    zeroed); every weight becomes ``sign * 2**round(log2|w|)``, exponents limited to the ``levels``
    below the layer's largest (smaller weights become 0). BatchNorm running statistics get
    seeded non-trivial values so the folding is exercised.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                w = module.weight
                if (
                    isinstance(module, nn.Conv2d)
                    and module.kernel_size[0] >= 2
                    and rows_kept < module.kernel_size[0]
                ):
                    norms = w.abs().sum(dim=3)
                    keep = norms.argsort(dim=2, descending=True, stable=True)[..., :rows_kept]
                    mask = torch.zeros_like(norms, dtype=torch.bool).scatter_(2, keep, True)
                    w.mul_(mask[..., None])
                exponent = torch.round(torch.log2(w.abs().clamp_min(1e-30)))
                top = exponent[w != 0].max() if bool((w != 0).any()) else torch.tensor(0.0)
                value = torch.sign(w) * 2.0 ** exponent.clamp(max=top)
                w.copy_(torch.where(exponent < top - levels + 1, torch.zeros_like(w), value))
            elif (
                isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d))
                and module.running_var is not None
            ):
                c = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))
                if module.weight is not None:
                    module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                    module.bias.copy_(0.1 * torch.randn(c, generator=generator))
    return model.eval()


def fake_quantize(value: torch.Tensor, spec: TensorSpec) -> torch.Tensor:
    """Round ``value`` to the integer grid of ``spec`` (half to even) and clamp; real units."""
    scale = 2.0**spec.frac_bits
    return torch.clamp(torch.round(value * scale), spec.lo, spec.hi) / scale


def fake_quant_forward(model: nn.Module, network: IntegerNetwork, x: np.ndarray) -> torch.Tensor:
    """The float model with every lowered tensor fake-quantized to the network's scales."""
    traced = torch.fx.symbolic_trace(model.eval())
    by_node = {
        node: network.layer(layer).output for layer, node in network.metadata["fx_nodes"].items()
    }

    class FakeQuant(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> Any:
            result = super().run_node(n)
            if n.op == "placeholder":
                return fake_quantize(result, network.input)
            if n.name in by_node:
                return fake_quantize(result, by_node[n.name])
            return result

    with torch.no_grad():
        return FakeQuant(traced).run(torch.from_numpy(np.asarray(x, dtype=np.float32)))
