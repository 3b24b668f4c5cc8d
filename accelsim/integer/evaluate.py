"""Accuracy of an integer network against labels and its agreement with the float model."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from .execute import dequantize, quantize_input, run
from .graph import IntegerNetwork


@dataclass(frozen=True)
class Evaluation:
    """Top-1 results of the integer network and the float model on the same images.

    Attributes:
        count: images evaluated.
        accuracy: integer network's top-1 accuracy in [0, 1], None without labels.
        float_accuracy: the float (compressed torch) model's top-1 accuracy, None without labels.
        agreement: fraction of images where both predict the same class, in [0, 1].
        float_classes: how many distinct classes the float model predicts on the images (one: the
            agreement cannot show a disagreement, e.g. on seeded uniform images).
        output_error: RMS of the difference between the integer outputs (dequantized) and the
            float model's, over the RMS of the float model's outputs (0 for equal outputs; a
            measure that does not depend on the predicted classes varying).
        seconds: wall time of the integer datapath (quantization of the inputs included), in s,
            measured after a warm-up run on the first image: one-time costs (loading the Numba
            kernels, about a second, and building the network's tap tables) are excluded.
    """

    count: int
    accuracy: float | None
    float_accuracy: float | None
    agreement: float
    float_classes: int
    output_error: float
    seconds: float


def evaluate(
    network: IntegerNetwork,
    model: nn.Module,
    x: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int = 64,
) -> Evaluation:
    """Classify float images ``x`` (N, *input_shape) with ``network`` and with ``model``.

    The integer network's class is the argmax of its integer outputs (first index on ties), the
    float model's the argmax of its logits. The datapath runs once on the first image before the
    timed runs (see :attr:`Evaluation.seconds`).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, not {batch_size!r}")
    if len(x) == 0:
        raise ConfigError("images must hold at least one image, not 0")
    if labels is not None and (labels.ndim != 1 or len(labels) != len(x)):
        raise ConfigError(f"labels must have shape ({len(x)},), not {labels.shape}")
    integer, real = [], []
    squared_error = squared_float = 0.0
    spec = network.tensor(network.output)
    seconds = 0.0
    was_training = model.training
    model.eval()
    try:
        run(network, quantize_input(network, x[:1]))  # warm-up: one-time loading, not timed
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size]
            begin = time.perf_counter()
            outputs = run(network, quantize_input(network, chunk)).outputs
            seconds += time.perf_counter() - begin
            integer.append(outputs.reshape(len(chunk), -1).argmax(axis=1))
            with torch.no_grad():
                logits = model(torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32)))
            real.append(logits.reshape(len(chunk), -1).argmax(dim=1).numpy())
            values = logits.double().numpy().reshape(outputs.shape)
            squared_error += float(np.sum((dequantize(spec, outputs) - values) ** 2))
            squared_float += float(np.sum(values**2))
    finally:
        model.train(was_training)
    predicted, reference = np.concatenate(integer), np.concatenate(real)
    return Evaluation(
        count=len(x),
        accuracy=None if labels is None else float(np.mean(predicted == labels)),
        float_accuracy=None if labels is None else float(np.mean(reference == labels)),
        agreement=float(np.mean(predicted == reference)),
        float_classes=len(np.unique(reference)),
        output_error=math.sqrt(squared_error / squared_float) if squared_float else (math.inf if squared_error else 0.0),
        seconds=seconds,
    )
