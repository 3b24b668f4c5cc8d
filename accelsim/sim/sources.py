"""Integer networks to simulate: a built-in workload compressed one-shot, or a ``.krp`` file.

The simulator reads only shapes, kept rows, bit widths and non-zero counts, so the activation
scales chosen by the lowering's calibration do not affect any simulated figure; seeded uniform
inputs in [0, 1) serve as calibration.
"""

from __future__ import annotations

import numpy as np

import workloads

from ..compression import CompressionConfig, compress, load_network
from ..errors import ConfigError
from ..integer import IntegerNetwork, lower
from ..integer.graph import WeightFormat

#: Calibration images for the lowering (scales only; no simulated figure depends on them).
CALIBRATION_IMAGES = 4


def _calibration(shape: tuple[int, ...] | None, seed: int, what: str) -> np.ndarray:
    if shape is None:
        raise ConfigError(f"{what} must have a known input shape to be lowered (a built-in workload), not None")
    return np.random.default_rng(seed).uniform(0.0, 1.0, (CALIBRATION_IMAGES, *shape)).astype(np.float32)


def workload_network(
    workload: str,
    *,
    seed: int = 0,
    bits: int = 4,
    act_bits: int = 8,
    weights: WeightFormat = WeightFormat.GSNQ,
) -> IntegerNetwork:
    """Built-in ``workload`` with seeded weights, compressed one-shot, lowered.

    The compression is KRP with ``bits``-bit ``weights`` (GSNQ powers of two for the shift PE
    kinds, uniform codes for the multiplier kinds: :attr:`PeKind.weight_format`).

    Raises:
        WorkloadError: unknown workload. ConfigError: bad bit widths.
    """
    input_shape = workloads.info(workload).input_shape
    model = workloads.build(workload, seed=seed)
    compressed = compress(model, CompressionConfig(bits=bits, weights=weights), workload=workload)
    return lower(compressed, _calibration(input_shape, seed, f"workload {workload!r}"), act_bits=act_bits,
                 name=workload)


def file_network(path: str, *, workload: str | None = None, act_bits: int = 8, seed: int = 0) -> IntegerNetwork:
    """The compressed network in the ``.krp`` file at ``path``, lowered.

    Raises:
        NetworkFileError: a corrupt or unknown file. ConfigError: unknown input shape.
    """
    compressed = load_network(path, workload=workload)
    calibration = _calibration(compressed.input_shape, seed, f"network file {path!r}")
    return lower(compressed, calibration, act_bits=act_bits, name=compressed.workload)
