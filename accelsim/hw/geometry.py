"""Geometry of the three on-chip double buffers: banks, word width, depth, capacity, BRAM36.

One definition shared by the timing contract (what fits a half), the SimPy model (half
capacities) and the resource model (BRAM36 blocks); ``docs/microarchitecture.md`` section 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import HwConfig
from .intmath import bits_for, ceil_div

#: BRAM36 aspect ratios (width bits, depth words) of the 7-series / UltraScale+ block RAM.
BRAM36_SHAPES: tuple[tuple[int, int], ...] = (
    (1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024), (72, 512),
)


def bram36_blocks(width: int, depth: int) -> int:
    """BRAM36 blocks for one memory of ``width`` bits x ``depth`` words (best aspect ratio)."""
    if width <= 0 or depth <= 0:
        return 0
    return min(ceil_div(width, w) * ceil_div(depth, d) for w, d in BRAM36_SHAPES)


@dataclass(frozen=True)
class BufferGeometry:
    """One double buffer: ``banks`` memories of ``width``-bit words, ``depth`` words per half each.

    Each bank is a simple dual-port memory (one write port for its loader, one read port for its
    reader) of ``2 * depth`` words; the top address bit selects the half.
    """

    name: str
    banks: int
    width: int
    depth: int

    @property
    def half_bits(self) -> int:
        """Capacity of one half in bits."""
        return self.banks * self.width * self.depth

    @property
    def word_bits(self) -> int:
        """Bits of one word across all banks."""
        return self.banks * self.width

    @property
    def bram36(self) -> int:
        """BRAM36 blocks of both halves."""
        return self.banks * bram36_blocks(self.width, 2 * self.depth)


def unit_weight_word_bits(config: HwConfig) -> int:
    """Bits one unit reads from the weight buffer per step: its taps, plus a row index for KRP."""
    pe = config.pe
    index = bits_for(pe.kernel_max) if pe.kind.is_row_unit else 0
    return pe.taps * config.weight_bits + index


def input_buffer(config: HwConfig) -> BufferGeometry:
    """``tm * k * k`` banks of one activation each (any k x k window of tm channels in one cycle)."""
    pe = config.pe
    return BufferGeometry("input", pe.tm * pe.kernel_max * pe.kernel_max, config.act_bits, config.buffers.input_depth)


def weight_buffer(config: HwConfig) -> BufferGeometry:
    """One memory whose word holds every unit's weights of one step."""
    return BufferGeometry("weight", 1, config.pe.units * unit_weight_word_bits(config), config.buffers.weight_depth)


def output_buffer(config: HwConfig) -> BufferGeometry:
    """One memory whose word is one output pixel of ``tn`` channels."""
    return BufferGeometry("output", 1, config.pe.tn * config.act_bits, config.buffers.output_depth)
