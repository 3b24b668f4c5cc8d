"""Unstructured magnitude pruning of fully connected layers (the paper's Algorithm 1, steps 5-6).

Per layer, the ``round(rate * weights)`` weights of smallest magnitude are pruned (rounded half
up); among weights of equal magnitude the one with the lower flat (C-order) index is pruned first,
so the result is deterministic. Weights already pruned count first (they are 0), so applying the
pass to a pruned layer gives the union of the two masks.

1x1 ("pointwise") and other single-row convolutions cannot be row-pruned by KRP; the ``pointwise``
policy decides whether this pass prunes them by magnitude at the same rate
(:attr:`PointwisePolicy.MAGNITUDE`) or leaves them dense (:attr:`PointwisePolicy.DENSE`, the
default: the paper only row-prunes convolutions, and the FPGA convolution module streams kernel
rows, not scattered weights).
"""

from __future__ import annotations

import enum
import math
from dataclasses import replace

import torch
from torch import nn

from .checks import enum_option, is_real, require
from .records import LayerKind, LayerRecord, MaskedModel, PruneMethod, derive, view
from .selection import smallest


class PointwisePolicy(str, enum.Enum):
    """How :func:`fc_prune` treats convolutions with a single kernel row (1x1 and 1xK)."""

    DENSE = "dense"  #: leave them unpruned (default)
    MAGNITUDE = "magnitude"  #: prune them by magnitude at the fully connected rate


def pruned_count(rate: float, weights: int) -> int:
    """``round(rate * weights)``, rounded half up: how many weights a layer loses at ``rate``."""
    return math.floor(rate * weights + 0.5)


def magnitude_mask(weight: torch.Tensor, rate: float) -> torch.Tensor:
    """The bool mask (True = kept) pruning the ``pruned_count(rate, numel)`` smallest ``|weight|``."""
    return ~smallest(weight.detach().abs(), pruned_count(rate, weight.numel()))


def _is_target(record: LayerRecord, pointwise: PointwisePolicy) -> bool:
    """Whether :func:`fc_prune` prunes the layer of ``record``."""
    if record.kind is LayerKind.LINEAR:
        return True
    return pointwise is PointwisePolicy.MAGNITUDE and record.shape[2] == 1


def fc_prune(
    model: nn.Module | MaskedModel,
    rate: float,
    *,
    pointwise: PointwisePolicy | str = PointwisePolicy.DENSE,
) -> MaskedModel:
    """Prune the ``rate`` fraction of smallest-magnitude weights of each ``nn.Linear`` (a new model).

    With ``pointwise="magnitude"``, single-row convolutions (1x1, 1xK) are pruned the same way.
    ``rate`` 0 leaves every layer as it is.

    Raises:
        ConfigError: ``rate`` not in [0, 1), or a bad ``pointwise``.
    """
    require(is_real(rate) and 0 <= rate < 1, "fc_prune", "a number in [0, 1)", rate)
    policy = enum_option(PointwisePolicy, pointwise, "pointwise")
    state = view(model)
    if rate == 0:
        return derive(state, {})
    weights, records = {}, []
    for record in state.records:
        if not _is_target(record, policy):
            continue
        weight = state.weight(record.name).detach()
        kept = torch.where(record.mask, weight, 0.0).abs_()
        mask = record.mask & ~smallest(kept, pruned_count(rate, kept.numel()))
        del kept
        weights[record.name] = torch.where(mask, weight, 0.0)
        records.append(replace(record, method=PruneMethod.MAGNITUDE, mask=mask))
    return derive(state, weights, records)
