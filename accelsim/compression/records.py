"""What the compression passes know about each prunable layer, and the model they travel with.

Every ``torch.nn.Conv2d`` and ``torch.nn.Linear`` of a model is a *prunable layer*. A
:class:`LayerRecord` describes its state: how it was pruned (its boolean mask, and for KRP the
kept kernel-row indices), its levels once quantized (GSNQ or uniform), and which weights are
already fixed at a level. A :class:`MaskedModel` pairs a model with the records of all its prunable layers; every
pass takes a plain ``nn.Module`` or a :class:`MaskedModel` and returns a new :class:`MaskedModel`
and never mutates its input, so passes compose: ``fc_prune(krp_prune(model), 0.5)``. A pass copies
only what it changes (:func:`derive`): its result is a new module tree whose changed weights are new
tensors and whose other parameters and buffers are shared with its input (copy on write), so a
pass over VGG-16 costs the memory of the weights it rewrites, not of the whole model. Code that
trains a model in place works on its own deep copy (:func:`as_masked`, as retraining does).

Layers are listed in ``model.named_modules()`` order (registration order), which for the usual
``nn.Sequential`` networks is execution order; "the first convolution" means the first
``nn.Conv2d`` in that order.
"""

from __future__ import annotations

import copy
import enum
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from .checks import require_type
from .levels import WeightLevels

#: What a model argument must be, for the messages that refuse anything else.
MODULE_EXPECTED = "a torch.nn.Module (e.g. workloads.build('digits'))"


class LayerKind(str, enum.Enum):
    """The kind of a prunable layer."""

    CONV = "conv"
    LINEAR = "linear"


class PruneMethod(str, enum.Enum):
    """How a layer's weights were pruned."""

    DENSE = "dense"  #: not pruned
    KRP = "krp"  #: kernel row-scale pruning: the kept rows of every kernel
    MAGNITUDE = "magnitude"  #: unstructured: the smallest-magnitude weights


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """The compression state of one prunable layer.

    Attributes:
        name: qualified module name (``model.get_submodule(name)``).
        kind: convolution or fully connected.
        method: how the layer was pruned.
        mask: bool tensor of the weight's shape; True = kept (the weight may be non-zero), False =
            pruned (the weight is exactly 0 and stays 0).
        kept_rows: for KRP, int64 tensor (out_channels, in_channels/groups, rows_kept) of the
            kept kernel-row indices of each kernel, ascending; None otherwise.
        levels: the levels (GSNQ or uniform) once the layer is quantized, else None.
        quantized: bool tensor of the weight's shape, True where a kept weight is fixed at a
            level (a subset of ``mask``); None before quantization starts.
    """

    name: str
    kind: LayerKind
    method: PruneMethod
    mask: torch.Tensor
    kept_rows: torch.Tensor | None = None
    levels: WeightLevels | None = None
    quantized: torch.Tensor | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the layer's weight."""
        return tuple(self.mask.shape)

    @property
    def weights(self) -> int:
        """Number of weights."""
        return self.mask.numel()

    @property
    def pruned(self) -> int:
        """Number of pruned weights (from the mask)."""
        return self.weights - count_true(self.mask)

    @property
    def pruning_rate(self) -> float:
        """Fraction of the layer's weights pruned, from the mask."""
        return self.pruned / self.weights

    @property
    def rows_kept(self) -> int | None:
        """Kernel rows kept per kernel for KRP, else None."""
        return None if self.kept_rows is None else int(self.kept_rows.shape[2])

    @property
    def frozen(self) -> torch.Tensor:
        """bool tensor of the weights retraining must leave bit-identical: pruned or quantized."""
        return ~self.mask if self.quantized is None else ~self.mask | self.quantized


@dataclass(frozen=True, eq=False)
class MaskedModel:
    """A model with the records of all its prunable layers (in module order).

    Attributes:
        model: the torch module; its pruned weights are exactly 0.
        records: one record per ``nn.Conv2d`` / ``nn.Linear``, in ``named_modules()`` order.
    """

    model: nn.Module
    records: tuple[LayerRecord, ...]

    def record(self, name: str) -> LayerRecord:
        """The record of layer ``name`` (KeyError if there is none)."""
        for item in self.records:
            if item.name == name:
                return item
        raise KeyError(name)

    def weight(self, name: str) -> nn.Parameter:
        """The weight parameter of layer ``name``."""
        return self.model.get_submodule(name).weight

    def with_records(self, records: Iterable[LayerRecord]) -> MaskedModel:
        """The same model with ``records`` replacing the records of the same names."""
        updates = {item.name: item for item in records}
        return replace(self, records=tuple(updates.get(item.name, item) for item in self.records))


def count_true(mask: torch.Tensor) -> int:
    """Number of True entries of a bool tensor (``numpy.count_nonzero``: no int64 temporary)."""
    return int(np.count_nonzero(mask.numpy()))


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d | nn.Linear]]:
    """``(name, module)`` of every ``nn.Conv2d`` and ``nn.Linear`` of ``model``, in module order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))]


def dense_record(name: str, module: nn.Conv2d | nn.Linear) -> LayerRecord:
    """The record of an unpruned, unquantized layer."""
    kind = LayerKind.CONV if isinstance(module, nn.Conv2d) else LayerKind.LINEAR
    return LayerRecord(name, kind, PruneMethod.DENSE, torch.ones(module.weight.shape, dtype=torch.bool))


def dense_records(model: nn.Module) -> tuple[LayerRecord, ...]:
    """The records of every prunable layer of ``model`` as unpruned, unquantized layers."""
    return tuple(dense_record(name, module) for name, module in prunable_layers(model))


def view(model: nn.Module | MaskedModel) -> MaskedModel:
    """``model`` as a :class:`MaskedModel` without copying (dense records for a plain module).

    Passes read their input through this and build their result with :func:`derive`.

    Raises:
        ConfigError: ``model`` is neither.
    """
    if isinstance(model, MaskedModel):
        return model
    require_type(model, nn.Module, "model", f"{MODULE_EXPECTED} or a MaskedModel")
    return MaskedModel(model, dense_records(model))


def as_masked(model: nn.Module | MaskedModel) -> MaskedModel:
    """A :class:`MaskedModel` over a deep copy of ``model`` (dense records for a plain module).

    For code that changes the model's tensors in place (retraining), which must not touch its input.
    """
    state = view(model)
    return replace(state, model=copy.deepcopy(state.model))


def derive(
    state: MaskedModel, weights: Mapping[str, torch.Tensor], records: Iterable[LayerRecord] = ()
) -> MaskedModel:
    """A new :class:`MaskedModel`: ``state`` with the weights of the layers ``weights`` names replaced.

    The module tree is copied (new module objects), every parameter and buffer not replaced is
    shared with ``state.model``, and each replaced weight becomes a new parameter holding the
    given tensor (wherever the old one was used, so tied weights stay tied); ``records`` replace
    the records of the same names. ``state`` is not changed.
    """
    model = state.model
    shared = {id(tensor): tensor for tensor in itertools.chain(model.parameters(), model.buffers())}
    clone = copy.deepcopy(model, shared)
    new = {
        id(state.weight(name)): nn.Parameter(value.detach(), requires_grad=state.weight(name).requires_grad)
        for name, value in weights.items()
    }
    for module in clone.modules():
        for key, param in module._parameters.items():
            if param is not None and id(param) in new:
                module._parameters[key] = new[id(param)]
    return MaskedModel(clone, state.records).with_records(records)
