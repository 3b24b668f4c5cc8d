"""Samplers: the configurations (field values) a sweep visits.

- ``grid``: every combination of the parameters' values (a range contributes ``low, low+step,
  ... <= high``), in spec order with the last parameter varying fastest.
- ``random``: ``samples`` independent draws, each parameter uniform (log-uniform with ``log``)
  over its range, or uniform over its list.
- ``lhs``: a Latin hypercube of ``samples`` points: each parameter's ``[0, 1)`` is cut into
  ``samples`` strata, each stratum used once, with a random permutation per parameter.

Both random samplers are seeded (``numpy.random.default_rng(seed)``), so the same spec always
yields the same points: a resumed sweep recognizes the ones it has finished. Integer fields and
lists quantize the draws, so two draws can coincide; duplicates are dropped (first kept).
"""

from __future__ import annotations

import itertools

import numpy as np

from .parameters import Parameter
from .spec import Sampler, SweepSpec

#: One sampled configuration: field name -> value, in parameter order.
Values = tuple[tuple[str, object], ...]


def grid(parameters: tuple[Parameter, ...]) -> list[Values]:
    """Every combination of the parameters' grid values."""
    names = [parameter.name for parameter in parameters]
    axes = [parameter.grid_values() for parameter in parameters]
    return [tuple(zip(names, combination)) for combination in itertools.product(*axes)]


def _at(parameters: tuple[Parameter, ...], fractions: np.ndarray) -> list[Values]:
    """Map rows of fractions in ``[0, 1)`` (one column per parameter) to values."""
    return [tuple((p.name, p.at(float(f))) for p, f in zip(parameters, row)) for row in fractions]


def random(parameters: tuple[Parameter, ...], samples: int, seed: int) -> list[Values]:
    """``samples`` independent uniform draws."""
    rng = np.random.default_rng(seed)
    return _at(parameters, rng.random((samples, len(parameters))))


def latin_hypercube(parameters: tuple[Parameter, ...], samples: int, seed: int) -> list[Values]:
    """A Latin hypercube of ``samples`` points: each parameter's strata each used once."""
    rng = np.random.default_rng(seed)
    strata = np.stack([rng.permutation(samples) for _ in parameters], axis=1) if parameters else np.zeros((samples, 0))
    return _at(parameters, (strata + rng.random(strata.shape)) / samples)


def _unique(points: list[Values]) -> list[Values]:
    return list(dict.fromkeys(points))


def sample(spec: SweepSpec) -> list[Values]:
    """The distinct configurations of ``spec``, in sampling order."""
    if spec.sampler is Sampler.GRID:
        return _unique(grid(spec.parameters))
    if spec.sampler is Sampler.RANDOM:
        return _unique(random(spec.parameters, spec.samples, spec.seed))
    return _unique(latin_hypercube(spec.parameters, spec.samples, spec.seed))
