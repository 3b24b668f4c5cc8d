"""The pruning report: per-layer and total pruning rates, computed from the layers' masks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError, brief
from .records import LayerKind, LayerRecord, PruneMethod


@dataclass(frozen=True)
class LayerPruning:
    """Pruning of one layer.

    Attributes:
        name, kind, method: as in the layer's record.
        shape: weight shape.
        weights: number of weights.
        pruned: number of pruned weights (False in the mask).
        rows_kept: kernel rows kept per kernel for KRP layers, else None.
        bits: weight code width in bits (GSNQ or uniform), or None if the layer is not quantized.
    """

    name: str
    kind: LayerKind
    method: PruneMethod
    shape: tuple[int, ...]
    weights: int
    pruned: int
    rows_kept: int | None
    bits: int | None

    @property
    def pruning_rate(self) -> float:
        """Fraction of the layer's weights pruned."""
        return self.pruned / self.weights

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "method": self.method.value,
            "shape": list(self.shape),
            "weights": self.weights,
            "pruned": self.pruned,
            "pruning_rate": self.pruning_rate,
            "rows_kept": self.rows_kept,
            "bits": self.bits,
        }


@dataclass(frozen=True)
class PruningReport:
    """Per-layer pruning and the totals over convolution and over all prunable weights."""

    layers: tuple[LayerPruning, ...]

    def _rate(self, kinds: tuple[LayerKind, ...]) -> float:
        """Pruned fraction of the weights of layers of ``kinds`` (0.0 if there are none)."""
        chosen = [layer for layer in self.layers if layer.kind in kinds]
        total = sum(layer.weights for layer in chosen)
        return sum(layer.pruned for layer in chosen) / total if total else 0.0

    @property
    def conv_pruning_rate(self) -> float:
        """Pruned fraction of all convolution weights."""
        return self._rate((LayerKind.CONV,))

    @property
    def total_pruning_rate(self) -> float:
        """Pruned fraction of all convolution and fully connected weights."""
        return self._rate((LayerKind.CONV, LayerKind.LINEAR))

    @property
    def weights(self) -> int:
        """Number of convolution and fully connected weights."""
        return sum(layer.weights for layer in self.layers)

    @property
    def pruned(self) -> int:
        """Number of pruned weights."""
        return sum(layer.pruned for layer in self.layers)

    def to_dict(self) -> dict[str, object]:
        """JSON-able form: the totals and the ``layers`` list."""
        return {
            "conv_pruning_rate": self.conv_pruning_rate,
            "total_pruning_rate": self.total_pruning_rate,
            "weights": self.weights,
            "pruned": self.pruned,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def pruning_report(records: Iterable[LayerRecord]) -> PruningReport:
    """The report of ``records``, from their masks.

    Raises:
        ConfigError: ``records`` is not an iterable of :class:`LayerRecord`.
    """
    listed = tuple(records) if isinstance(records, Iterable) else None
    if listed is None or not all(isinstance(record, LayerRecord) for record in listed):
        raise ConfigError(f"records must be a list of LayerRecord (e.g. compressed.records), not {brief(records)}")
    return PruningReport(
        tuple(
            LayerPruning(
                name=record.name,
                kind=record.kind,
                method=record.method,
                shape=record.shape,
                weights=record.weights,
                pruned=record.pruned,
                rows_kept=record.rows_kept,
                bits=None if record.levels is None else record.levels.bits,
            )
            for record in listed
        )
    )
