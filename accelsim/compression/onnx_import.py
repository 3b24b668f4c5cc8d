"""ONNX import: an ONNX CNN as a torch model of standard modules, ready for compression and lowering.

:func:`import_onnx` parses the file with the ``onnx`` package (no ONNX runtime) and converts the
graph, node by node, into an architecture description (:mod:`.architecture`): a ``torch.fx``
graph of standard torch modules (``Conv2d``, ``BatchNorm2d``, ``ReLU``, ``MaxPool2d``, ...) and
functions (``operator.add``, ``torch.cat``, ``torch.flatten``) whose parameters are the ONNX
initializers. The result is built like any recorded architecture, so compression, lowering and
the ``.krp`` file treat it as a user model: the file records the description, and every command
rebuilds the model from it without the ONNX file.

What is converted (:data:`SUPPORTED`):

* ``Conv`` (2-D, any groups, strides, dilations; symmetric pads, or a ``Pad`` of zeros on the
  spatial axes just before it, folded into its padding) -> ``nn.Conv2d``;
* ``BatchNormalization`` (inference) -> ``nn.BatchNorm2d`` / ``nn.BatchNorm1d``;
* ``Relu`` -> ``nn.ReLU``; ``Clip`` -> ``nn.ReLU`` (``[0, inf)``), ``nn.ReLU6`` (``[0, 6]``) or
  ``nn.Hardtanh`` (other bounds);
* ``MaxPool``, ``AveragePool`` (2-D, symmetric pads, ``ceil_mode``, ``count_include_pad``) ->
  ``nn.MaxPool2d``, ``nn.AvgPool2d``; ``GlobalAveragePool`` / ``GlobalMaxPool`` and
  ``ReduceMean`` over H and W -> ``nn.AdaptiveAvgPool2d(1)`` / ``nn.AdaptiveMaxPool2d(1)``;
* ``Add`` of two tensors -> ``+``; ``Add`` of a constant right after a ``Conv``, ``Gemm`` or
  ``MatMul`` -> that layer's bias; ``Concat`` of tensors on the channel axis -> ``torch.cat``;
* ``Flatten`` (axis 1), ``Reshape`` to ``(N, -1)`` and ``Squeeze`` of size-1 spatial axes (one by
  one too) ->
  flatten; ``Gemm`` (``transA = 0``) and ``MatMul`` by a constant -> ``nn.Linear``;
* ``Dropout`` and ``Identity`` -> the identity; ``Constant`` and the shape arithmetic exporters
  emit around a reshape or a pad (``Shape``, ``Gather``, ``Unsqueeze``, ``Squeeze``, ``Concat``,
  ``Cast``, ``Slice``, ``Mul``, ``Div``, ``Add``, ``Sub``, ``Reshape``, ``Transpose``,
  ``ConstantOfShape`` of constants) are evaluated at import.

Anything else is refused naming the node and its op type: ``ONNX node 'LSTM_0' (op LSTM) is not
supported; supported: ...``. The input shape is the graph input's, batch dimension dropped; a
symbolic or unknown size needs ``input_shape``.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, UnsupportedLayerError, WorkloadError, brief
from ..inputs import input_file
from . import architecture

#: Largest ONNX file read (protobuf's own limit is 2 GiB).
MAX_ONNX_BYTES = 2 << 30

#: ONNX op types :func:`import_onnx` converts (the shape arithmetic on constants included).
SUPPORTED = (
    "Conv", "BatchNormalization", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "ReduceMean", "Add", "Concat", "Flatten", "Reshape", "Squeeze", "Gemm", "MatMul",
    "Dropout", "Identity", "Pad", "Constant", "Shape", "Gather", "Unsqueeze", "Cast", "Slice", "Mul",
    "Div", "Sub", "ConstantOfShape", "Transpose",
)
#: Ops evaluated at import when every input is a constant.
_FOLDABLE = {"Identity", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Mul", "Div",
             "Add", "Sub", "Reshape", "ConstantOfShape", "Transpose"}
_ONNX_FLOAT = 1


@dataclass(frozen=True, eq=False)
class OnnxModel:
    """An imported ONNX model.

    Attributes:
        model: the torch model (a ``torch.fx.GraphModule`` of standard modules), eval mode.
        name: the workload name recorded for it: the ONNX file's name (``tiny.onnx``).
        input_shape: (C, H, W) of one input.
        architecture: the description the model was built from (:mod:`.architecture`).
        initializers: the ONNX initializers as float32 arrays, by name (what the weights came from).
        sources: state-dict key -> (initializer name, transposed) of every weight and bias taken
            from an initializer as it is.
    """

    model: torch.nn.Module
    name: str
    input_shape: tuple[int, int, int]
    architecture: dict[str, Any]
    initializers: dict[str, np.ndarray]
    sources: dict[str, tuple[str, bool]]


@dataclass
class _Value:
    """A tensor of the graph being converted: the description node making it and its shape (batch first)."""

    node: int
    shape: tuple[int, ...]
    pads: tuple[int, int, int, int] | None = None  # a folded Pad still to be taken by a Conv
    layer: str | None = None  # the module (Conv2d / Linear) that made it, for a constant Add


def _error(node: Any, index: int, what: str) -> UnsupportedLayerError:
    return UnsupportedLayerError(f"ONNX node {_node_name(node, index)!r} (op {_op(node)}) {what}")


def _node_name(node: Any, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def _op(node: Any) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"


def _unsupported(node: Any, index: int) -> UnsupportedLayerError:
    return _error(node, index, f"is not supported; supported: {', '.join(SUPPORTED)}")


def _read(path: str | os.PathLike[str]) -> Any:
    """The parsed and checked ``ModelProto`` of an ONNX file (WorkloadError if it is not one)."""
    import onnx

    file = input_file(path, "ONNX file", WorkloadError)
    where = str(file)
    size = file.stat().st_size
    if size == 0:
        raise WorkloadError(f"ONNX file {where!r} is empty (0 bytes): it must be an ONNX model")
    if size > MAX_ONNX_BYTES:
        raise WorkloadError(f"ONNX file {where!r} must be at most {MAX_ONNX_BYTES >> 30} GiB, not {size:,} bytes")
    try:
        model = onnx.load_model_from_string(file.read_bytes())
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise WorkloadError(
            f"ONNX file {where!r} is not an ONNX model (it cannot be parsed: {type(error).__name__})"
        ) from None
    external = [tensor for tensor in model.graph.initializer if tensor.data_location == onnx.TensorProto.EXTERNAL]
    if external:  # exporters write large weights (and torch.onnx.export(dynamo=True) any weights) beside the file
        from onnx import external_data_helper

        try:
            external_data_helper.load_external_data_for_model(model, str(file.resolve().parent))
        except Exception as error:  # noqa: BLE001 - a missing data file, a location outside the folder, bad bounds
            raise WorkloadError(
                f"ONNX file {where!r}: the external data of its initializers cannot be read "
                f"({type(error).__name__}: {brief(str(error))}); keep the data file(s) beside the model"
            ) from None
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # noqa: BLE001 - onnx.checker.ValidationError, or a protobuf error on garbage
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WorkloadError(f"ONNX file {where!r} is not a valid ONNX model: {brief(first)}") from None
    if not model.graph.node:
        raise WorkloadError(f"ONNX file {where!r} is not an ONNX model with a graph: it has no nodes")
    return model


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper, numpy_helper

    values = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif hasattr(value, "dims") and hasattr(value, "data_type"):
            value = numpy_helper.to_array(value)
        values[attribute.name] = value
    return values


#: Ops that torch exports from a module of their own, named by the node's scope.
_MODULE_OPS = ("Conv", "Gemm", "MatMul", "BatchNormalization")


def _sanitize(name: str, op_type: str) -> str:
    """A module name from an ONNX node name: torch's scopes ``/layer2/short/short.0/Conv`` ->
    ``layer2_short_0`` (its module ``layer2.short.0``), ``/layer1/Relu_1`` -> ``layer1_Relu_1``."""
    segments = [segment for segment in name.split("/") if segment]
    if op_type in _MODULE_OPS and len(segments) > 1 and segments[-1] == op_type:
        segments.pop()
    merged: list[str] = []
    for segment in segments:  # the exporter repeats a parent's name: stem, stem.0 -> stem.0
        if merged and segment.startswith(merged[-1] + "."):
            merged[-1] = segment
        else:
            merged.append(segment)
    text = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", "_".join(merged))).strip("_")
    return text[:80] or op_type.lower()


class _Importer:
    """Converts one ONNX graph (see the module docstring)."""

    def __init__(self, model: Any, where: str, input_shape: tuple[int, int, int] | None) -> None:
        from onnx import numpy_helper

        self.where = where
        graph = model.graph
        self.graph = graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.consts: dict[str, np.ndarray] = {}
        self.initializers: dict[str, np.ndarray] = {}
        for tensor in graph.initializer:
            array = numpy_helper.to_array(tensor)
            self.consts[tensor.name] = array
            if array.dtype.kind == "f":
                self.initializers[tensor.name] = array.astype(np.float32)
        self.values: dict[str, _Value] = {}
        self.modules: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = [{"op": "input"}]
        self.state: dict[str, torch.Tensor] = {}
        self.sources: dict[str, tuple[str, bool]] = {}
        self.names: set[str] = set()
        self.uses = Counter(name for node in graph.node for name in node.input if name)
        self.uses.update(output.name for output in graph.output)
        self.input_name, self.input_shape, self.batch = self._input(input_shape)
        self.values[self.input_name] = _Value(0, (self.batch, *self.input_shape))

    # ------------------------------------------------------------------ graph input and output
    def _input(self, given: tuple[int, int, int] | None) -> tuple[str, tuple[int, int, int], int]:
        inputs = [value for value in self.graph.input if value.name not in self.consts]
        if len(inputs) != 1:
            raise WorkloadError(
                f"ONNX file {self.where!r} must have one input (an image batch), not {len(inputs)} "
                f"({', '.join(repr(value.name) for value in inputs[:4])})"
            )
        value = inputs[0]
        tensor = value.type.tensor_type
        if not value.type.HasField("tensor_type") or tensor.elem_type != _ONNX_FLOAT:
            raise WorkloadError(
                f"ONNX file {self.where!r}: input {value.name!r} must be a float32 tensor, not element type "
                f"{tensor.elem_type if value.type.HasField('tensor_type') else 'none'}"
            )
        if not tensor.HasField("shape") or len(tensor.shape.dim) != 4:
            rank = len(tensor.shape.dim) if tensor.HasField("shape") else "unknown"
            raise WorkloadError(
                f"ONNX file {self.where!r}: input {value.name!r} must be an image batch (N, C, H, W), not of rank {rank}"
            )
        dims = [dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None for dim in tensor.shape.dim]
        shown = "(" + ", ".join(str(d) if d is not None else (dim.dim_param or "?")
                                for d, dim in zip(dims, tensor.shape.dim, strict=True)) + ")"
        known = dims[1:]
        if given is not None:
            for size, want in zip(known, given, strict=True):
                if size is not None and size != want:
                    raise ConfigError(
                        f"--input-shape must match the ONNX model's input {value.name!r} of shape {shown}, "
                        f"not {','.join(map(str, given))}"
                    )
            shape = tuple(given)
        elif None in known:
            raise ConfigError(
                f"--input-shape C,H,W must be given for ONNX file {self.where!r}: its input {value.name!r} has "
                f"the shape {shown}, with unknown sizes"
            )
        else:
            shape = tuple(known)
        return value.name, shape, dims[0] or 1  # type: ignore[return-value]

    # ------------------------------------------------------------------------------ helpers
    def _name(self, node: Any) -> str:
        base = _sanitize(node.name, node.op_type)
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def _tensor(self, node: Any, index: int, name: str) -> _Value:
        if name in self.consts:
            raise _error(node, index, f"must take a tensor computed from the input as {name!r}, not a constant")
        if name not in self.values:
            raise _error(node, index, f"reads {name!r}, which no earlier node computes")
        value = self.values[name]
        if value.pads is not None and node.op_type != "Conv":
            raise _error(node, index, "reads the output of a Pad; only a Pad of zeros right before a Conv is folded")
        return value

    def _const(self, node: Any, index: int, position: int, what: str) -> np.ndarray | None:
        """The constant input ``position`` of ``node`` (None if absent)."""
        if position >= len(node.input) or not node.input[position]:
            return None
        name = node.input[position]
        if name not in self.consts:
            raise _error(node, index, f"must have a constant {what} (an initializer), not the computed {name!r}")
        return self.consts[name]

    def _axes(self, node: Any, index: int, attrs: dict[str, Any]) -> list[int] | None:
        """A reduction's or squeeze's ``axes``: the attribute (opset < 13 / < 18) or the constant
        second input; None when neither is given."""
        axes = attrs.get("axes")
        if axes is None:
            given = self._const(node, index, 1, "axes")
            axes = None if given is None else given.tolist()
        return axes

    def _apply(self, node: Any, index: int, entry: dict[str, Any], inputs: list[Any]) -> tuple[int, ...]:
        """Add a description node; its output shape (the op run on meta tensors)."""
        try:
            if entry["op"] == "module":
                module = next(m for m in self.modules if m["path"] == entry["target"])
                _, made = architecture._module(module)
                result = made.eval()(*inputs)
            else:
                args = [[_meta(v) for v in a] if isinstance(a, list) else _meta(a) for a in inputs]
                result = architecture.FUNCTIONS[entry["target"]](*args, **entry["kwargs"])
        except Exception as error:  # noqa: BLE001 - a torch op refusing the shapes or parameters
            shapes = ", ".join(str(tuple(v.shape)) for v in _flat(inputs))
            raise _error(node, index, f"cannot be applied to inputs of shape {shapes}: {brief(str(error))}") from None
        self.nodes.append(entry)
        return tuple(result.shape)

    def _module(self, node: Any, index: int, kind: str, args: dict[str, Any], source: _Value,
                params: dict[str, tuple[np.ndarray, str | None, bool]] | None = None) -> _Value:
        """A module node applied to ``source``; ``params``: state-dict suffix -> (array, initializer, transposed)."""
        name = self._name(node)
        encoded = {key: architecture._encode(value, {}) for key, value in args.items()}
        self.modules.append({"path": name, "type": kind, "args": encoded})
        entry = {"op": "module", "target": name, "args": [{"node": source.node}], "kwargs": {}}
        shape = self._apply(node, index, entry, [torch.empty(source.shape, device="meta")])
        for suffix, (array, initializer, transposed) in (params or {}).items():
            self.state[f"{name}.{suffix}"] = torch.from_numpy(np.array(array, dtype=np.float32, copy=True))
            if initializer is not None:
                self.sources[f"{name}.{suffix}"] = (initializer, transposed)
        return _Value(len(self.nodes) - 1, shape, layer=name if kind in ("Conv2d", "Linear") else None)

    def _function(self, node: Any, index: int, target: str, sources: list[Any], extra: list[Any],
                  kwargs: dict[str, Any] | None = None) -> _Value:
        """A function node on ``sources`` (values, or one list of values) and constant ``extra`` arguments."""
        def ref(item: Any) -> Any:
            return [ref(v) for v in item] if isinstance(item, list) else {"node": item.node}

        def meta(item: Any) -> Any:
            return [meta(v) for v in item] if isinstance(item, list) else torch.empty(item.shape, device="meta")

        entry = {"op": "function", "target": target, "args": [ref(s) for s in sources] + extra,
                 "kwargs": kwargs or {}}
        shape = self._apply(node, index, entry, [meta(s) for s in sources] + extra)
        return _Value(len(self.nodes) - 1, shape)

    # ------------------------------------------------------------------------------ the walk
    def run(self) -> OnnxModel:
        for index, node in enumerate(self.graph.node):
            op = _op(node)
            handler = getattr(self, f"_op_{op}", None) if node.domain in ("", "ai.onnx") else None
            inputs = [name for name in node.input if name]
            if node.op_type in _FOLDABLE and node.domain in ("", "ai.onnx") and inputs and all(
                name in self.consts or (node.op_type == "Shape" and name in self.values) for name in inputs
            ):
                self._fold(node, index)
            elif node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self._constant(node, index)
            elif handler is None and node.op_type in _FOLDABLE and node.domain in ("", "ai.onnx"):
                hint = ("; an exporter writes what ONNX has no single op for this way (torch's dynamo exporter: an "
                        "adaptive pooling to a size that does not divide its input, whose windows it gathers): "
                        "pool to a size that divides the input" if node.op_type in ("Transpose", "Gather", "Slice")
                        else "")
                raise _error(node, index, "is supported on constants only (shape arithmetic), not on a tensor computed "
                                          f"from the input ({', '.join(repr(n) for n in inputs if n not in self.consts)})"
                                          + hint)
            elif handler is None:
                raise _unsupported(node, index)
            else:
                handler(node, index)
        outputs = list(self.graph.output)
        if len(outputs) != 1:
            raise WorkloadError(f"ONNX file {self.where!r} must have one output (the logits), not {len(outputs)}")
        out = outputs[0].name
        if out not in self.values or self.values[out].node == 0:
            raise WorkloadError(f"ONNX file {self.where!r}: output {out!r} must be computed from the input by layers")
        self.nodes.append({"op": "output", "args": [{"node": self.values[out].node}]})
        description = {"format": architecture.FORMAT, "version": architecture.VERSION,
                       "modules": self.modules, "nodes": self.nodes}
        model = architecture.build(description)
        expected = {key: tuple(v.shape) for key, v in model.state_dict().items()}
        found = {key: tuple(v.shape) for key, v in self.state.items()}
        if expected != found:  # an importer bug, never the file's
            raise AssertionError(f"imported state dict {sorted(found)} does not match {sorted(expected)}")
        model.load_state_dict(self.state, strict=True, assign=True)
        architecture.check_input_shape(model, self.input_shape, f"ONNX model {self.where!r}")
        return OnnxModel(model.eval(), Path(self.where).name, self.input_shape, description,
                         self.initializers, self.sources)

    # ------------------------------------------------------------------ constants (folded)
    def _constant(self, node: Any, index: int) -> None:
        attrs = _attributes(node)
        if "value" in attrs:
            value = np.asarray(attrs["value"])
        elif "value_float" in attrs or "value_int" in attrs:
            value = np.asarray(attrs.get("value_float", attrs.get("value_int")))
        elif "value_floats" in attrs or "value_ints" in attrs:
            value = np.asarray(attrs.get("value_floats", attrs.get("value_ints")))
        else:
            raise _error(node, index, "must hold a tensor, float(s) or int(s) value")
        self.consts[node.output[0]] = value

    def _fold(self, node: Any, index: int) -> None:
        attrs = _attributes(node)
        op = node.op_type
        args = [self.consts.get(name) if name else None for name in node.input]
        try:
            if op == "Shape":
                shape = np.asarray(self.values[node.input[0]].shape if node.input[0] in self.values
                                   else self.consts[node.input[0]].shape, dtype=np.int64)
                result = shape[attrs.get("start", 0): attrs.get("end", len(shape))]
            elif op == "Identity":
                result = args[0]
            elif op == "Gather":
                result = np.take(args[0], args[1], axis=attrs.get("axis", 0))
            elif op in ("Unsqueeze", "Squeeze"):
                axes = attrs.get("axes", None if len(args) < 2 or args[1] is None else args[1].tolist())
                if op == "Unsqueeze":
                    result = args[0]
                    rank = result.ndim + len(axes)
                    for axis in sorted(a % rank for a in axes):
                        result = np.expand_dims(result, axis)
                else:
                    result = np.squeeze(args[0], axis=None if axes is None else tuple(axes))
            elif op == "Concat":
                result = np.concatenate([np.atleast_1d(a) for a in args], axis=attrs["axis"])
            elif op == "Cast":
                from onnx import helper

                result = args[0].astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
            elif op == "Slice":
                starts, ends = args[1], args[2]
                axes = args[3] if len(args) > 3 and args[3] is not None else np.arange(len(starts))
                steps = args[4] if len(args) > 4 and args[4] is not None else np.ones(len(starts), dtype=np.int64)
                index_ = [slice(None)] * args[0].ndim
                for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
                    index_[int(a)] = slice(int(s), int(min(e, np.iinfo(np.int64).max)), int(st))
                result = args[0][tuple(index_)]
            elif op == "ConstantOfShape":
                fill = np.asarray(attrs.get("value", np.zeros(1, np.float32))).reshape(-1)
                shape = [int(n) for n in args[0].reshape(-1)]
                if math.prod(shape) > 1 << 16:
                    raise ValueError(f"a constant of shape {shape} is larger than shape arithmetic needs")
                result = np.full(shape, fill[0], dtype=fill.dtype)
            elif op == "Transpose":
                result = np.transpose(args[0], attrs.get("perm"))
            elif op == "Reshape":
                result = args[0].reshape(tuple(int(n) if n != 0 else args[0].shape[i] for i, n in enumerate(args[1])))
            else:
                a, b = args[0], args[1]
                result = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract}.get(op, None)
                result = (a // b if a.dtype.kind in "iu" else a / b) if op == "Div" else result(a, b)
        except Exception as error:  # noqa: BLE001 - malformed constants (wrong axes, types)
            raise _error(node, index, f"cannot be evaluated on its constant inputs: {brief(str(error))}") from None
        self.consts[node.output[0]] = np.asarray(result)

    # ------------------------------------------------------------------------------ layers
    def _spatial(self, node: Any, index: int, attrs: dict[str, Any], size: tuple[int, ...],
                 pads: tuple[int, ...] = (0, 0, 0, 0)) -> tuple[list[int], list[int], list[int], list[int]]:
        """kernel, strides, symmetric padding and dilations of a 2-D window op on an input of
        ``size`` (H, W); ``auto_pad`` SAME_UPPER / SAME_LOWER pads as ONNX defines it (symmetric
        only when the total padding of each axis is even: an odd kernel at stride 1, say)."""
        kernel = list(attrs.get("kernel_shape", []))
        auto_pad = attrs.get("auto_pad", "NOTSET")
        if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
            raise _error(node, index, f"must have auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, not {auto_pad!r}")
        strides = list(attrs.get("strides", [1, 1]))
        dilations = list(attrs.get("dilations", [1, 1]))
        if len(kernel) != 2 or len(strides) != 2 or len(dilations) != 2:
            raise _error(node, index, f"must be 2-D (kernel_shape of 2 sizes), not kernel_shape {kernel}")
        onnx_pads = list(attrs.get("pads", [0, 0, 0, 0])) if auto_pad == "NOTSET" else [0] * 4
        if auto_pad.startswith("SAME"):  # output ceil(size / stride); the odd pixel after (UPPER) or before
            totals = [max(0, (-(-n // st) - 1) * st + (k - 1) * d + 1 - n)
                      for n, st, k, d in zip(size, strides, kernel, dilations)]
            first = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in totals]
            onnx_pads = [first[0], first[1], totals[0] - first[0], totals[1] - first[1]]
        if len(onnx_pads) != 4:
            raise _error(node, index, f"must be 2-D (kernel_shape of 2 sizes), not kernel_shape {kernel}")
        total = [onnx_pads[i] + pads[i] for i in range(4)]
        if total[0] != total[2] or total[1] != total[3]:
            raise _error(node, index, f"must have symmetric pads (top = bottom, left = right), not {total}")
        return kernel, strides, total[:2], dilations

    def _op_Conv(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        weight = self._const(node, index, 1, "weight")
        bias = self._const(node, index, 2, "bias")
        attrs = _attributes(node)
        if weight is None or weight.ndim != 4 or len(source.shape) != 4:
            raise _error(node, index, "must be a 2-D convolution of an (N, C, H, W) tensor with a 4-D weight")
        attrs.setdefault("kernel_shape", list(weight.shape[2:]))
        if list(attrs["kernel_shape"]) != list(weight.shape[2:]):
            raise _error(node, index, f"must have kernel_shape equal to its weight's, {list(weight.shape[2:])}")
        kernel, strides, padding, dilations = self._spatial(node, index, attrs, source.shape[2:],
                                                            source.pads or (0, 0, 0, 0))
        groups = int(attrs.get("group", 1))
        args = {"in_channels": int(weight.shape[1]) * groups, "out_channels": int(weight.shape[0]),
                "kernel_size": kernel, "stride": strides, "padding": padding, "dilation": dilations,
                "groups": groups, "bias": bias is not None, "padding_mode": "zeros"}
        params = {"weight": (weight, node.input[1], False)}
        if bias is not None:
            params["bias"] = (bias, node.input[2], False)
        self.values[node.output[0]] = self._module(node, index, "Conv2d", args, source, params)

    def _op_BatchNormalization(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        attrs = _attributes(node)
        if attrs.get("training_mode", 0) or any(name and self.uses[name] for name in node.output[1:]):
            raise _error(node, index, "must be in inference mode (training_mode 0, one output)")
        scale, bias, mean, var = (self._const(node, index, i, what)
                                  for i, what in enumerate(("scale", "bias", "mean", "variance"), start=1))
        if any(array is None for array in (scale, bias, mean, var)) or len(source.shape) not in (2, 4):
            raise _error(node, index, "must normalize an (N, C) or (N, C, H, W) tensor with constant parameters")
        kind = "BatchNorm2d" if len(source.shape) == 4 else "BatchNorm1d"
        args = {"num_features": int(source.shape[1]), "eps": float(attrs.get("epsilon", 1e-5)), "momentum": 0.1,
                "affine": True, "track_running_stats": True}
        params = {"weight": (scale, node.input[1], False), "bias": (bias, node.input[2], False),
                  "running_mean": (mean, node.input[3], False), "running_var": (var, node.input[4], False)}
        value = self._module(node, index, kind, args, source, params)
        self.state[f"{self.modules[-1]['path']}.num_batches_tracked"] = torch.tensor(0)
        self.values[node.output[0]] = value

    def _op_Relu(self, node: Any, index: int) -> None:
        self.values[node.output[0]] = self._module(node, index, "ReLU", {}, self._tensor(node, index, node.input[0]))

    def _op_Clip(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        if self.opset < 11:
            attrs = _attributes(node)
            low, high = attrs.get("min", -math.inf), attrs.get("max", math.inf)
        else:
            bounds = [self._const(node, index, i, what) for i, what in ((1, "min"), (2, "max"))]
            low = -math.inf if bounds[0] is None else float(np.asarray(bounds[0]).reshape(-1)[0])
            high = math.inf if bounds[1] is None else float(np.asarray(bounds[1]).reshape(-1)[0])
        if low == 0 and high == math.inf:
            value = self._module(node, index, "ReLU", {}, source)
        elif low == 0 and high == 6:
            value = self._module(node, index, "ReLU6", {}, source)
        else:
            if not low < high:
                raise _error(node, index, f"must have min < max, not [{low}, {high}]")
            value = self._module(node, index, "Hardtanh", {"min_val": float(low), "max_val": float(high)}, source)
        self.values[node.output[0]] = value

    def _pool(self, node: Any, index: int, kind: str) -> None:
        source = self._tensor(node, index, node.input[0])
        attrs = _attributes(node)
        if len(source.shape) != 4:
            raise _error(node, index, f"must pool an (N, C, H, W) tensor, not one of shape {source.shape}")
        if len(node.output) > 1 and node.output[1] and self.uses[node.output[1]]:
            raise _error(node, index, "must not return indices")
        kernel, strides, padding, dilations = self._spatial(node, index, attrs, source.shape[2:])
        args: dict[str, Any] = {"kernel_size": kernel, "stride": strides, "padding": padding,
                                "ceil_mode": bool(attrs.get("ceil_mode", 0))}
        if kind == "MaxPool2d":
            args.update(dilation=dilations, return_indices=False)
        else:
            if dilations != [1, 1]:
                raise _error(node, index, f"must have dilations [1, 1], not {dilations}")
            args.update(count_include_pad=bool(attrs.get("count_include_pad", 0)), divisor_override=None)
        self.values[node.output[0]] = self._module(node, index, kind, args, source)

    def _op_MaxPool(self, node: Any, index: int) -> None:
        self._pool(node, index, "MaxPool2d")

    def _op_AveragePool(self, node: Any, index: int) -> None:
        self._pool(node, index, "AvgPool2d")

    def _global(self, node: Any, index: int, kind: str, source: _Value) -> _Value:
        if len(source.shape) != 4:
            raise _error(node, index, f"must pool an (N, C, H, W) tensor, not one of shape {source.shape}")
        return self._module(node, index, kind, {"output_size": [1, 1]}, source)

    def _op_GlobalAveragePool(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        self.values[node.output[0]] = self._global(node, index, "AdaptiveAvgPool2d", source)

    def _op_GlobalMaxPool(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        self.values[node.output[0]] = self._global(node, index, "AdaptiveMaxPool2d", source)

    def _op_ReduceMean(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        attrs = _attributes(node)
        axes = self._axes(node, index, attrs)
        rank = len(source.shape)
        if axes is None or rank != 4 or sorted(int(a) % rank for a in axes) != [2, 3]:
            raise _error(node, index, f"must average over the spatial axes [2, 3] of an (N, C, H, W) tensor, not axes {axes}")
        value = self._global(node, index, "AdaptiveAvgPool2d", source)
        if not attrs.get("keepdims", 1):
            value = self._function(node, index, "torch.flatten", [value], [1])
        self.values[node.output[0]] = value

    def _op_Add(self, node: Any, index: int) -> None:
        names = list(node.input)
        constant = [name for name in names if name in self.consts]
        if not constant:
            a, b = (self._tensor(node, index, name) for name in names)
            if a.shape != b.shape:
                raise _error(node, index, f"must add tensors of the same shape, not {a.shape} and {b.shape}")
            self.values[node.output[0]] = self._function(node, index, "operator.add", [a, b], [])
            return
        variable = next(name for name in names if name not in self.consts)
        source = self._tensor(node, index, variable)
        addend = self.consts[constant[0]].astype(np.float32)
        rank, channels = len(source.shape), source.shape[1] if len(source.shape) >= 2 else 0
        per_channel = (rank == 2 and addend.shape in ((channels,), (1, channels))) or (
            rank == 4 and addend.shape in ((channels, 1, 1), (1, channels, 1, 1))
        )
        producer = source.layer
        if producer is None or not per_channel or self.uses[variable] != 1 or len(constant) != 1:
            raise _error(node, index, "adds a constant that is not the per-channel bias of the Conv, Gemm or MatMul "
                                      "before it; only tensor + tensor and such biases are supported")
        module = next(m for m in self.modules if m["path"] == producer)
        key = f"{producer}.bias"
        bias = addend.reshape(-1)
        if key in self.state:
            self.state[key] = self.state[key] + torch.from_numpy(bias.copy())
            self.sources.pop(key, None)
        else:
            module["args"]["bias"] = True
            self.state[key] = torch.from_numpy(bias.copy())
            self.sources[key] = (constant[0], False)
        self.values[node.output[0]] = source

    def _op_Concat(self, node: Any, index: int) -> None:
        sources = [self._tensor(node, index, name) for name in node.input]
        axis = int(_attributes(node).get("axis", 1))
        rank = len(sources[0].shape)
        if rank != 4 or axis % rank != 1:
            raise _error(node, index, f"must concatenate (N, C, H, W) tensors on the channel axis 1, not axis {axis}")
        self.values[node.output[0]] = self._function(node, index, "torch.cat", [sources], [1])

    def _flatten(self, node: Any, index: int, source: _Value) -> _Value:
        return self._function(node, index, "torch.flatten", [source], [1])

    def _op_Flatten(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        axis = int(_attributes(node).get("axis", 1))
        if axis % max(len(source.shape), 1) != 1:
            raise _error(node, index, f"must flatten from axis 1 (to (N, -1)), not axis {axis}")
        self.values[node.output[0]] = self._module(node, index, "Flatten", {"start_dim": 1, "end_dim": -1}, source)

    def _op_Reshape(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        target = self._const(node, index, 1, "shape")
        allowzero = int(_attributes(node).get("allowzero", 0))
        shape = [int(n) for n in np.asarray(target).reshape(-1)]
        resolved = [source.shape[i] if n == 0 and not allowzero and i < len(source.shape) else n
                    for i, n in enumerate(shape)]
        total = math.prod(source.shape)
        if resolved.count(-1) == 1:
            known = math.prod(n for n in resolved if n != -1)
            resolved = [total // known if n == -1 and known else n for n in resolved]
        flat = (source.shape[0], total // source.shape[0])
        if tuple(resolved) == tuple(source.shape):
            self.values[node.output[0]] = source
        elif tuple(resolved) == flat:
            self.values[node.output[0]] = self._flatten(node, index, source)
        else:
            raise _error(node, index, f"must reshape to (N, -1) (a flatten), not {source.shape} -> {tuple(shape)}")

    def _op_Squeeze(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        axes = self._axes(node, index, _attributes(node))
        rank = len(source.shape)
        axes = [i for i in range(rank) if source.shape[i] == 1] if axes is None else [int(a) % rank for a in axes]
        if rank not in (3, 4) or not axes or any(a < 2 or source.shape[a] != 1 for a in axes):
            raise _error(node, index, f"must squeeze size-1 spatial axes (2, 3) of an (N, C, H, W) tensor, not axes "
                                      f"{axes} of {source.shape}")
        shape = tuple(size for i, size in enumerate(source.shape) if i not in axes)
        # the values keep their order: (N, -1) is a flatten, a squeeze short of it keeps the tensor
        self.values[node.output[0]] = (self._flatten(node, index, source) if len(shape) == 2
                                       else _Value(source.node, shape))

    def _linear(self, node: Any, index: int, source: _Value, weight: np.ndarray, transposed: bool,
                bias: np.ndarray | None, initializer: str, bias_name: str | None) -> _Value:
        if len(source.shape) != 2 or source.shape[1] != weight.shape[1]:
            raise _error(node, index, f"must multiply an (N, {weight.shape[1]}) tensor, not one of shape {source.shape}")
        args = {"in_features": int(weight.shape[1]), "out_features": int(weight.shape[0]), "bias": bias is not None}
        params = {"weight": (weight, initializer, transposed)}
        if bias is not None:
            params["bias"] = (bias, bias_name, False)
        return self._module(node, index, "Linear", args, source, params)

    def _op_Gemm(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        attrs = _attributes(node)
        weight = self._const(node, index, 1, "B (weight)")
        bias = self._const(node, index, 2, "C (bias)")
        if attrs.get("transA", 0) or weight is None or weight.ndim != 2:
            raise _error(node, index, "must be x @ W (transA 0) with a 2-D constant W")
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        transposed = not attrs.get("transB", 0)
        matrix = (weight.T if transposed else weight).astype(np.float32) * np.float32(alpha)
        if bias is not None:
            if bias.size not in (1, matrix.shape[0]):
                raise _error(node, index, f"must have a bias C of {matrix.shape[0]} values, not shape {bias.shape}")
            bias = np.broadcast_to(bias.reshape(-1), (matrix.shape[0],)).astype(np.float32) * np.float32(beta)
        value = self._linear(node, index, source, matrix, transposed, bias,
                             node.input[1] if alpha == 1 else None,
                             node.input[2] if bias is not None and beta == 1 and bias.size == matrix.shape[0] else None)
        if alpha != 1:
            self.sources.pop(f"{self.modules[-1]['path']}.weight", None)
        self.values[node.output[0]] = value

    def _op_MatMul(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        weight = self._const(node, index, 1, "second operand (weight)")
        if weight is None or weight.ndim != 2:
            raise _error(node, index, "must multiply by a 2-D constant matrix")
        self.values[node.output[0]] = self._linear(node, index, source, weight.T, True, None, node.input[1], None)

    def _op_Dropout(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        training = self._const(node, index, 2, "training_mode") if len(node.input) > 2 else None
        if (training is not None and bool(training)) or (len(node.output) > 1 and node.output[1]
                                                          and self.uses[node.output[1]]):
            raise _error(node, index, "must be in inference mode (no training_mode, no mask output)")
        self.values[node.output[0]] = source

    def _op_Identity(self, node: Any, index: int) -> None:
        self.values[node.output[0]] = self._tensor(node, index, node.input[0])

    def _op_Pad(self, node: Any, index: int) -> None:
        source = self._tensor(node, index, node.input[0])
        attrs = _attributes(node)
        if attrs.get("mode", "constant") != "constant":
            raise _error(node, index, f"must pad with a constant, not mode {attrs['mode']!r}")
        if self.opset < 11:
            pads, value = list(attrs.get("pads", [])), float(attrs.get("value", 0.0))
        else:
            pads = [int(n) for n in self._const(node, index, 1, "pads")]
            constant = self._const(node, index, 2, "constant_value")
            value = 0.0 if constant is None else float(np.asarray(constant).reshape(-1)[0])
            axes = self._const(node, index, 3, "axes")
            if axes is not None:
                full = [0] * 8
                for k, axis in enumerate(int(a) % 4 for a in axes):
                    full[axis], full[axis + 4] = pads[k], pads[k + len(axes)]
                pads = full
        if len(source.shape) != 4 or len(pads) != 8 or value != 0 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            raise _error(node, index, f"must pad H and W of an (N, C, H, W) tensor with zeros, not pads {pads} "
                                      f"with {value}")
        self.values[node.output[0]] = _Value(source.node, source.shape, (pads[2], pads[3], pads[6], pads[7]))
        if source.pads is not None:
            raise _error(node, index, "must not pad a tensor padded already")


def _meta(value: Any) -> Any:
    return torch.empty(value.shape, device="meta") if isinstance(value, _Value) else value


def _flat(inputs: list[Any]) -> list[Any]:
    flat = []
    for item in inputs:
        flat.extend(_flat(item) if isinstance(item, list) else [item] if hasattr(item, "shape") else [])
    return flat


def import_onnx(path: str | os.PathLike[str], input_shape: tuple[int, int, int] | None = None) -> OnnxModel:
    """Read the ONNX CNN at ``path`` and convert it into a torch model of standard modules.

    Args:
        path: the ``.onnx`` file (self-contained: no external data files).
        input_shape: (C, H, W) of one input; required when the graph input's C, H or W is symbolic
            or unknown, and must match where it is known.

    Raises:
        WorkloadError: not a (valid) ONNX file, not one image input and one output.
        UnsupportedLayerError: a node whose op (or attributes) is not supported, named with its op type.
        ConfigError: an input shape that is missing, does not match the graph's, or that the model does not accept.
    """
    from .pipeline import check_input_shape

    shape = None if input_shape is None else check_input_shape(input_shape, "--input-shape")
    where = os.fspath(path)
    return _Importer(_read(where), where, shape).run()
