"""The integer network (typed graph), its lowering from torch, and the bit-exact Numba datapath."""

from __future__ import annotations

from ..lazy import lazy_exports

#: Where each public name lives: submodule -> names (imported on first use).
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".evaluate": (
        "Evaluation", "evaluate",
    ),
    ".execute": (
        "InferenceResult", "dequantize", "quantize_input", "run",
    ),
    ".graph": (
        "AddLayer", "ConvLayer", "FlattenLayer", "IntegerNetwork", "Layer", "LinearLayer",
        "PoolKind", "PoolLayer", "Requant", "TensorSpec",
    ),
    ".lower": (
        "lower",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "AddLayer",
    "ConvLayer",
    "Evaluation",
    "FlattenLayer",
    "InferenceResult",
    "IntegerNetwork",
    "Layer",
    "LinearLayer",
    "PoolKind",
    "PoolLayer",
    "Requant",
    "TensorSpec",
    "dequantize",
    "evaluate",
    "lower",
    "quantize_input",
    "run",
]
