"""Integer networks to simulate: a built-in workload compressed one-shot, or a ``.krp`` file.

The simulator reads only shapes, kept rows, bit widths and non-zero counts, so the activation
scales chosen by the lowering's calibration do not affect any simulated figure; seeded uniform
inputs in [0, 1) serve as calibration. Both sources are kept in the network cache
(:mod:`accelsim.sim.netcache`) unless ``cache=False``; torch is imported only to build a network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import workloads

from ..compression.checks import enum_option
from ..errors import ConfigError, NetworkFileError
from ..inputs import input_file
from ..integer.graph import IntegerNetwork, WeightFormat
from ..synth.cache import file_digest
from .netcache import cached_network

#: Calibration images for the lowering (scales only; no simulated figure depends on them).
CALIBRATION_IMAGES = 4


def _calibration(shape: tuple[int, ...] | None, seed: int, what: str) -> np.ndarray:
    if shape is None:
        raise ConfigError(
            f"{what} must record its input shape to be lowered, not None (a file written before accelsim recorded "
            "input shapes): compress the model again with accelsim compress --input-shape C,H,W"
        )
    return np.random.default_rng(seed).uniform(0.0, 1.0, (CALIBRATION_IMAGES, *shape)).astype(np.float32)


def calibration_key(seed: int) -> dict[str, Any]:
    """The calibration set of :func:`_calibration`, as part of a cache key."""
    return {"images": CALIBRATION_IMAGES, "values": "float32 uniform in [0, 1), numpy default_rng", "seed": seed}


def workload_network(
    workload: str,
    *,
    seed: int = 0,
    bits: int = 4,
    act_bits: int = 8,
    weights: WeightFormat | str = WeightFormat.GSNQ,
    cache: bool = True,
    input_shape: tuple[int, int, int] | None = None,
) -> IntegerNetwork:
    """Built-in ``workload`` with seeded weights, compressed one-shot, lowered, at its own input
    shape or at ``input_shape`` (C, H, W) when given (a 64x64 network at 224x224, say).

    The compression is KRP with ``bits``-bit ``weights`` (GSNQ powers of two for the shift PE
    kinds, uniform codes for the multiplier kinds: :attr:`PeKind.weight_format`).

    Read from the network cache when it holds it (``cache``), else built and stored there.

    Raises:
        WorkloadError: unknown workload. ConfigError: bad bit widths, or an input shape the model
        does not take.
    """
    shape = tuple(input_shape) if input_shape is not None else tuple(workloads.info(workload).input_shape)
    weights = enum_option(WeightFormat, weights, "weights")

    def build() -> IntegerNetwork:
        from ..compression import CompressionConfig, compress
        from ..integer.lower import lower

        # The model is a temporary: compress drops it once pruned, so its dense weights are not kept.
        compressed = compress(workloads.build(workload, seed=seed), CompressionConfig(bits=bits, weights=weights),
                              workload=workload, input_shape=shape)
        return lower(compressed, _calibration(shape, seed, f"workload {workload!r}"), act_bits=act_bits,
                     name=workload)

    source = {"workload": workload, "seed": seed,
              "compression": {"method": "one-shot KRP", "weights": weights.value, "bits": bits},
              "act_bits": act_bits, "input_shape": list(shape), "calibration": calibration_key(seed)}
    return cached_network(source, build, cache=cache)


def file_network(
    path: str, *, workload: str | None = None, act_bits: int = 8, seed: int = 0, cache: bool = True
) -> IntegerNetwork:
    """The compressed network in the ``.krp`` file at ``path``, lowered (cached by the file's content).

    Raises:
        NetworkFileError: ``path`` is not an existing regular file (checked before it is read: a
            pipe would never end), or a corrupt or unknown file. ConfigError: unknown input shape.
    """
    file = input_file(path, "network file", NetworkFileError)

    def build() -> IntegerNetwork:
        from ..compression import load_network
        from ..integer.lower import lower

        compressed = load_network(path, workload=workload)
        calibration = _calibration(compressed.input_shape, seed, f"network file {path!r}")
        return lower(compressed, calibration, act_bits=act_bits, name=compressed.workload)

    try:
        digest = file_digest(file)
    except OSError:
        return build()  # the file's own error, from load_network
    source = {"network_file": digest, "workload": workload, "act_bits": act_bits, "calibration": calibration_key(seed)}
    return cached_network(source, build, cache=cache)
