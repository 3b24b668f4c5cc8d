"""Lowering: a torch CNN with power-of-two weights -> :class:`~accelsim.integer.graph.IntegerNetwork`.

Layers whose compression record is uniform (:class:`~accelsim.compression.UniformLevels`) have
weights ``q * step`` instead; they lower to their integer codes ``q``
(:attr:`~accelsim.integer.graph.WeightFormat.UNIFORM`).

The model is traced with ``torch.fx.symbolic_trace`` and run once on the calibration batch (float)
to record every node's value. Every node of the traced graph is then checked, in graph order,
against the operations below, so an unsupported operation is reported by its own name and type
(an LSTM as the LSTM, not as the reshape before it); then the graph is matched node by node,
BatchNorm and activations folded into the requantization of the layer they follow:

* ``Conv2d [-> BatchNorm2d] [-> activation]`` -> :class:`ConvLayer` (KRP when the kernels keep
  fewer rows than K; any ``groups``: grouped and depthwise convolutions; dilation 1 and square
  kernels only);
* ``Linear [-> BatchNorm1d] [-> activation]`` -> :class:`LinearLayer`;
* ``BatchNorm2d [-> activation]`` that follows no convolution it can be folded into (an add, a
  concatenation, a pooling, the input, or a convolution whose raw output is read elsewhere too:
  pre-activation blocks) -> a depthwise 1 x 1 :class:`ConvLayer` with weights 1 (in the network's
  weight format) whose requantization applies the normalization;
* ``MaxPool2d``, ``AvgPool2d`` (any padding, floor or ceil mode, ``count_include_pad`` either
  way), ``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d`` (any sizes; module or functional) ->
  :class:`PoolLayer` (an average pooling may be followed by an activation); ``x.mean((2, 3))`` /
  ``torch.mean(x, (2, 3), keepdim)`` -> a global average :class:`PoolLayer` (and a
  :class:`FlattenLayer` without ``keepdim``);
* tensor ``+`` / ``torch.add`` ``[-> activation]`` -> :class:`AddLayer`;
* ``torch.cat`` / ``torch.concat`` / ``torch.concatenate`` of feature maps on the channel axis ->
  :class:`ConcatLayer`; every input is produced by a layer with a requantization, or is itself a
  concatenation, or a max pooling (or a clamp of one) of such a value, and all of them are
  requantized to one common scale, the coarsest any of them needs;
* ``flatten`` (``nn.Flatten``, ``torch.flatten``, ``x.view(x.size(0), -1)``, a squeeze to
  ``(N, C)``) -> :class:`FlattenLayer`; a squeeze or view that only drops size-1 axes short of
  that (``x.squeeze(-1)`` before ``.squeeze(-1)``) keeps the tensor as it is;
* ``Dropout``, ``Identity`` and ``x.contiguous()`` are the identity (eval mode).

An *activation* is a chain of ``ReLU``, ``ReLU6``, ``Hardtanh`` (any ``min_val``/``max_val``),
``F.relu6``, ``F.hardtanh``, ``torch.clamp`` / ``clip`` / ``clamp_min`` / ``clamp_max`` (function or
method, number bounds): a clamp to real bounds ``[lo, hi]``, folded into the requantization's
integer bounds in the output's scale (``Requant.lo`` / ``hi``). Anything else raises
:class:`UnsupportedLayerError` naming the node and its type. The arithmetic is specified in
``docs/integer-arithmetic.md``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, UnsupportedLayerError, WorkloadError, brief
from .graph import (
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
from .quant import (
    check_widths,
    dot_range,
    frac_bits_for,
    gsnq_bits,
    integer_weights,
    make_requant,
    signed_width,
    uniform_integer_weights,
)

INPUT = "input"

_RELU_FUNCTIONS = (F.relu, torch.relu, torch.relu_, F.relu_)
_RELU_METHODS = ("relu", "relu_")
_HARDTANH_FUNCTIONS = (F.hardtanh, F.hardtanh_)
#: clamp functions and methods: (min, max) argument names in call order
_CLAMP_FUNCTIONS = {
    torch.clamp: ("min", "max"),
    torch.clip: ("min", "max"),
    torch.clamp_: ("min", "max"),
    torch.clip_: ("min", "max"),
    torch.clamp_min: ("min",),
    torch.clamp_min_: ("min",),
    torch.clamp_max: ("max",),
    torch.clamp_max_: ("max",),
}
_CLAMP_METHODS = {
    "clamp": ("min", "max"),
    "clamp_": ("min", "max"),
    "clip": ("min", "max"),
    "clip_": ("min", "max"),
    "clamp_min": ("min",),
    "clamp_min_": ("min",),
    "clamp_max": ("max",),
    "clamp_max_": ("max",),
}
_ADD_FUNCTIONS = (operator.add, operator.iadd, torch.add)
_CONCAT_FUNCTIONS = (torch.cat, torch.concat, torch.concatenate)
_IDENTITY_MODULES = (nn.Dropout, nn.Dropout2d, nn.Dropout1d, nn.AlphaDropout, nn.Identity)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
#: module types the lowering knows (each still checked for its arguments and its place)
_MODULES = (
    nn.Conv2d,
    nn.Linear,
    *_BATCHNORMS,
    nn.ReLU,
    nn.Hardtanh,  # ReLU6 is a Hardtanh
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Flatten,
    *_IDENTITY_MODULES,
)
#: what the error messages list as supported
SUPPORTED = (
    "Conv2d (any groups: grouped and depthwise; dilation 1, square kernel), Linear, BatchNorm2d "
    "(folded into a Conv2d it follows, anywhere else a depthwise 1 x 1 layer), BatchNorm1d (after a "
    "Linear), activations after a Conv2d, Linear, BatchNorm2d, add or average pooling, also through max pooling, concatenations and flattens (ReLU, ReLU6, Hardtanh, F.relu6, F.hardtanh, clamp / clip / clamp_min / clamp_max with "
    "number bounds), MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d (any padding, ceil "
    "mode, any output size), mean over (2, 3) (global average pooling), add (+, torch.add), torch.cat / torch.concat on channels, flatten "
    "(nn.Flatten, torch.flatten, view / reshape / squeeze to (N, -1)), Dropout, Identity"
)
_INF = math.inf
_MAXPOOL_ARGS = (
    "input",
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "ceil_mode",
    "return_indices",
)
_AVGPOOL_ARGS = (
    "input",
    "kernel_size",
    "stride",
    "padding",
    "ceil_mode",
    "count_include_pad",
    "divisor_override",
)


@dataclass(frozen=True)
class LayerHint:
    """What a compression record says about one layer.

    Attributes:
        kept_rows: int64 array (out, in, rows_kept) of kept kernel rows, or None.
        weight_bits: code width in bits (GSNQ or uniform), or None.
        step: for a uniform layer, the real value of the code 1 (its weights are ``q * step``);
            None for GSNQ.
    """

    kept_rows: np.ndarray | None
    weight_bits: int | None
    step: float | None = None


@dataclass(frozen=True)
class _Tensor:
    """A lowered integer tensor: its producer's name, spec and the integer range it can hold."""

    name: str
    spec: TensorSpec
    lo: int
    hi: int


def lower(
    model_or_compressed: Any,
    calibration: np.ndarray,
    *,
    act_bits: int = 8,
    multiplier_bits: int = 16,
    name: str = "network",
) -> IntegerNetwork:
    """Lower a model whose conv/linear weights are 0 or +-2**k to an :class:`IntegerNetwork`.

    Args:
        model_or_compressed: a ``torch.nn.Module``, or a compressed model with ``.model`` and
            ``.records`` (per-layer ``name``, ``kept_rows``, ``levels.bits``; uniform levels,
            ``levels.format == "uniform"``, also give ``levels.step`` and allow weights
            ``q * step``).
        calibration: float array (N, *input_shape) of typical inputs; every tensor's scale is
            chosen from its largest magnitude on this batch.
        act_bits: signed activation width in bits (4..16).
        multiplier_bits: signed requantization multiplier width in bits (2..32).
        name: the network's name.

    Raises:
        UnsupportedLayerError: a layer or operation cannot be lowered (named in the message).
        ConfigError: bad widths or calibration data.
    """
    check_widths(act_bits, multiplier_bits)
    model, hints = _unwrap(model_or_compressed)
    batch = _check_calibration(calibration)
    was_training = model.training
    model.eval()
    try:
        try:
            traced = torch.fx.symbolic_trace(model)
        except Exception as error:  # torch.fx raises many types for untraceable code
            raise UnsupportedLayerError(
                f"model must be traceable with torch.fx.symbolic_trace, not {type(model).__name__} "
                f"({type(error).__name__}: {error})"
            ) from error
        _rebind_in_place(traced)
        values, peaks = _record_values(traced, batch)
        lowering = _Lowering(traced, values, peaks, hints, act_bits, multiplier_bits)
        layers, output = lowering.run()
    finally:
        model.train(was_training)
    return IntegerNetwork(
        input=lowering.input_spec,
        layers=tuple(layers),
        output=output,
        name=name,
        metadata={
            "act_bits": act_bits,
            "multiplier_bits": multiplier_bits,
            "calibration_images": int(batch.shape[0]),
            "fx_nodes": dict(lowering.fx_nodes),
        },
    )


def _unwrap(obj: Any) -> tuple[nn.Module, dict[str, LayerHint]]:
    """The torch module and the per-layer hints of a module or compressed model."""
    if isinstance(obj, nn.Module):
        return obj, {}
    model = getattr(obj, "model", None)
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"model must be a torch.nn.Module or a compressed model with .model, not {type(obj).__name__}"
        )
    hints: dict[str, LayerHint] = {}
    for record in getattr(obj, "records", ()) or ():
        kept = getattr(record, "kept_rows", None)
        levels = getattr(record, "levels", None)
        bits = (
            getattr(levels, "bits", None) if levels is not None else getattr(record, "bits", None)
        )
        uniform = getattr(levels, "format", None) == WeightFormat.UNIFORM
        hints[str(record.name)] = LayerHint(
            None if kept is None else np.asarray(torch.as_tensor(kept).cpu(), dtype=np.int64),
            None if bits is None else int(bits),
            float(levels.step) if uniform else None,
        )
    return model, hints


def _check_calibration(calibration: object) -> torch.Tensor:
    """The calibration batch as a float32 tensor; raise :class:`ConfigError` if unusable."""
    if not isinstance(calibration, np.ndarray) or calibration.dtype.kind != "f":
        kind = (
            type(calibration).__name__
            if not isinstance(calibration, np.ndarray)
            else calibration.dtype
        )
        raise ConfigError(f"calibration must be a float numpy array (N, C, H, W), not {kind}")
    if calibration.ndim < 2 or calibration.shape[0] < 1:
        raise ConfigError(
            f"calibration must have shape (N, C, H, W) with N >= 1, not {calibration.shape}"
        )
    if not np.all(np.isfinite(calibration)):
        raise ConfigError("calibration must be finite, not contain NaN or inf")
    return torch.from_numpy(np.ascontiguousarray(calibration, dtype=np.float32))


#: functions whose ``inplace`` flag may be given by position: its index among the arguments
_INPLACE_POSITION = {F.relu: 1, F.relu6: 1, F.hardtanh: 3}


def _in_place(node: torch.fx.Node, traced: torch.fx.GraphModule) -> bool:
    """Whether ``node`` modifies its first argument: a method or function named with torch's
    trailing underscore (``relu_``, ``clamp_``, ``add_``), or an ``inplace=True`` function or module."""
    if node.op == "call_module":
        return getattr(traced.get_submodule(str(node.target)), "inplace", False) is True
    if node.op == "call_method":
        return str(node.target).endswith("_")
    if node.op != "call_function":
        return False
    position = _INPLACE_POSITION.get(node.target)
    flag = node.kwargs.get("inplace", node.args[position] if position is not None and len(node.args) > position else False)
    return getattr(node.target, "__name__", "").endswith("_") or flag is True


def _rebind_in_place(traced: torch.fx.GraphModule) -> None:
    """Make every read of a tensor after an in-place operation on it read that operation's node.

    ``torch.fx`` does not follow aliasing: after ``y.relu_()`` as a statement, later readers of
    ``y`` still point at the node before the ReLU, while at run time they see the modified tensor.
    Rewiring them to the in-place node gives the graph the value flow the model computes (the
    graph's result is unchanged: the in-place node returns the same tensor).
    """
    order = {node: index for index, node in enumerate(traced.graph.nodes)}
    for node in traced.graph.nodes:
        target = node.args[0] if node.args else None
        if not isinstance(target, torch.fx.Node) or not _in_place(node, traced):
            continue
        for user in list(target.users):
            if user is not node and order[user] > order[node]:
                user.replace_input_with(target, node)
    traced.recompile()


def _record_values(
    traced: torch.fx.GraphModule, batch: torch.Tensor
) -> tuple[dict[torch.fx.Node, Any], dict[torch.fx.Node, float]]:
    """Run the traced model on ``batch``; keep every node's value and every tensor's peak.

    Tensors are kept as ``meta`` tensors (shape and type, no data) and their largest magnitude on
    the batch as a float, so the calibration run holds no activation beyond the ones the
    interpreter still needs (VGG-16 at 224x224: tens of MB rather than most of a GB).
    """
    values: dict[torch.fx.Node, Any] = {}
    peaks: dict[torch.fx.Node, float] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> Any:
            result = super().run_node(n)
            if isinstance(result, torch.Tensor):
                peaks[n] = _peak(result.detach())
            values[n] = _shape_only(result)
            return result

    try:
        with torch.no_grad():
            Recorder(traced).run(batch)
    except UnsupportedLayerError:
        raise
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ConfigError(
            f"calibration must fit the model's input, not shape {tuple(batch.shape)} "
            f"({type(error).__name__}: {brief(first)})"
        ) from error
    return values, peaks


def _peak(tensor: torch.Tensor) -> float:
    """Largest magnitude of ``tensor`` (0 if empty; NaN if it holds a NaN), without a copy of it."""
    if not tensor.numel():
        return 0.0
    if not tensor.is_floating_point():
        return float(tensor.abs().max())
    low, high = torch.aminmax(tensor)
    return float(torch.maximum(-low, high))


def _shape_only(value: Any) -> Any:
    """``value`` with every tensor in it replaced by a ``meta`` tensor of the same shape and type."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("meta")
    if isinstance(value, (tuple, list)):
        return type(value)(_shape_only(v) for v in value)
    if isinstance(value, dict):
        return {key: _shape_only(v) for key, v in value.items()}
    return value


def _node_kind(node: torch.fx.Node, traced: torch.fx.GraphModule) -> str:
    """A readable type of a node for error messages: module class, function or method name."""
    if node.op == "call_module":
        return type(traced.get_submodule(str(node.target))).__name__
    if node.op == "call_function":
        return getattr(node.target, "__name__", str(node.target))
    return f"{node.op} {node.target}"


class _Lowering:
    """One lowering pass over a traced graph (internal state of :func:`lower`)."""

    def __init__(
        self,
        traced: torch.fx.GraphModule,
        values: Mapping[torch.fx.Node, Any],
        peaks: Mapping[torch.fx.Node, float],
        hints: Mapping[str, LayerHint],
        act_bits: int,
        multiplier_bits: int,
    ) -> None:
        self.traced = traced
        self.values = values
        self.peaks = peaks
        self.hints = hints
        self.act_bits = act_bits
        self.multiplier_bits = multiplier_bits
        self.tensors: dict[torch.fx.Node, _Tensor] = {}
        self.fused: set[torch.fx.Node] = set()
        self.layers: list[Layer] = []
        self.names: set[str] = {INPUT}
        self.fx_nodes: dict[str, str] = {}
        self.input_spec: TensorSpec | None = None
        self.frac_override: dict[torch.fx.Node, int] = {}
        self.concat_leaves: dict[str, tuple[str, ...]] = {}  # concatenation layer -> tensors it joins

    # ---- driver -------------------------------------------------------------------------
    def run(self) -> tuple[list[Layer], str]:
        """Lower every node; return the layers and the output layer's name."""
        self._check_operations()
        self._concat_scales()
        output_name = None
        for node in self.traced.graph.nodes:
            if node in self.fused:
                continue
            if node.op == "placeholder":
                self._placeholder(node)
            elif node.op == "output":
                output_name = self._output(node)
            elif node.op != "call_module" and not _holds_tensor(self.values.get(node)):
                continue  # sizes, shapes and other static values used as arguments
            elif node.op == "get_attr":
                raise self._unsupported(node, "a tensor attribute used as data")
            else:
                self._operation(node)
        assert output_name is not None
        return self.layers, output_name

    def _check_operations(self) -> None:
        """Refuse the first module, else the first other node, in graph order, whose operation the
        datapath does not have.

        Only the kind of operation is checked here (its arguments and its place in the graph are
        checked when it is lowered), so an unsupported operation is named itself, before any
        complaint about a supported operation near it (the reshape feeding an LSTM, say).
        """
        nodes = [node for node in self.traced.graph.nodes if node.op not in ("placeholder", "output")
                 and (node.op == "call_module" or _holds_tensor(self.values.get(node)))]  # not sizes, shapes
        modules = [node for node in nodes if node.op == "call_module"]
        for node in modules + nodes:  # a module first: an LSTM, not the transpose feeding it
            if node.op == "get_attr":
                raise self._unsupported(node, "a tensor attribute used as data")
            if not self._known(node):
                raise self._unsupported(node, "an operation the integer datapath does not implement")

    def _known(self, node: torch.fx.Node) -> bool:
        """Whether ``node`` is one of the operations lowering knows (whatever its arguments)."""
        module = self._module_of(node)
        if module is not None:
            return isinstance(module, _MODULES)
        return (
            self._is_activation(node)
            or self._is_concat(node)
            or any(matches(node, None) for matches, _ in self._handlers())
        )

    def _handlers(
        self,
    ) -> list[tuple[Callable[[torch.fx.Node, nn.Module | None], bool], Callable[..., None]]]:
        """(predicate, handler) of every lowerable operation, in the order they are tried."""
        return [
            (lambda n, m: isinstance(m, nn.Conv2d), self._conv),
            (lambda n, m: isinstance(m, nn.Linear), self._linear),
            (lambda n, m: isinstance(m, nn.BatchNorm2d), self._batchnorm),
            (self._is_identity, self._identity),
            (self._is_maxpool, self._maxpool),
            (self._is_avgpool, self._avgpool),
            (self._is_add, self._add),
            (lambda n, m: self._is_concat(n), self._concat),
            (self._is_flatten, self._flatten),
            (self._is_mean, self._mean),
        ]

    def _operation(self, node: torch.fx.Node) -> None:
        """Lower one tensor-valued call node."""
        module = self._module_of(node)
        for matches, handler in self._handlers():
            if matches(node, module):
                handler(node, module)
                return
        if self._is_activation(node):
            self._clamp_producers(node)
            return
        if isinstance(module, nn.BatchNorm1d):
            raise self._unsupported(
                node, "a BatchNorm1d that does not directly follow a Linear (a BatchNorm2d anywhere "
                "is lowered, to a depthwise 1 x 1 layer)"
            )
        raise self._unsupported(node, "an operation the integer datapath does not implement")

    def _unsupported(self, node: torch.fx.Node, what: str) -> UnsupportedLayerError:
        """The error for an unsupported node."""
        return UnsupportedLayerError(
            f"layer {self._label(node)!r} ({_node_kind(node, self.traced)}) is {what}; "
            f"supported: {SUPPORTED}"
        )

    @staticmethod
    def _label(node: torch.fx.Node) -> str:
        """A node's name in messages: the module's qualified name, else the fx node name."""
        return str(node.target) if node.op == "call_module" else node.name

    # ---- helpers ------------------------------------------------------------------------
    def _layer_name(self, node: torch.fx.Node) -> str:
        """A unique layer name: the module's qualified name, else the fx node name."""
        name = str(node.target) if node.op == "call_module" else node.name
        if name in self.names:
            name = node.name
        self.names.add(name)
        return name

    def _add_layer(self, layer: Layer, last: torch.fx.Node, lo: int, hi: int) -> None:
        """Append ``layer``; ``last`` is the fx node whose value it produces."""
        self.layers.append(layer)
        self.fx_nodes[layer.name] = last.name
        self.tensors[last] = _Tensor(layer.name, layer.output, lo, hi)

    def _input_of(self, node: torch.fx.Node, arg: Any) -> _Tensor:
        """The lowered tensor an argument refers to."""
        if not isinstance(arg, torch.fx.Node) or arg not in self.tensors:
            raise self._unsupported(node, "applied to a value that is not a lowered tensor")
        return self.tensors[arg]

    def _frac_bits(self, node: torch.fx.Node) -> int:
        """Scale of the tensor ``node`` produces: from its calibration values, or the common
        scale of the concatenations it is an input of (:meth:`_concat_scales`)."""
        if node in self.frac_override:
            return self.frac_override[node]
        return frac_bits_for(self.peaks[node], self.act_bits)

    def _concat_scales(self) -> None:
        """Give every input of a concatenation the concatenation's scale.

        The inputs of a concatenation share its scale, so every tensor joined to another by
        concatenations (an input of two, or a concatenation that is an input of another) is in one
        group, and the whole group gets the coarsest scale any of its tensors needs (the smallest
        ``frac_bits``, so that none saturates). Their producers requantize to it, so each such
        tensor has that one scale for all of its readers (a producer also read by another layer
        gives it the same values). Whether every input has a requantization is checked when the
        concatenation is lowered (:meth:`_concat`).
        """
        parent: dict[torch.fx.Node, torch.fx.Node] = {}

        def root(node: torch.fx.Node) -> torch.fx.Node:
            while parent.setdefault(node, node) is not node:
                node = parent[node]
            return node

        for node in self.traced.graph.nodes:
            if not self._is_concat(node) or node.op != "call_function":
                continue
            parts = self._concat_parts(node)
            if parts is None:
                continue
            for part in parts:
                parent[root(self._scale_source(part))] = root(node)
        groups: dict[torch.fx.Node, list[torch.fx.Node]] = {}
        for node in parent:
            groups.setdefault(root(node), []).append(node)
        for members in groups.values():
            common = min(frac_bits_for(self.peaks[member], self.act_bits) for member in members)
            for member in members:
                self.frac_override[member] = common

    def _through_identity(self, node: torch.fx.Node) -> torch.fx.Node:
        """The node whose value ``node`` passes on unchanged through Identity/Dropout/contiguous."""
        while self._is_identity(node, self._module_of(node)) and isinstance(node.args[0], torch.fx.Node):
            node = node.args[0]
        return node

    def _scale_source(self, node: torch.fx.Node) -> torch.fx.Node:
        """The node whose scale ``node``'s value has: back through identities, max poolings (their
        output has their input's scale) and the activations that clamp a max pooling's or a
        concatenation's value (:meth:`_clamp_producers`: they keep its scale); an activation fused
        into the requantization of the layer it follows is that scale's node itself."""
        current = self._through_identity(node)
        while True:
            if self._is_maxpool(current, self._module_of(current)):
                source = self._call_args(current, ("input",)).get("input")
            elif self._is_activation(current) and self._keeps_scale(current):
                source = current.args[0]
            else:
                return current
            if not isinstance(source, torch.fx.Node):
                return current
            current = self._through_identity(source)

    def _keeps_scale(self, activation: torch.fx.Node) -> bool:
        """Whether an activation clamps a max pooling's or a concatenation's value (back through
        identities and other activations), so that its output keeps that value's scale."""
        current = activation.args[0] if activation.args else None
        while isinstance(current, torch.fx.Node):
            current = self._through_identity(current)
            if not self._is_activation(current):
                return self._is_maxpool(current, self._module_of(current)) or self._is_concat(current)
            current = current.args[0] if current.args else None
        return False

    def _concat_parts(self, node: torch.fx.Node) -> list[torch.fx.Node] | None:
        """The tensors a channel concatenation joins, or None if ``node`` is not one that
        lowering accepts (a list of 4-D tensors of one batch, height and width, joined on
        ``dim=1`` or ``-3``)."""
        bound = dict(zip(("tensors", "dim"), node.args))
        bound.update(node.kwargs)
        parts, dim = bound.get("tensors"), bound.get("dim", 0)
        if not isinstance(parts, (list, tuple)) or not parts:
            return None
        if not all(isinstance(p, torch.fx.Node) and isinstance(self.values.get(p), torch.Tensor) for p in parts):
            return None
        shapes = [tuple(self.values[p].shape) for p in parts]
        if any(len(shape) != 4 for shape in shapes) or dim not in (1, -3):
            return None
        if len({(shape[0], *shape[2:]) for shape in shapes}) != 1:
            return None
        return list(parts)

    def _spec(self, shape: tuple[int, ...], frac_bits: int) -> TensorSpec:
        """An activation tensor spec."""
        return TensorSpec(tuple(int(v) for v in shape), self.act_bits, frac_bits)

    def _sole_user(
        self, node: torch.fx.Node, accept: Callable[[torch.fx.Node], bool]
    ) -> torch.fx.Node | None:
        """The only user of ``node`` (looking through Identity/Dropout) if it satisfies ``accept``.

        The identities passed through are marked fused when a user is accepted.
        """
        current, skipped = node, []
        while True:
            users = list(current.users)
            if len(users) != 1 or not users[0].args or users[0].args[0] is not current:
                return None
            user = users[0]
            if accept(user):
                self.fused.update(skipped)
                return user
            if not self._is_identity(user, self._module_of(user)):
                return None
            skipped.append(user)
            current = user

    def _fuse_activation(self, node: torch.fx.Node) -> tuple[torch.fx.Node, tuple[float, float]]:
        """Fuse the chain of activations that follows ``node`` (each the sole user of the one
        before, through Identity/Dropout); return the last node and the real bounds
        ``(lo, hi)`` of the composed clamp (``(-inf, inf)`` when nothing is fused)."""
        bounds = (-_INF, _INF)
        current = node
        while True:
            user = self._sole_user(current, self._is_activation)
            if user is None:
                return current, bounds
            lo, hi = self._activation_bounds(user)
            # clamp(clamp(v, a1, b1), a2, b2) = clamp(v, c(a1), c(b1)) with c = clamp(., a2, b2)
            bounds = (min(max(bounds[0], lo), hi), min(max(bounds[1], lo), hi))
            self.fused.add(user)
            current = user

    def _clamp_producers(self, node: torch.fx.Node) -> None:
        """An activation after max pooling, a concatenation or a flatten (they commute with a
        clamp: max and concatenation are monotonic per element) narrows the requantization of
        the layers whose values reach it, when nothing else reads those values.

        Raises:
            UnsupportedLayerError: a value on the way comes from another layer (the network
                input, say) or is read elsewhere too.
        """
        source = self._input_of(node, node.args[0])
        lo, hi = self._activation_bounds(node)
        last, (lo2, hi2) = self._fuse_activation(node)
        bounds = (min(max(lo, lo2), hi2), min(max(hi, lo2), hi2))
        nodes = {fx.name: fx for fx in self.traced.graph.nodes}
        narrowed: dict[str, Requant] = {}
        pending = [source.name]
        while pending:
            name = pending.pop()
            layer = self._producer(name)
            users = [] if layer is None else list(nodes[self.fx_nodes[name]].users)
            requant = getattr(layer, "requant", None)
            if layer is None or len(users) != 1 or not (
                requant is not None or isinstance(layer, (ConcatLayer, FlattenLayer))
                or (isinstance(layer, PoolLayer) and layer.kind is PoolKind.MAX)
            ):
                raise self._unsupported(
                    node,
                    "an activation (ReLU, ReLU6, Hardtanh, clamp) that follows neither a layer with a "
                    "requantization (Conv2d, Linear, add or average pooling) nor max pooling, "
                    "concatenations or flattens of such layers' values read nowhere else, so it "
                    "cannot be folded into a requantization",
                )
            if requant is not None:
                new_lo, new_hi = _clamped(requant.lo, requant.hi, self._integer_bounds(layer.output, bounds))
                narrowed[name] = replace(requant, lo=new_lo, hi=new_hi)
            else:
                pending.extend(layer.inputs if isinstance(layer, ConcatLayer) else [layer.input])
        self.layers = [replace(layer, requant=narrowed[layer.name]) if layer.name in narrowed else layer
                       for layer in self.layers]
        self.tensors[last] = _Tensor(source.name, source.spec,
                                     *_clamped(source.lo, source.hi, self._integer_bounds(source.spec, bounds)))

    def _bounded(self, requant: Requant, output: TensorSpec, bounds: tuple[float, float]) -> Requant:
        """``requant`` with its clamp narrowed to the real ``bounds`` in the output's scale
        (:meth:`_integer_bounds`)."""
        lo, hi = self._integer_bounds(output, bounds)
        return replace(requant, lo=lo, hi=hi)

    @staticmethod
    def _integer_bounds(output: TensorSpec, bounds: tuple[float, float]) -> tuple[int, int]:
        """The real ``bounds`` in the output's scale: ``rint(bound * 2**frac_bits)`` (round half
        to even, as the fake-quantized model rounds), within the tensor's range. Rounding is
        monotonic, so rounding the clamped value equals clamping the rounded value to the rounded
        bounds."""
        def integer(bound: float) -> int:
            if math.isinf(bound):
                return output.lo if bound < 0 else output.hi
            return int(min(max(np.rint(math.ldexp(bound, output.frac_bits)), output.lo), output.hi))

        return integer(bounds[0]), integer(bounds[1])

    def _module_of(self, node: torch.fx.Node) -> nn.Module | None:
        """The module a call_module node calls, else None."""
        return self.traced.get_submodule(str(node.target)) if node.op == "call_module" else None

    def _static(self, arg: Any) -> Any:
        """An argument with fx nodes replaced by their recorded (static) values."""
        if isinstance(arg, torch.fx.Node):
            return self.values[arg]
        if isinstance(arg, (tuple, list)):
            return type(arg)(self._static(a) for a in arg)
        return arg

    def _call_args(self, node: torch.fx.Node, names: tuple[str, ...]) -> dict[str, Any]:
        """A functional call's arguments by name, static values resolved."""
        bound = dict(zip(names, node.args))
        bound.update(node.kwargs)
        return {
            key: (value if key == "input" else self._static(value)) for key, value in bound.items()
        }

    # ---- predicates ---------------------------------------------------------------------
    def _is_activation(self, node: torch.fx.Node, module: nn.Module | None = None) -> bool:
        """ReLU, ReLU6, Hardtanh or a clamp (module, function or method)."""
        module = self._module_of(node) if module is None else module
        return (
            isinstance(module, (nn.ReLU, nn.Hardtanh))
            or (
                node.op == "call_function"
                and (
                    node.target in _RELU_FUNCTIONS
                    or node.target in _HARDTANH_FUNCTIONS
                    or node.target is F.relu6
                    or node.target in _CLAMP_FUNCTIONS
                )
            )
            or (node.op == "call_method" and (node.target in _RELU_METHODS or node.target in _CLAMP_METHODS))
        )

    def _activation_bounds(self, node: torch.fx.Node) -> tuple[float, float]:
        """The real bounds ``(lo, hi)`` an activation clamps to (``-inf`` / ``inf``: none).

        Raises:
            UnsupportedLayerError: a clamp whose bounds are not numbers (a tensor), or NaN.
        """
        module = self._module_of(node)
        if isinstance(module, nn.ReLU) or (
            module is None and (node.target in _RELU_FUNCTIONS or node.target in _RELU_METHODS)
        ):
            return 0.0, _INF
        if isinstance(module, nn.Hardtanh):
            lo, hi = module.min_val, module.max_val
        elif node.target is F.relu6:
            lo, hi = 0.0, 6.0
        elif node.op == "call_function" and node.target in _HARDTANH_FUNCTIONS:
            bound = self._call_args(node, ("input", "min_val", "max_val", "inplace"))
            lo, hi = bound.get("min_val", -1.0), bound.get("max_val", 1.0)
        else:
            names = (
                _CLAMP_FUNCTIONS[node.target]
                if node.op == "call_function"
                else _CLAMP_METHODS[str(node.target)]
            )
            bound = self._call_args(node, ("input", *names))
            lo, hi = bound.get("min"), bound.get("max")
            lo = -_INF if lo is None else lo
            hi = _INF if hi is None else hi
        for value in (lo, hi):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise self._unsupported(
                    node, f"a clamp with bounds {value!r} (only number bounds can be folded)"
                )
        lo, hi = float(lo), float(hi)
        return (min(lo, hi), hi)  # torch: min > max clamps everything to max

    def _is_concat(self, node: torch.fx.Node) -> bool:
        return node.op == "call_function" and node.target in _CONCAT_FUNCTIONS

    def _is_identity(self, node: torch.fx.Node, module: nn.Module | None) -> bool:
        if isinstance(module, _IDENTITY_MODULES):
            return True
        if node.op == "call_method" and node.target == "contiguous":
            return True
        if node.op == "call_function" and node.target in (F.dropout, F.dropout2d, F.dropout1d):
            return self._call_args(node, ("input", "p", "training")).get("training", True) is False
        return False

    def _is_maxpool(self, node: torch.fx.Node, module: nn.Module | None) -> bool:
        return isinstance(module, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)) or (
            node.op == "call_function"
            and node.target in (F.max_pool2d, torch.max_pool2d, F.adaptive_max_pool2d)
        )

    def _is_avgpool(self, node: torch.fx.Node, module: nn.Module | None) -> bool:
        return isinstance(module, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)) or (
            node.op == "call_function" and node.target in (F.avg_pool2d, F.adaptive_avg_pool2d)
        )

    def _is_add(self, node: torch.fx.Node, module: nn.Module | None) -> bool:
        return (node.op == "call_function" and node.target in _ADD_FUNCTIONS) or (
            node.op == "call_method" and node.target in ("add", "add_")
        )

    def _is_mean(self, node: torch.fx.Node, module: nn.Module | None) -> bool:
        """A mean over the height and width of a feature map, (2, 3) (a global average pooling);
        a mean over other dims is an operation lowering does not know."""
        if not ((node.op == "call_method" and node.target == "mean")
                or (node.op == "call_function" and node.target is torch.mean)):
            return False
        params = self._call_args(node, ("input", "dim", "keepdim", "dtype"))
        source, dims = self.values.get(params.get("input")), params.get("dim")
        return (isinstance(source, torch.Tensor) and source.dim() == 4 and isinstance(dims, (list, tuple))
                and all(isinstance(d, int) for d in dims) and sorted(d % 4 for d in dims) == [2, 3]
                and params.get("dtype") is None)

    def _is_flatten(self, node: torch.fx.Node, module: nn.Module | None) -> bool:
        if isinstance(module, nn.Flatten) or (
            node.op == "call_function" and node.target is torch.flatten
        ):
            return True
        if node.op == "call_function" and node.target is torch.squeeze:
            return True
        return node.op == "call_method" and node.target in ("flatten", "view", "reshape", "squeeze")

    # ---- handlers -----------------------------------------------------------------------
    def _placeholder(self, node: torch.fx.Node) -> None:
        if self.input_spec is not None:
            raise self._unsupported(node, "a second model input")
        value = self.values[node]
        spec = self._spec(tuple(value.shape[1:]), self._frac_bits(node))
        self.input_spec = spec
        self.tensors[node] = _Tensor(INPUT, spec, spec.lo, spec.hi)

    def _output(self, node: torch.fx.Node) -> str:
        result = node.args[0]
        if not isinstance(result, torch.fx.Node):
            raise self._unsupported(node, "an output that is not a single tensor")
        tensor = self._input_of(node, result)
        if tensor.name == INPUT:
            raise WorkloadError("model must contain at least one layer, not return its input")
        return tensor.name

    def _identity(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        self.tensors[node] = self._input_of(node, node.args[0])

    def _conv(self, node: torch.fx.Node, conv: nn.Conv2d) -> None:
        name = self._layer_name(node)
        source = self._input_of(node, node.args[0])
        label = f"layer {name!r} (Conv2d)"
        if tuple(conv.dilation) != (1, 1):
            raise UnsupportedLayerError(
                f"{label} must have dilation 1, not {tuple(conv.dilation)} (dilated convolutions "
                "are not supported)"
            )
        if conv.kernel_size[0] != conv.kernel_size[1]:
            raise UnsupportedLayerError(
                f"{label} must have a square kernel, not {tuple(conv.kernel_size)} (non-square "
                "kernels are not supported)"
            )
        if conv.stride[0] != conv.stride[1]:
            raise UnsupportedLayerError(
                f"{label} must have equal strides, not {tuple(conv.stride)}"
            )
        padding = _conv_padding(conv.padding, conv.kernel_size[0])
        if padding is None:
            raise UnsupportedLayerError(
                f"{label} must have equal padding on every side, not {conv.padding!r}"
                + (" (an even kernel pads 'same' unequally)" if conv.padding == "same" else "")
            )
        if conv.padding_mode != "zeros":
            raise UnsupportedLayerError(
                f"{label} must use zero padding, not padding_mode={conv.padding_mode!r}"
            )
        if len(source.spec.shape) != 3:
            raise UnsupportedLayerError(
                f"{label} input must be a (C, H, W) feature map, not {source.spec.shape}"
            )
        k, stride = conv.kernel_size[0], conv.stride[0]
        ints, unit, bits, weight_format = self._integer_weights(name, conv)
        last, scale, offset, bounds = self._fold(node, conv, nn.BatchNorm2d, unit, source)
        out_shape = tuple(self.values[last].shape[1:])
        acc_range = dot_range(ints, source.lo, source.hi)
        acc_bits = self._acc_bits(name, acc_range)
        output = self._spec(out_shape, self._frac_bits(last))
        hint = self.hints.get(name)
        if hint is None:  # no compression record: the rows are inferred from the weights
            rows = kept_rows(name, ints, None)
        else:  # a record without kept rows is a dense (unpruned or magnitude-pruned) layer
            rows = None if hint.kept_rows is None else kept_rows(name, ints, hint.kept_rows)
        layer = ConvLayer(
            name=name,
            input=source.name,
            output=output,
            in_channels=conv.in_channels,
            out_channels=conv.out_channels,
            in_h=source.spec.shape[1],
            in_w=source.spec.shape[2],
            kernel=k,
            stride=stride,
            padding=padding,
            weights=ints,
            kept_rows=rows,
            weight_bits=bits,
            acc_bits=acc_bits,
            requant=self._requant(name, scale, offset, acc_range, output, bounds),
            weight_format=weight_format,
            groups=conv.groups,
        )
        self._add_layer(layer, last, layer.requant.lo, layer.requant.hi)

    def _linear(self, node: torch.fx.Node, linear: nn.Linear) -> None:
        name = self._layer_name(node)
        source = self._input_of(node, node.args[0])
        if len(source.spec.shape) != 1:
            raise UnsupportedLayerError(
                f"layer {name!r} (Linear) input must be a flattened vector, not shape {source.spec.shape}"
            )
        ints, unit, bits, weight_format = self._integer_weights(name, linear)
        last, scale, offset, bounds = self._fold(node, linear, nn.BatchNorm1d, unit, source)
        acc_range = dot_range(ints, source.lo, source.hi)
        output = self._spec(tuple(self.values[last].shape[1:]), self._frac_bits(last))
        layer = LinearLayer(
            name=name,
            input=source.name,
            output=output,
            in_features=linear.in_features,
            out_features=linear.out_features,
            weights=ints,
            weight_bits=bits,
            acc_bits=self._acc_bits(name, acc_range),
            requant=self._requant(name, scale, offset, acc_range, output, bounds),
            weight_format=weight_format,
        )
        self._add_layer(layer, last, layer.requant.lo, layer.requant.hi)

    def _requant(
        self,
        name: str,
        scale: np.ndarray,
        offset: np.ndarray,
        acc_range: tuple[int, int],
        output: TensorSpec,
        bounds: tuple[float, float],
    ) -> Requant:
        """A conv / linear layer's requantization of ``y_real = acc * scale + offset`` to
        ``output``, clamped to the real ``bounds`` of its folded activation."""
        requant = make_requant(
            name,
            scale * 2.0**output.frac_bits,
            offset * 2.0**output.frac_bits,
            acc_range,
            output,
            relu=False,
            multiplier_bits=self.multiplier_bits,
        )
        return self._bounded(requant, output, bounds)

    def _integer_weights(
        self, name: str, module: nn.Conv2d | nn.Linear
    ) -> tuple[np.ndarray, float, int, WeightFormat]:
        """The layer's integer weights, the real value of the integer 1, its weight bits and format.

        A layer whose compression record is uniform gets its codes ``q`` (the unit is the step);
        any other layer must be GSNQ: ``sign * 2**s`` (the unit is ``2**e_min``; the bits are the
        record's, or the smallest GSNQ width holding the levels present).
        """
        values = module.weight.detach().cpu().numpy()
        hint = self.hints.get(name)
        if hint is not None and hint.step is not None and hint.weight_bits is not None:
            codes = uniform_integer_weights(name, values, hint.weight_bits, hint.step)
            return codes, hint.step, hint.weight_bits, WeightFormat.UNIFORM
        weights = integer_weights(name, values)
        bits = (hint.weight_bits if hint else None) or gsnq_bits(weights)
        return weights.ints, 2.0**weights.exponent, bits, WeightFormat.GSNQ

    def _fold(
        self,
        node: torch.fx.Node,
        module: nn.Conv2d | nn.Linear,
        bn_type: type[nn.Module],
        unit: float,
        source: _Tensor,
    ) -> tuple[torch.fx.Node, np.ndarray, np.ndarray, tuple[float, float]]:
        """Fuse a following BatchNorm and activation.

        ``unit`` is the real value of the integer weight 1 (``2**e_min`` or the uniform step).
        Returns the last fused node and the real per-channel ``scale`` and ``offset`` with
        ``y_real = acc * scale + offset`` (``acc`` the integer accumulator), and the real bounds
        of the fused activation (``(-inf, inf)``: none).
        """
        channels = module.weight.shape[0]
        bias = (
            module.bias.detach().double().cpu().numpy()
            if module.bias is not None
            else np.zeros(channels)
        )
        gain = np.ones(channels)
        shift = np.zeros(channels)
        last = node
        bn = self._sole_user(node, lambda n: isinstance(self._module_of(n), bn_type))
        if bn is not None:
            gain, shift = self._batchnorm_affine(bn)
            self.fused.add(bn)
            last = bn
        last, bounds = self._fuse_activation(last)
        scale = gain * unit * 2.0**-source.spec.frac_bits
        offset = gain * bias + shift
        return last, scale, offset, bounds

    def _batchnorm_affine(self, node: torch.fx.Node) -> tuple[np.ndarray, np.ndarray]:
        """The per-channel ``(gain, shift)`` of a BatchNorm in eval mode: ``y = x * gain + shift``.

        Raises:
            UnsupportedLayerError: the BatchNorm tracks no running statistics.
        """
        norm = self._module_of(node)
        if norm.running_mean is None or norm.running_var is None:
            raise UnsupportedLayerError(
                f"layer {str(node.target)!r} ({type(norm).__name__}) must track running statistics "
                "(track_running_stats=True): its normalization is folded into a requantization"
            )
        var = norm.running_var.detach().double().cpu().numpy()
        mean = norm.running_mean.detach().double().cpu().numpy()
        channels = var.shape[0]
        gamma = norm.weight.detach().double().cpu().numpy() if norm.weight is not None else np.ones(channels)
        beta = norm.bias.detach().double().cpu().numpy() if norm.bias is not None else np.zeros(channels)
        gain = gamma / np.sqrt(var + norm.eps)
        return gain, beta - gain * mean

    def _batchnorm(self, node: torch.fx.Node, norm: nn.Module | None) -> None:
        """A BatchNorm2d that no convolution absorbs (it follows an add, a concatenation, a
        pooling or the input, or a convolution whose raw output is also read elsewhere: the
        pre-activation blocks of DenseNet, pre-activation and wide ResNets) is a layer of its own:
        a depthwise 1 x 1 convolution whose weights are all 1, in the network's weight format, and
        whose requantization applies the normalization and the activations that follow it. The
        accelerator runs it as that convolution: a pass over the map through the PE array."""
        name = self._layer_name(node)
        source = self._input_of(node, node.args[0])
        if len(source.spec.shape) != 3:
            raise self._unsupported(
                node, f"a BatchNorm2d of shape {source.spec.shape} (only a (C, H, W) feature map)"
            )
        channels, height, width = source.spec.shape
        gain, shift = self._batchnorm_affine(node)
        last, bounds = self._fuse_activation(node)
        ints, bits, weight_format = self._unit_weights(name, channels)
        acc_range = dot_range(ints, source.lo, source.hi)
        output = self._spec(source.spec.shape, self._frac_bits(last))
        layer = ConvLayer(
            name=name,
            input=source.name,
            output=output,
            in_channels=channels,
            out_channels=channels,
            in_h=height,
            in_w=width,
            kernel=1,
            stride=1,
            padding=0,
            weights=ints,
            kept_rows=None,
            weight_bits=bits,
            acc_bits=self._acc_bits(name, acc_range),
            requant=self._requant(name, gain * 2.0**-source.spec.frac_bits, shift, acc_range, output, bounds),
            weight_format=weight_format,
            groups=channels,
        )
        self._add_layer(layer, last, layer.requant.lo, layer.requant.hi)

    def _unit_weights(self, name: str, channels: int) -> tuple[np.ndarray, int, WeightFormat]:
        """Depthwise 1 x 1 weights of 1 for ``channels`` channels in the network's weight format
        (uniform if any layer's compression record is uniform, else GSNQ), with their bits: the
        smallest width that holds the code of 1 (2 bits either way)."""
        ones = np.ones((channels, 1, 1, 1))
        if any(hint.step is not None for hint in self.hints.values()):
            return uniform_integer_weights(name, ones, 2, 1.0), 2, WeightFormat.UNIFORM
        weights = integer_weights(name, ones)
        return weights.ints, gsnq_bits(weights), WeightFormat.GSNQ

    def _acc_bits(self, name: str, acc_range: tuple[int, int]) -> int:
        """Signed accumulator width of the exact range; at most 64 bits."""
        bits = signed_width(*acc_range)
        if bits > 64:
            raise UnsupportedLayerError(
                f"layer {name!r} accumulator must fit 64 bits, not {bits} (weights span too many powers of two)"
            )
        return bits

    def _maxpool(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        name = self._layer_name(node)
        if isinstance(module, nn.AdaptiveMaxPool2d) or node.target is F.adaptive_max_pool2d:
            source = self._input_of(node, node.args[0])
            if getattr(module, "return_indices", False):
                raise UnsupportedLayerError(f"layer {name!r} (AdaptiveMaxPool2d) must not return indices")
            rows, cols = self._adaptive_axes(node, source)
        else:
            if module is not None:
                params = {key: getattr(module, key) for key in _MAXPOOL_ARGS[1:]}
                source = self._input_of(node, node.args[0])
            else:
                params = self._call_args(node, _MAXPOOL_ARGS)
                source = self._input_of(node, params["input"])
            if _pair(params.get("dilation", 1)) != (1, 1):
                raise UnsupportedLayerError(
                    f"layer {name!r} (MaxPool2d) must have dilation 1, not {params['dilation']!r}"
                )
            if params.get("return_indices", False):
                raise UnsupportedLayerError(f"layer {name!r} (MaxPool2d) must not return indices")
            rows, cols = self._window(node, params, count_include_pad=False)
        output = self._spec(tuple(self.values[node].shape[1:]), source.spec.frac_bits)
        layer = PoolLayer(name, source.name, output, PoolKind.MAX, rows, cols)
        self._add_layer(layer, node, source.lo, source.hi)

    def _avgpool(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        name = self._layer_name(node)
        if isinstance(module, nn.AdaptiveAvgPool2d) or node.target is F.adaptive_avg_pool2d:
            source = self._input_of(node, node.args[0])
            rows, cols = self._adaptive_axes(node, source)
        else:
            if module is not None:
                params = {key: getattr(module, key) for key in _AVGPOOL_ARGS[1:]}
                source = self._input_of(node, node.args[0])
            else:
                params = self._call_args(node, _AVGPOOL_ARGS)
                source = self._input_of(node, params["input"])
            if params.get("divisor_override") is not None:
                raise UnsupportedLayerError(
                    f"layer {name!r} (AvgPool2d) must not set divisor_override"
                )
            rows, cols = self._window(node, params, count_include_pad=params.get("count_include_pad", True))
        self._average(node, name, source, rows, cols, tuple(self.values[node].shape[1:]))

    def _mean(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        """``x.mean((2, 3))`` / ``torch.mean(x, (2, 3), keepdim)``: global average pooling, then
        (without ``keepdim``) a flatten of its 1 x 1 map, as the ONNX import's ReduceMean."""
        params = self._call_args(node, ("input", "dim", "keepdim", "dtype"))
        source = self._input_of(node, params["input"])
        name = self._layer_name(node)
        _, height, width = source.spec.shape
        last = self._average(node, name, source, PoolAxis.adaptive(height, 1), PoolAxis.adaptive(width, 1),
                             (source.spec.shape[0], 1, 1))
        if not params.get("keepdim", False):
            pooled = self.tensors[last]
            flat = f"{name}.flatten"
            self.names.add(flat)
            output = self._spec((pooled.spec.elements,), pooled.spec.frac_bits)
            self._add_layer(FlattenLayer(flat, name, output), last, pooled.lo, pooled.hi)

    def _average(self, node: torch.fx.Node, name: str, source: _Tensor, rows: PoolAxis,
                 cols: PoolAxis, shape: tuple[int, ...]) -> torch.fx.Node:
        """Add an average pooling of ``source`` with these windows to an output of ``shape``
        (C, H, W), and the activations that follow ``node``; return the last node it lowers."""
        last, bounds = self._fuse_activation(node)
        output = self._spec(shape, self._frac_bits(last))
        probe = PoolLayer(name, source.name, output, PoolKind.AVG, rows, cols)
        areas = np.unique(probe.window_areas(*source.spec.shape[1:]))
        largest = int(areas.max())
        acc_range = (largest * source.lo, largest * source.hi)
        scale = 2.0 ** (output.frac_bits - source.spec.frac_bits) / areas.astype(np.float64)
        requant = make_requant(
            name,
            scale,
            np.zeros(len(areas)),
            acc_range,
            output,
            relu=False,
            multiplier_bits=self.multiplier_bits,
        )
        requant = self._bounded(requant, output, bounds)
        layer = PoolLayer(name, source.name, output, PoolKind.AVG, rows, cols, requant,
                          tuple(int(area) for area in areas))
        # M >= 0 and B = 0: a non-negative input gives a non-negative output.
        self._add_layer(layer, last, max(requant.lo, 0) if source.lo >= 0 else requant.lo, requant.hi)
        return last

    def _window(
        self, node: torch.fx.Node, params: Mapping[str, Any], *, count_include_pad: bool
    ) -> tuple[PoolAxis, PoolAxis]:
        """The row and column windows of a pooling call (stride None means the kernel; floor or
        ceil mode alike: the output's size, from torch, says how many windows there are)."""
        kernel = _pair(params["kernel_size"])
        stride = kernel if params.get("stride") in (None, (), []) else _pair(params["stride"])
        padding = _pair(params.get("padding", 0))
        return (PoolAxis.regular(int(kernel[0]), int(stride[0]), int(padding[0]), bool(count_include_pad)),
                PoolAxis.regular(int(kernel[1]), int(stride[1]), int(padding[1]), bool(count_include_pad)))

    def _adaptive_axes(self, node: torch.fx.Node, source: _Tensor) -> tuple[PoolAxis, PoolAxis]:
        """The row and column windows of an adaptive pooling (its output size from torch)."""
        if len(source.spec.shape) != 3:
            raise self._unsupported(node, f"a pooling of a tensor of shape {source.spec.shape}")
        _, h, w = source.spec.shape
        _, _, out_h, out_w = self.values[node].shape
        return PoolAxis.adaptive(h, int(out_h)), PoolAxis.adaptive(w, int(out_w))

    def _add(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        name = self._layer_name(node)
        args = list(node.args[:2])
        if (
            len(node.args) != 2
            or node.kwargs.get("alpha", 1) != 1
            or not all(
                isinstance(a, torch.fx.Node) and isinstance(self.values.get(a), torch.Tensor)
                for a in args
            )
        ):
            raise self._unsupported(node, "an add that is not the sum of two tensors")
        a, b = (self._input_of(node, arg) for arg in args)
        if a.spec.shape != b.spec.shape:
            raise self._unsupported(node, f"an add of shapes {a.spec.shape} and {b.spec.shape}")
        last, bounds = self._fuse_activation(node)
        fine = max(a.spec.frac_bits, b.spec.frac_bits)
        shift_a, shift_b = fine - a.spec.frac_bits, fine - b.spec.frac_bits
        output = self._spec(a.spec.shape, self._frac_bits(last))
        acc_range = ((a.lo << shift_a) + (b.lo << shift_b), (a.hi << shift_a) + (b.hi << shift_b))
        channels = a.spec.shape[0]
        requant = make_requant(
            name,
            np.full(channels, 2.0 ** (output.frac_bits - fine)),
            np.zeros(channels),
            acc_range,
            output,
            relu=False,
            multiplier_bits=self.multiplier_bits,
        )
        requant = self._bounded(requant, output, bounds)
        layer = AddLayer(name, (a.name, b.name), output, shift_a, shift_b, requant)
        self._add_layer(layer, last, requant.lo, requant.hi)

    def _concat(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        parts = self._concat_parts(node)
        if parts is None:
            bound = dict(zip(("tensors", "dim"), node.args))
            bound.update(node.kwargs)
            listed = bound.get("tensors")
            shapes = [
                tuple(self.values[p].shape) if isinstance(self.values.get(p), torch.Tensor) else type(p).__name__
                for p in (listed if isinstance(listed, (list, tuple)) else ())
            ]
            raise self._unsupported(
                node,
                f"a concatenation of shapes {shapes} on dim {bound.get('dim', 0)!r} (only feature maps "
                "(N, C, H, W) of one height and width, on the channel axis, dim=1)",
            )
        inputs = [self._input_of(node, part) for part in parts]
        common = self.frac_override[node]
        for part, tensor in zip(parts, inputs):
            source = tensor.name
            producer = self._producer(source)
            while isinstance(producer, PoolLayer) and producer.kind is PoolKind.MAX:
                source = producer.input  # a max pooling keeps its input's scale
                producer = self._producer(source)
            if not isinstance(producer, (ConvLayer, LinearLayer, AddLayer, ConcatLayer, PoolLayer)):
                kind = "the network input" if producer is None else type(producer).__name__
                raise UnsupportedLayerError(
                    f"layer {self._label(node)!r} (concatenation) input {self._label(part)!r} must be "
                    f"produced by a layer with a requantization (Conv2d, BatchNorm2d, Linear, add or "
                    f"average pooling), by a concatenation, or by max pooling of one's output, not "
                    f"{kind} ({source!r}): the inputs of a concatenation are requantized to one "
                    "common scale"
                )
            assert tensor.spec.frac_bits == common, (tensor.name, tensor.spec.frac_bits, common)
        lo, hi = min(tensor.lo for tensor in inputs), max(tensor.hi for tensor in inputs)
        joined = self._nested(tuple(tensor.name for tensor in inputs))
        if len(joined) == 1:  # one tensor, or what an earlier concatenation joined
            earlier = self._producer(joined[0]) if joined[0] in self.concat_leaves else None
            self.tensors[node] = inputs[0] if earlier is None else _Tensor(earlier.name, earlier.output, lo, hi)
            return
        name = self._layer_name(node)
        _, height, width = inputs[0].spec.shape
        channels = sum(tensor.spec.shape[0] for tensor in inputs)
        output = self._spec((channels, height, width), common)
        layer = ConcatLayer(name, joined, output)
        self._add_layer(layer, node, lo, hi)
        self.concat_leaves[name] = self._leaves(joined)

    def _leaves(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The tensors ``names`` join, each concatenation among them replaced by what it joins."""
        return tuple(leaf for name in names for leaf in self.concat_leaves.get(name, (name,)))

    def _nested(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The inputs of a concatenation of ``names``, where every run of tensors that an earlier
        concatenation joined (the longest first) is that concatenation: DenseNet's concatenation of
        all the features so far is the previous one's plus the new features, stored around it (a
        tensor lies in one place in DDR, so it can be concatenated once)."""
        leaves = self._leaves(names)
        joined: list[str] = []
        start = 0
        while start < len(leaves):
            runs = [name for name, run in self.concat_leaves.items() if leaves[start:start + len(run)] == run]
            best = max(runs, key=lambda name: len(self.concat_leaves[name]), default=leaves[start])
            joined.append(best)
            start += len(self.concat_leaves.get(best, (best,)))
        return tuple(joined)

    def _producer(self, name: str) -> Layer | None:
        """The lowered layer called ``name`` (None for the network input)."""
        for layer in reversed(self.layers):
            if layer.name == name:
                return layer
        return None

    def _flatten(self, node: torch.fx.Node, module: nn.Module | None) -> None:
        source = self._input_of(node, node.args[0])
        value_in, value_out = self.values[node.args[0]], self.values[node]
        batch = value_in.shape[0]
        kept = [size for size in value_out.shape[1:] if size != 1]
        if len(value_out.shape) > 2 and value_out.shape[0] == batch and kept == [
                size for size in value_in.shape[1:] if size != 1]:
            self.tensors[node] = source  # a squeeze (or view) of size-1 axes, not yet (N, -1)
            return
        if tuple(value_out.shape) != (batch, int(np.prod(value_in.shape[1:]))):
            raise self._unsupported(
                node, f"a reshape to {tuple(value_out.shape)} (only flatten to (N, -1), or a squeeze "
                "of size-1 axes on the way)"
            )
        if len(source.spec.shape) == 1:
            self.tensors[node] = source
            return
        name = self._layer_name(node)
        output = self._spec((source.spec.elements,), source.spec.frac_bits)
        self._add_layer(FlattenLayer(name, source.name, output), node, source.lo, source.hi)


def _conv_padding(padding: str | tuple[int, ...], kernel: int) -> int | None:
    """A square convolution's padding on every side, or None if the sides differ: ``'valid'``
    is 0, ``'same'`` (stride 1) is ``(kernel - 1) / 2`` for an odd kernel (an even one pads one
    side more), a pair must be equal."""
    if padding == "valid":
        return 0
    if padding == "same":
        return (kernel - 1) // 2 if kernel % 2 else None
    return int(padding[0]) if padding[0] == padding[1] else None


def _clamped(lo: int, hi: int, bounds: tuple[int, int]) -> tuple[int, int]:
    """The range ``[lo, hi]`` clamped again to ``bounds``: ``clamp(clamp(v, lo, hi), a, b)`` is
    ``clamp(v, c(lo), c(hi))`` with ``c = clamp(., a, b)``."""
    a, b = bounds
    return min(max(lo, a), b), min(max(hi, a), b)


def kept_rows(name: str, ints: np.ndarray, recorded: np.ndarray | None) -> np.ndarray | None:
    """The kept kernel rows of a conv layer, or None for a dense layer.

    With a compression record, its rows are used (checked to cover every non-zero weight).
    Otherwise R = the largest number of non-zero rows of any kernel; the layer is KRP when
    K >= 2 and R < K. Each kernel keeps its non-zero rows plus, to reach R rows, its lowest-index
    zero rows (an all-zero kernel keeps rows 0..R-1); an all-zero layer keeps one row.
    """
    k = ints.shape[2]
    nonzero_rows = np.any(ints != 0, axis=3)  # (out, in, K)
    if recorded is not None:
        if recorded.shape[:2] != ints.shape[:2] or recorded.ndim != 3:
            raise UnsupportedLayerError(
                f"layer {name!r} kept_rows record must have shape {ints.shape[:2]} + (rows,), not {recorded.shape}"
            )
        if recorded.shape[2] >= k:
            return None
        covered = np.zeros_like(nonzero_rows)
        np.put_along_axis(covered, recorded, True, axis=2)
        if np.any(nonzero_rows & ~covered):
            raise UnsupportedLayerError(
                f"layer {name!r} has non-zero weights outside the kept rows of its compression record"
            )
        return np.sort(recorded, axis=2).astype(np.int64)
    rows = max(int(nonzero_rows.sum(axis=2).max()) if nonzero_rows.size else 0, 1)
    if k < 2 or rows >= k:
        return None
    order = np.where(nonzero_rows, 0, k) + np.arange(k)
    chosen = np.argsort(order, axis=2, kind="stable")[:, :, :rows]
    return np.sort(chosen, axis=2).astype(np.int64)


def _holds_tensor(value: Any) -> bool:
    """Whether a recorded value is or contains a tensor."""
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_tensor(v) for v in value.values())
    return False


def _pair(value: Any) -> tuple[Any, Any]:
    """``v`` -> ``(v, v)``; a pair stays a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return value[0], value[0]
        return value[0], value[1]
    return value, value
