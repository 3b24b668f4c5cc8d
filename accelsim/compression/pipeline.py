"""The compression pipeline: KRP -> FC pruning -> retraining -> GSNQ (incremental with retraining).

:func:`compress` chains the passes of this package in the order of the paper's framework
(Algorithm 1, then GSNQ): row-prune the convolutions, magnitude-prune the fully connected layers,
retrain with the masks (LR tracking by default), then quantize to GSNQ levels (or, with
``weights="uniform"``, to uniform symmetric levels, :mod:`.uniform`). With data and
``retrain.epochs > 0`` quantization is incremental (INQ's portions) with a retraining phase after
every step but the last; without data it is one-shot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

import workloads

from ..errors import ConfigError, WorkloadError, brief
from ..integer.graph import WeightFormat
from .architecture import check_input_shape as check_model_input
from .architecture import record as record_architecture
from .checks import enum_option, is_integer, is_real, require, require_type
from .defaults import DEFAULT_FC_PRUNE, DEFAULT_PORTIONS
from .gsnq import GsnqSplit, check_bits, check_portions, gsnq_quantize
from .krp import FirstLayerPolicy, has_conv, krp_prune, no_conv_error
from .magnitude import PointwisePolicy, fc_prune
from .records import MODULE_EXPECTED, LayerRecord, MaskedModel
from .report import PruningReport, pruning_report
from .retrain import RetrainConfig, TrainingData, check_training, retrain
from .uniform import uniform_quantize


@dataclass(frozen=True)
class CompressionConfig:
    """What :func:`compress` does.

    Attributes:
        bits: weight code width in bits, 2..8; None skips quantization (pruning only, float32 weights).
        rows_kept: kernel rows KRP keeps per kernel; must be smaller than every pruned kernel's height.
        fc_prune: fraction of each fully connected layer's weights pruned by magnitude, in [0, 1).
        first_layer: KRP policy of the first convolution ("krp" or "dense").
        pointwise: policy of 1x1 convolutions ("dense", or "magnitude" at the ``fc_prune`` rate).
        gsnq_split: how each layer's codes are split between the signs ("min-error" or "balanced");
            GSNQ only.
        portions: INQ's accumulated quantized portions, used when retraining (else one-shot).
        retrain: the retraining phases (used only when :func:`compress` gets data).
        weights: the weight format: power-of-two "gsnq" or uniform symmetric "uniform".
    """

    bits: int | None = 4
    rows_kept: int = 1
    fc_prune: float = DEFAULT_FC_PRUNE
    first_layer: FirstLayerPolicy = FirstLayerPolicy.KRP
    pointwise: PointwisePolicy = PointwisePolicy.DENSE
    gsnq_split: GsnqSplit = GsnqSplit.MIN_ERROR
    portions: tuple[float, ...] = DEFAULT_PORTIONS
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    weights: WeightFormat = WeightFormat.GSNQ

    def __post_init__(self) -> None:
        """Check every field (ConfigError naming it); accept enum values and lists for portions."""
        if self.bits is not None:
            check_bits(self.bits)
        require(is_integer(self.rows_kept) and self.rows_kept >= 1, "rows_kept", "an integer >= 1", self.rows_kept)
        require(is_real(self.fc_prune) and 0 <= self.fc_prune < 1, "fc_prune", "a number in [0, 1)", self.fc_prune)
        object.__setattr__(self, "first_layer", enum_option(FirstLayerPolicy, self.first_layer, "first_layer"))
        object.__setattr__(self, "pointwise", enum_option(PointwisePolicy, self.pointwise, "pointwise"))
        object.__setattr__(self, "gsnq_split", enum_option(GsnqSplit, self.gsnq_split, "gsnq_split"))
        object.__setattr__(self, "portions", check_portions(self.portions))
        require(isinstance(self.retrain, RetrainConfig), "retrain", "a RetrainConfig", self.retrain)
        object.__setattr__(self, "weights", enum_option(WeightFormat, self.weights, "weights"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (inverse of :meth:`from_dict`)."""
        return {
            "bits": self.bits,
            "rows_kept": self.rows_kept,
            "fc_prune": self.fc_prune,
            "first_layer": self.first_layer.value,
            "pointwise": self.pointwise.value,
            "gsnq_split": self.gsnq_split.value,
            "portions": list(self.portions),
            "retrain": self.retrain.to_dict(),
            "weights": self.weights.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompressionConfig:
        """The config :meth:`to_dict` wrote (ConfigError/KeyError/TypeError on malformed input).

        A dict without ``weights`` (written before uniform quantization existed) is GSNQ.
        """
        fields = dict(data)
        fields["retrain"] = RetrainConfig(**fields["retrain"])
        fields["portions"] = tuple(fields["portions"])
        return cls(**fields)


@dataclass(frozen=True, eq=False)
class CompressedModel:
    """A compressed network.

    Attributes:
        model: the torch module with the final weights, in eval mode.
        workload: the workload name or ``"module:factory"`` spec that rebuilds the architecture.
        records: the compression state of every conv / linear layer, in module order.
        config: how it was compressed.
        input_shape: (C, H, W) of one input image: the built-in workload's, or the one given to
            :func:`compress`; None if unknown (a user model compressed without one, or a file
            written before input shapes were recorded).
        architecture: for a user or ONNX model, its architecture as plain data
            (:mod:`.architecture`), which the network file records so that the model can be
            rebuilt without its code; None for a built-in workload (rebuilt by name) or a model
            whose graph cannot be recorded (``architecture_note`` says why).
        architecture_note: why a user model's architecture is not recorded ("" otherwise).
    """

    model: nn.Module
    workload: str
    records: tuple[LayerRecord, ...]
    config: CompressionConfig
    input_shape: tuple[int, ...] | None = None
    architecture: dict[str, Any] | None = None
    architecture_note: str = ""

    def report(self) -> PruningReport:
        """Per-layer and total pruning rates, from the masks."""
        return pruning_report(self.records)


def workload_input_shape(workload: str) -> tuple[int, ...] | None:
    """The input shape of a built-in workload, None for a user model."""
    return tuple(workloads.info(workload).input_shape) if workload in workloads.names() else None


def check_input_shape(shape: object, what: str = "input_shape") -> tuple[int, int, int]:
    """``shape`` as a tuple (C, H, W) of positive integers with at most
    :data:`~accelsim.compression.netfile.MAX_INPUT_ELEMENTS` elements (ConfigError naming ``what`` otherwise)."""
    from .netfile import MAX_INPUT_ELEMENTS

    require(
        isinstance(shape, (tuple, list)) and len(shape) == 3 and all(is_integer(n) and n >= 1 for n in shape),
        what, "(C, H, W) positive integers", shape,
    )
    require(math.prod(shape) <= MAX_INPUT_ELEMENTS, what, f"at most {MAX_INPUT_ELEMENTS:,} elements", shape)
    return tuple(int(n) for n in shape)  # type: ignore[return-value]


def check_float32(model: nn.Module) -> None:
    """Refuse a model whose floating parameters or buffers are not float32 (WorkloadError)."""
    for kind, name, tensor in [*(("parameter", *item) for item in model.named_parameters()),
                               *(("buffer", *item) for item in model.named_buffers())]:
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise WorkloadError(
                f"model {kind} {name!r} must be float32, not {str(tensor.dtype).removeprefix('torch.')} "
                "(compression and its checks run in float32: build the model in float32, e.g. "
                "model.float())"
            )


def check_model(model: nn.Module) -> None:
    """Refuse what is not a model (ConfigError), a model without convolution, with parameters or
    float buffers (such as BatchNorm running statistics) that are not float32, or with non-finite
    ones (WorkloadError)."""
    require_type(model, nn.Module, "model", MODULE_EXPECTED)
    if not has_conv(model):
        raise no_conv_error(model)
    check_float32(model)
    for name, param in model.named_parameters():
        if param.numel() and not all(map(math.isfinite, torch.aminmax(param.detach()))):  # NaN propagates
            raise WorkloadError(f"model parameter {name!r} must be finite, not contain NaN or infinity")
    for name, buffer in model.named_buffers():
        if buffer.is_floating_point() and not torch.isfinite(buffer).all():
            raise WorkloadError(f"model buffer {name!r} must be finite, not contain NaN or infinity")


def compress(
    model: nn.Module,
    config: CompressionConfig,
    *,
    workload: str,
    data: TrainingData | None = None,
    recipe: workloads.TrainingRecipe | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> CompressedModel:
    """Compress ``model`` (a workload's trained network) with KRP + FC pruning + GSNQ (or uniform).

    Args:
        model: the network; not modified.
        config: the compression settings.
        workload: the name (or ``"module:factory"`` spec) that rebuilds the architecture.
        data: training data; with it (and ``config.retrain.epochs > 0``) the model is retrained
            after pruning and between the quantization steps.
        recipe: the original training recipe that retraining tracks; default the workload's.
        input_shape: (C, H, W) of one input image; default the built-in workload's (None for a user
            model). For a model that is not a built-in workload, the compressed model's
            architecture is also recorded (:mod:`.architecture`) when it is given.

    Raises:
        WorkloadError: no convolution, non-finite weights, or no recipe for a user model with data.
        ConfigError: an argument of the wrong type, ``rows_kept`` too large for a layer (named), an
            input shape that is not (C, H, W) positive integers or that the model does not accept,
            or other bad settings.
    """
    check_model(model)
    require_type(config, CompressionConfig, "config", "a CompressionConfig (e.g. CompressionConfig(bits=4))")
    if not isinstance(workload, str) or not workload:
        raise ConfigError(
            f"workload must be a built-in workload name or a 'module:factory' spec (e.g. 'digits'), not {brief(workload)}"
        )
    check_training(data, recipe, optional=True)
    known = workload_input_shape(workload)
    shape = known if input_shape is None else check_input_shape(input_shape)
    if shape is not None and shape != known:  # before the work: a built-in workload's own shape is known to work
        check_model_input(model, shape, f"model {workload!r}")
    training = data is not None and config.retrain.epochs > 0
    phase: Callable[[MaskedModel], MaskedModel] | None = None
    if training:
        if recipe is None and workload not in workloads.names():
            raise WorkloadError(
                f"retraining the user model {workload!r} needs its original training recipe: pass "
                "recipe=workloads.TrainingRecipe(...) (LR tracking replays its schedule)"
            )
        original = recipe if recipe is not None else workloads.info(workload).recipe
        phase = partial(retrain, data=data, recipe=original, config=config.retrain)
    state = krp_prune(model, config.rows_kept, first_layer=config.first_layer)
    # The pruned state shares what it keeps of the model; without this reference a caller that
    # passed a temporary model frees its dense weights as soon as later passes replace them.
    del model
    state = fc_prune(state, config.fc_prune, pointwise=config.pointwise)
    if phase is not None:
        state = phase(state)
    if config.bits is not None:
        portions = config.portions if phase is not None else (1.0,)
        if config.weights is WeightFormat.UNIFORM:
            state = uniform_quantize(state, config.bits, portions=portions, retrain=phase)
        else:
            state = gsnq_quantize(state, config.bits, portions=portions, retrain=phase, split=config.gsnq_split)
    architecture, note = None, ""
    if workload not in workloads.names():
        if shape is None:
            note = "its input shape is unknown"
        else:
            architecture, note = record_architecture(state.model, shape, f"model {workload!r}")
    return CompressedModel(
        model=state.model.eval(),
        workload=workload,
        records=state.records,
        config=config,
        input_shape=shape,
        architecture=architecture,
        architecture_note=note,
    )
