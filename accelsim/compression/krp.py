"""Kernel row-scale pruning (KRP), the paper's Algorithm 1, steps 1-4.

For every convolution kernel (one (output channel, input channel) slice of a ``Conv2d`` weight,
shape KH x KW), compute the L1 norm of each of its KH rows, keep the ``rows_kept`` rows with the
largest L1 norm and zero the others. Ties are broken towards the lowest row index, so the result
is deterministic. With 3x3 kernels and one kept row, exactly 2/3 of the layer's weights are
pruned, and every kernel keeps the same number of weights in one regular row.

Which convolutions are pruned:

* A convolution is *row-prunable* if its kernel has at least 2 rows (KH >= 2). Rows run along the
  kernel height, so a non-square KH x KW kernel keeps ``rows_kept`` rows of KW weights each.
* Convolutions with a single kernel row (1x1 "pointwise", or 1xK) are not row-prunable; KRP leaves
  them dense. :func:`accelsim.compression.magnitude.fc_prune` can prune them by magnitude instead
  (its ``pointwise`` policy).
* The first convolution (in module order) is pruned like every other one by default
  (:attr:`FirstLayerPolicy.KRP`); the paper's 66.7% pruning rate for ResNet-56, whose every
  convolution is 3x3, implies that its first layer is pruned too. :attr:`FirstLayerPolicy.DENSE`
  keeps it dense (it is small, and sees the raw image).
"""

from __future__ import annotations

import enum
from dataclasses import replace

import torch
from torch import nn

from ..errors import ConfigError, WorkloadError
from .checks import enum_option, is_integer, require
from .records import LayerKind, MaskedModel, PruneMethod, derive, view


class FirstLayerPolicy(str, enum.Enum):
    """How KRP treats the first convolution of the model."""

    KRP = "krp"  #: row-prune it like every other convolution (default)
    DENSE = "dense"  #: leave it unpruned


def kept_row_indices(weight: torch.Tensor, rows_kept: int) -> torch.Tensor:
    """The ``rows_kept`` rows of largest L1 norm of each kernel of a conv ``weight``.

    Args:
        weight: (out_channels, in_channels, KH, KW).
        rows_kept: rows to keep per kernel, 1 <= rows_kept <= KH.

    Returns:
        int64 tensor (out_channels, in_channels, rows_kept), ascending along the last axis. Among
        rows of equal L1 norm the lower row index is kept.

    A row's rank is the number of rows of its kernel before it in the order of decreasing norm,
    ties to the lower index (its place in a stable descending sort), counted by comparing the
    kernel's rows pairwise; the rows of rank below ``rows_kept`` are kept.
    """
    norms = weight.detach().abs().sum(dim=3)  # (OC, IC, KH)
    height = norms.shape[2]
    before = torch.arange(height).unsqueeze(1) > torch.arange(height)  # [i, j]: row j has a lower index
    above, equal = norms.unsqueeze(3) < norms.unsqueeze(2), norms.unsqueeze(3) == norms.unsqueeze(2)
    rank = (above | (equal & before)).sum(dim=3)  # rows ranked before each row
    keep = rank < rows_kept
    return torch.arange(height).expand(norms.shape)[keep].reshape(*norms.shape[:2], rows_kept)


def row_mask(kept_rows: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """The bool mask of conv weight ``shape`` (OC, IC, KH, KW) that keeps the ``kept_rows``."""
    out_channels, in_channels, height, _width = shape
    rows = torch.zeros((out_channels, in_channels, height), dtype=torch.bool)
    rows.scatter_(2, kept_rows, True)
    return rows.unsqueeze(3).expand(shape).clone()


def has_conv(model: nn.Module) -> bool:
    """Whether ``model`` has at least one ``nn.Conv2d``."""
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


def no_conv_error(model: nn.Module) -> WorkloadError:
    """The error for a model KRP cannot prune."""
    return WorkloadError(
        f"model has no Conv2d layer ({type(model).__name__}): KRP prunes convolution kernels, so the model "
        "must be a CNN with at least one torch.nn.Conv2d"
    )


def krp_targets(state: MaskedModel, first_layer: FirstLayerPolicy) -> list[str]:
    """Names of the convolutions KRP prunes: row-prunable ones, minus the first if it stays dense."""
    convs = [record for record in state.records if record.kind is LayerKind.CONV]
    return [
        record.name
        for index, record in enumerate(convs)
        if record.shape[2] >= 2 and not (index == 0 and first_layer is FirstLayerPolicy.DENSE)
    ]


def check_rows_kept(state: MaskedModel, rows_kept: object, first_layer: FirstLayerPolicy) -> int:
    """``rows_kept`` if it is smaller than the kernel height of every convolution KRP prunes.

    Raises:
        ConfigError: ``rows_kept`` is not an integer >= 1, or not smaller than the kernel size
            of some pruned layer (the message names the layer).
    """
    require(is_integer(rows_kept) and rows_kept >= 1, "rows_kept", "an integer >= 1", rows_kept)
    rows = int(rows_kept)  # type: ignore[call-overload]
    for name in krp_targets(state, first_layer):
        height, width = state.record(name).shape[2:]
        size = f"kernel size K={height}" if height == width else f"kernel height K={height} ({height}x{width} kernel)"
        if rows >= height:
            raise ConfigError(f"layer {name!r}: rows_kept must be smaller than the {size}, not {rows}")
    return rows


def krp_prune(
    model: nn.Module | MaskedModel,
    rows_kept: int = 1,
    *,
    first_layer: FirstLayerPolicy | str = FirstLayerPolicy.KRP,
) -> MaskedModel:
    """Prune every row-prunable convolution of ``model`` on a row scale (a new model; input untouched).

    A layer already masked keeps its mask (the result is the intersection); the kept rows are
    chosen from its current (masked) weights.

    Raises:
        WorkloadError: the model has no ``nn.Conv2d``.
        ConfigError: ``model`` is not a model, or bad ``rows_kept`` or ``first_layer``.
    """
    state = view(model)
    if not has_conv(state.model):
        raise no_conv_error(state.model)
    policy = enum_option(FirstLayerPolicy, first_layer, "first_layer")
    rows = check_rows_kept(state, rows_kept, policy)
    weights, records = {}, []
    for name in krp_targets(state, policy):
        record = state.record(name)
        weight = state.weight(name).detach()
        kept = kept_row_indices(weight, rows)
        mask = record.mask & row_mask(kept, record.shape)
        weights[name] = torch.where(mask, weight, 0.0)
        records.append(replace(record, method=PruneMethod.KRP, mask=mask, kept_rows=kept))
    return derive(state, weights, records)
