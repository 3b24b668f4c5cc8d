"""KRP + GSNQ compression of PyTorch CNNs, LR-tracking retraining, and the compressed-network file.

Passes (each returns a new :class:`MaskedModel`, never mutating its input):
:func:`krp_prune`, :func:`fc_prune`, :func:`gsnq_quantize`, :func:`uniform_quantize`; retraining: :func:`retrain`,
:func:`train`; the whole pipeline: :func:`compress`; the file: :func:`save_network`,
:func:`load_network`. The choices behind them are documented in ``docs/compression.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from ..integer.graph import WeightFormat
    from .defaults import DEFAULT_PORTIONS
    from .gsnq import (
        GsnqSplit,
        assign_levels,
        choose_levels,
        gsnq_quantize,
        quantize,
        quantize_incrementally,
        quantize_portion,
    )
    from .krp import FirstLayerPolicy, kept_row_indices, krp_prune
    from .levels import GsnqLevels, SignLevels, UniformLevels, WeightLevels
    from .magnitude import PointwisePolicy, fc_prune, magnitude_mask
    from .netfile import (
        EncodingReport,
        LayerEncoding,
        NetworkContents,
        decode_network,
        encode_network,
        load_network,
        read_manifest,
        save_network,
    )
    from .pipeline import CompressedModel, CompressionConfig, compress
    from .records import (
        LayerKind,
        LayerRecord,
        MaskedModel,
        PruneMethod,
        as_masked,
        prunable_layers,
    )
    from .report import LayerPruning, PruningReport, pruning_report
    from .retrain import RetrainConfig, TrainingData, evaluate, retrain, train
    from .schedules import LrSchedule, final_lr, retraining_lr
    from .sparse import IndexEncoding
    from .uniform import assign_steps, choose_step, round_to_grid, uniform_quantize

__getattr__, __dir__ = lazy_exports(__name__, globals())

__all__ = [
    "DEFAULT_PORTIONS",
    "CompressedModel",
    "CompressionConfig",
    "EncodingReport",
    "FirstLayerPolicy",
    "GsnqLevels",
    "GsnqSplit",
    "IndexEncoding",
    "LayerEncoding",
    "LayerKind",
    "LayerPruning",
    "LayerRecord",
    "LrSchedule",
    "MaskedModel",
    "NetworkContents",
    "PointwisePolicy",
    "PruneMethod",
    "PruningReport",
    "RetrainConfig",
    "SignLevels",
    "TrainingData",
    "UniformLevels",
    "WeightFormat",
    "WeightLevels",
    "as_masked",
    "assign_levels",
    "assign_steps",
    "choose_levels",
    "choose_step",
    "compress",
    "decode_network",
    "encode_network",
    "evaluate",
    "fc_prune",
    "final_lr",
    "gsnq_quantize",
    "kept_row_indices",
    "krp_prune",
    "load_network",
    "magnitude_mask",
    "prunable_layers",
    "pruning_report",
    "quantize",
    "quantize_incrementally",
    "quantize_portion",
    "read_manifest",
    "retrain",
    "retraining_lr",
    "round_to_grid",
    "save_network",
    "train",
    "uniform_quantize",
]
