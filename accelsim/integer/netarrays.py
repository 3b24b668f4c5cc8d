"""An :class:`~accelsim.integer.graph.IntegerNetwork` as JSON-able data plus named numpy arrays.

The form a network is stored in without pickle (e.g. ``numpy.savez`` and ``numpy.load`` with
``allow_pickle=False``, as the network cache does): every layer field that is a numpy array is
stored as an array under ``"<layer index>.<field>"`` (``"<layer index>.requant.<field>"`` for the
requantization's), everything else as JSON (tensor specs and requantizations as objects, enums by
value). :func:`network_from_arrays` rebuilds an equal network: same layers, same field values,
same array dtypes and shapes.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

from .graph import IntegerNetwork, Layer, PoolAxis, PoolKind, Requant, TensorSpec, WeightFormat

#: Layer classes (every member of :data:`accelsim.integer.graph.Layer`) by the name stored for them.
LAYER_TYPES: dict[str, type[Layer]] = {cls.__name__: cls for cls in typing.get_args(Layer)}


def _encode(value: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON form of one field value; arrays go to ``arrays[name]``."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"array": name}
    if isinstance(value, TensorSpec):
        return {"spec": [list(value.shape), value.bits, value.frac_bits]}
    if isinstance(value, Requant):
        return {"requant": {field.name: _encode(getattr(value, field.name), f"{name}.{field.name}", arrays)
                            for field in dataclasses.fields(value)}}
    if isinstance(value, PoolKind):
        return {"pool": value.value}
    if isinstance(value, PoolAxis):
        return {"pool_axis": {field.name: int(getattr(value, field.name)) for field in dataclasses.fields(value)}}
    if isinstance(value, WeightFormat):
        return {"weight_format": value.value}
    if isinstance(value, tuple):
        return {"tuple": [item.item() if isinstance(item, np.generic) else item for item in value]}
    return value


def _decode(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """Inverse of :func:`_encode`."""
    if not isinstance(value, dict):
        return value
    (kind, data), = value.items()
    if kind == "array":
        return np.asarray(arrays[data])
    if kind == "spec":
        shape, bits, frac_bits = data
        return TensorSpec(tuple(int(n) for n in shape), int(bits), int(frac_bits))
    if kind == "requant":
        return Requant(**{key: _decode(item, arrays) for key, item in data.items()})
    if kind == "pool":
        return PoolKind(data)
    if kind == "pool_axis":
        return PoolAxis(**{key: int(item) for key, item in data.items()})
    if kind == "weight_format":
        return WeightFormat(data)
    if kind == "tuple":
        return tuple(data)
    raise ValueError(f"stored field must be an array, spec, requant, pool kind or axis, weight format or tuple, "
                     f"not {kind!r}")


def network_to_arrays(network: IntegerNetwork) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(data, arrays)``: the JSON-able description of ``network`` and its arrays by name.

    Raises:
        TypeError: the network's metadata is not JSON-able data (checked by the caller's encoder).
    """
    arrays: dict[str, np.ndarray] = {}
    layers = [
        {"type": type(layer).__name__,
         "fields": {field.name: _encode(getattr(layer, field.name), f"{index}.{field.name}", arrays)
                    for field in dataclasses.fields(layer)}}
        for index, layer in enumerate(network.layers)
    ]
    data = {"name": network.name, "input": _encode(network.input, "input", arrays), "output": network.output,
            "metadata": dict(network.metadata), "layers": layers}
    return data, arrays


def network_from_arrays(data: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> IntegerNetwork:
    """The network :func:`network_to_arrays` described.

    Raises:
        KeyError, TypeError, ValueError: the description or the arrays are malformed.
    """
    layers = tuple(
        LAYER_TYPES[entry["type"]](**{key: _decode(value, arrays) for key, value in entry["fields"].items()})
        for entry in data["layers"]
    )
    return IntegerNetwork(input=_decode(data["input"], arrays), layers=layers, output=str(data["output"]),
                          name=str(data["name"]), metadata=dict(data["metadata"]))
