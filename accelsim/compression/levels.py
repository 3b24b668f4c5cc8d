"""The weight levels of one quantized layer and the b-bit codes that name them: GSNQ and uniform.

A GSNQ layer with ``bits`` = b has ``2**b`` codes: code 0 is the weight 0, and the ``2**b - 1``
other codes name powers of two, split between the two signs ("sign-based" ranges). The positive
levels are ``2**top, 2**(top-1), ..., 2**(top-count+1)`` for that sign's ``top`` and ``count``;
the negative levels likewise with their own ``top`` and ``count``.

Code layout (what the network file stores and the hardware decodes):

* ``0``: the weight 0;
* ``1 .. P``: ``+2**(positive.top - (code - 1))``, largest first;
* ``P+1 .. P+N``: ``-2**(negative.top - (code - P - 1))``, largest magnitude first;

where ``P`` and ``N`` are the level counts of the two signs (0 for a sign without levels). Codes
above ``P + N`` are unused.

A uniform layer (:class:`UniformLevels`) with ``bits`` = b has the levels ``q * step`` for the
integers ``|q| <= 2**(b-1) - 1``: a symmetric grid with 0 on it. Its code is ``q`` in b-bit two's
complement (``q mod 2**b``); the code ``2**(b-1)`` (the value ``-2**(b-1)``) is unused, so the grid
stays symmetric. ``step`` has at most :data:`STEP_SIGNIFICANT_BITS` significant bits, so every
level ``q * step`` is exact in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..integer.graph import WeightFormat
from .checks import enum_option
from .defaults import MAX_BITS, MIN_BITS

#: Exponent of the smallest normal float32; no level is smaller, so every level is an exact,
#: normal float32 (a wider range would only add levels below 1e-38, useless for CNN weights).
MIN_EXPONENT = -126
#: Exponent of the largest float32 power of two.
MAX_EXPONENT = 127
#: Significant bits of a uniform step: a code has at most ``MAX_BITS - 1`` = 7 magnitude bits, and
#: 17 + 7 = 24 bits fit a float32 mantissa, so ``q * step`` is exact in float32.
STEP_SIGNIFICANT_BITS = 24 - (MAX_BITS - 1)


@dataclass(frozen=True)
class SignLevels:
    """The power-of-two levels of one sign: ``2**top`` down to ``2**bottom``.

    Attributes:
        top: exponent of the largest level (INQ's n1 for this sign).
        count: number of levels, >= 1.
    """

    top: int
    count: int

    def __post_init__(self) -> None:
        """Check the range fits float32 normals."""
        if self.count < 1 or self.bottom < MIN_EXPONENT or self.top > MAX_EXPONENT:
            raise ValueError(f"levels 2**{self.top} .. 2**{self.bottom} are not a float32 power-of-two range")

    @property
    def bottom(self) -> int:
        """Exponent of the smallest level (INQ's n2 for this sign)."""
        return self.top - self.count + 1

    def to_dict(self) -> dict[str, int]:
        """``{"top": ..., "bottom": ..., "count": ...}`` for reports and the network file."""
        return {"top": self.top, "bottom": self.bottom, "count": self.count}


@dataclass(frozen=True)
class GsnqLevels:
    """The level set of one GSNQ layer.

    Attributes:
        bits: code width b in bits, 2..8.
        positive: levels of positive weights, or None if this sign has none.
        negative: levels of negative weights (magnitudes), or None.
    """

    bits: int
    positive: SignLevels | None
    negative: SignLevels | None

    def __post_init__(self) -> None:
        """Check the levels fit the codes."""
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise ValueError(f"bits must be from {MIN_BITS} to {MAX_BITS}, not {self.bits}")
        if 1 + self.positive_count + self.negative_count > 2**self.bits:
            raise ValueError(f"{self.positive_count} + {self.negative_count} levels do not fit {self.bits}-bit codes")

    @property
    def format(self) -> WeightFormat:
        """The weight format, :attr:`WeightFormat.GSNQ`."""
        return WeightFormat.GSNQ

    @property
    def positive_count(self) -> int:
        """Number of positive levels (P)."""
        return 0 if self.positive is None else self.positive.count

    @property
    def negative_count(self) -> int:
        """Number of negative levels (N)."""
        return 0 if self.negative is None else self.negative.count

    def code_values(self) -> torch.Tensor:
        """float32 tensor of length ``1 + P + N``: the weight value each code stands for."""
        values = [0.0]
        if self.positive is not None:
            values += [2.0**e for e in range(self.positive.top, self.positive.bottom - 1, -1)]
        if self.negative is not None:
            values += [-(2.0**e) for e in range(self.negative.top, self.negative.bottom - 1, -1)]
        return torch.tensor(values, dtype=torch.float32)

    def decode(self, codes: np.ndarray) -> torch.Tensor:
        """The float32 weights named by integer ``codes`` (any shape).

        Raises:
            ValueError: a code is outside ``0 .. P + N``.
        """
        table = self.code_values()
        codes = np.asarray(codes, dtype=np.int64)
        if codes.size and (codes.min() < 0 or codes.max() >= len(table)):
            raise ValueError(f"codes must be in 0..{len(table) - 1}, not {int(codes.min())}..{int(codes.max())}")
        return table[torch.from_numpy(codes)]

    def encode(self, weights: torch.Tensor) -> np.ndarray:
        """The uint8 code of every weight (any shape).

        Raises:
            ValueError: a weight is not 0 or one of the layer's levels.
        """
        table = self.code_values()
        flat = weights.detach().reshape(-1).to(torch.float32)
        ordered, order = table.sort()
        codes = order[torch.searchsorted(ordered, flat).clamp(max=len(table) - 1)]
        if not torch.equal(table[codes], flat):
            bad = flat[table[codes] != flat][0].item()
            raise ValueError(f"weight {bad!r} is not a level of {self}")
        return codes.numpy().astype(np.uint8).reshape(tuple(weights.shape))

    def to_dict(self) -> dict[str, object]:
        """JSON-able description (format, bits and the exponent range of each sign)."""
        return {
            "format": self.format.value,
            "bits": self.bits,
            "positive": None if self.positive is None else self.positive.to_dict(),
            "negative": None if self.negative is None else self.negative.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> GsnqLevels:
        """Inverse of :meth:`to_dict` (raises KeyError/TypeError/ValueError on malformed input)."""

        def sign(entry: object) -> SignLevels | None:
            if entry is None:
                return None
            if not isinstance(entry, dict):
                raise TypeError(f"sign levels must be a dict or null, not {entry!r}")
            return SignLevels(top=_int(entry["top"]), count=_int(entry["count"]))

        return cls(bits=_int(data["bits"]), positive=sign(data["positive"]), negative=sign(data["negative"]))


@dataclass(frozen=True)
class UniformLevels:
    """The symmetric uniform level set of one layer: ``q * step`` for ``|q| <= max_code``.

    Attributes:
        bits: code width b in bits, 2..8.
        step: the real value of the code 1 (weight units), a positive, normal float32 number with
            at most :data:`STEP_SIGNIFICANT_BITS` significant bits.
    """

    bits: int
    step: float

    def __post_init__(self) -> None:
        """Check the code width and that every level is exact in float32."""
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise ValueError(f"bits must be from {MIN_BITS} to {MAX_BITS}, not {self.bits}")
        if not is_uniform_step(self.step):
            raise ValueError(
                f"step must be a positive normal float32 with at most {STEP_SIGNIFICANT_BITS} "
                f"significant bits, not {self.step!r}"
            )

    @property
    def format(self) -> WeightFormat:
        """The weight format, :attr:`WeightFormat.UNIFORM`."""
        return WeightFormat.UNIFORM

    @property
    def max_code(self) -> int:
        """The largest code magnitude, ``2**(bits-1) - 1``."""
        return (1 << (self.bits - 1)) - 1

    def decode(self, codes: np.ndarray) -> torch.Tensor:
        """The float32 weights ``q * step`` named by b-bit two's-complement ``codes`` (any shape).

        Raises:
            ValueError: a code is outside ``0 .. 2**bits - 1`` or is the unused ``2**(bits-1)``.
        """
        codes = np.asarray(codes, dtype=np.int64)
        unused = 1 << (self.bits - 1)
        if codes.size and (codes.min() < 0 or codes.max() >= 1 << self.bits or (codes == unused).any()):
            raise ValueError(
                f"codes must be in 0..{(1 << self.bits) - 1} except the unused {unused}, "
                f"not {int(codes.min())}..{int(codes.max())}"
            )
        q = np.where(codes >= unused, codes - (1 << self.bits), codes)
        return torch.from_numpy((q * self.step).astype(np.float32))

    def encode(self, weights: torch.Tensor) -> np.ndarray:
        """The uint8 code (``q`` in b-bit two's complement) of every weight (any shape).

        Raises:
            ValueError: a weight is not exactly ``q * step`` with ``|q| <= max_code``.
        """
        w = weights.detach().to(torch.float64).numpy()
        q = np.rint(w / self.step)
        bad = (np.abs(q) > self.max_code) | ((q * self.step).astype(np.float32) != w)
        if bad.any():
            raise ValueError(f"weight {float(w[bad][0])!r} is not a level of {self}")
        return (q.astype(np.int64) % (1 << self.bits)).astype(np.uint8)

    def to_dict(self) -> dict[str, object]:
        """JSON-able description (format, bits and step)."""
        return {"format": self.format.value, "bits": self.bits, "step": self.step}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> UniformLevels:
        """Inverse of :meth:`to_dict` (raises KeyError/TypeError/ValueError on malformed input)."""
        step = data["step"]
        if not isinstance(step, float):
            raise TypeError(f"step must be a float, not {step!r}")
        return cls(bits=_int(data["bits"]), step=step)


#: The levels of a quantized layer, in either format.
WeightLevels = GsnqLevels | UniformLevels


def is_uniform_step(step: object) -> bool:
    """Whether ``step`` is a positive normal float32 with at most 17 significant bits."""
    if not isinstance(step, float) or not math.isfinite(step) or step < 2.0**MIN_EXPONENT:
        return False
    mantissa = math.ldexp(math.frexp(step)[0], STEP_SIGNIFICANT_BITS)
    return mantissa == int(mantissa) and step <= float(np.finfo(np.float32).max)


def levels_from_dict(data: dict[str, object]) -> WeightLevels:
    """The levels :meth:`GsnqLevels.to_dict` or :meth:`UniformLevels.to_dict` wrote.

    A description without ``format`` (written before uniform quantization existed) is GSNQ.

    Raises:
        ConfigError: an unknown format ("weight format must be one of 'gsnq', 'uniform', not 'x'").
        KeyError, TypeError, ValueError: malformed input.
    """
    if not isinstance(data, dict):
        raise TypeError(f"levels must be a dict, not {data!r}")
    kind = enum_option(WeightFormat, data.get("format", WeightFormat.GSNQ.value), "weight format")
    return UniformLevels.from_dict(data) if kind is WeightFormat.UNIFORM else GsnqLevels.from_dict(data)


def _int(value: object) -> int:
    """``value`` if it is an int (not a bool), else TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, not {value!r}")
    return value
