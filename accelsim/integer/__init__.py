"""The integer network (typed graph), its lowering from torch, and the bit-exact Numba datapath."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .evaluate import Evaluation, evaluate
    from .execute import InferenceResult, dequantize, quantize_input, run
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
    from .lower import lower

__getattr__, __dir__ = lazy_exports(__name__, globals())

__all__ = [
    "AddLayer",
    "ConcatLayer",
    "ConvLayer",
    "Evaluation",
    "FlattenLayer",
    "InferenceResult",
    "IntegerNetwork",
    "Layer",
    "LinearLayer",
    "PoolAxis",
    "PoolKind",
    "PoolLayer",
    "Requant",
    "TensorSpec",
    "WeightFormat",
    "dequantize",
    "evaluate",
    "lower",
    "quantize_input",
    "run",
]
