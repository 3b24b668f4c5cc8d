"""The compression pipeline's default settings, importable without torch (command-line help shows them)."""

from __future__ import annotations

#: Default unstructured pruning rate of fully connected layers (the paper does not state its own).
DEFAULT_FC_PRUNE = 0.5
#: INQ's accumulated portions of quantized weights.
DEFAULT_PORTIONS = (0.5, 0.75, 0.875, 1.0)
#: Epochs per retraining phase.
DEFAULT_EPOCHS = 4
#: Most epochs per retraining phase accepted (a guard against a typo that would train for weeks).
MAX_EPOCHS = 1000
#: Bit widths GSNQ and uniform quantization support.
MIN_BITS, MAX_BITS = 2, 8
