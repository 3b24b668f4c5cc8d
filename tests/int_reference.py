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


def conv_acc(x: torch.Tensor, weights: np.ndarray, stride: int, padding: int) -> torch.Tensor:
    """Exact integer convolution (N, OC, OH, OW) int64 via unfold and an int64 matrix product."""
    n, _, h, w = x.shape
    oc, _, k, _ = weights.shape
    cols = F.unfold(x.to(torch.float64), k, padding=padding, stride=stride).round().to(torch.int64)
    acc = torch.from_numpy(weights.reshape(oc, -1).astype(np.int64)) @ cols
    oh = (h + 2 * padding - k) // stride + 1
    ow = (w + 2 * padding - k) // stride + 1
    return acc.view(n, oc, oh, ow)


def reference_run(network: IntegerNetwork, x: np.ndarray) -> dict[str, torch.Tensor]:
    """Every layer's integer output (int64 tensors) for the integer input batch ``x``."""
    values: dict[str, torch.Tensor] = {"input": torch.from_numpy(np.asarray(x, dtype=np.int64))}
    for layer in network.layers:
        if isinstance(layer, AddLayer):
            a, b = (values[name] for name in layer.inputs)
            acc = (a << layer.shift_a) + (b << layer.shift_b)
            values[layer.name] = requant(acc, layer.requant)
            continue
        x_in = values[layer.input]
        if isinstance(layer, ConvLayer):
            acc = conv_acc(x_in, layer.weights, layer.stride, layer.padding)
            values[layer.name] = requant(acc, layer.requant)
        elif isinstance(layer, LinearLayer):
            acc = x_in @ torch.from_numpy(layer.weights.astype(np.int64)).T
            values[layer.name] = requant(acc, layer.requant)
        elif isinstance(layer, PoolLayer) and layer.kind is PoolKind.MAX:
            pooled = F.max_pool2d(x_in.to(torch.float64), layer.kernel, layer.stride, layer.padding)
            values[layer.name] = pooled.to(torch.int64)
        elif isinstance(layer, PoolLayer):
            total = F.avg_pool2d(
                x_in.to(torch.float64),
                layer.kernel,
                layer.stride,
                layer.padding,
                count_include_pad=True,
                divisor_override=1,
            )
            q = layer.requant
            flat = Requant(
                np.full(layer.output.shape[0], q.multiplier[0]),
                np.full(layer.output.shape[0], q.bias[0]),
                q.shift,
                q.lo,
                q.hi,
                q.multiplier_bits,
            )
            values[layer.name] = requant(total.round().to(torch.int64), flat)
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
