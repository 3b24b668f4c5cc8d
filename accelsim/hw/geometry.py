"""Geometry of the data layout and of the three on-chip double buffers.

One definition shared by the timing contract (what a transfer moves, what fits a half), the SimPy
model (half capacities), the RTL (its Verilog parameters) and the resource model (its memories);
``docs/microarchitecture.md`` sections 2 and 4 explain every rule.

- **Channel blocks.** A feature map of ``C`` channels lives in DDR as ``ceil(C / tn)`` blocks of
  ``tn`` channels (the last block padded with zero channels), row-major: for each row, each
  block's pixels, each pixel's ``tn`` channels. A pixel of a block is one word of the output
  buffer, and a map row of every block is one contiguous run of DDR.
- **Input buffer.** The rows of a tile arrive as one contiguous run and are written in arrival
  order, whole beats into words of ``input_word_bytes`` bytes; ``input_copies`` copies of that
  memory (one per window row and channel block a step reads) each deliver one run of
  ``kernel_max`` pixels per cycle.
- **Weight buffer.** One step word (every unit's weight item of one step) per address, written
  as ``step_beats`` whole DDR beats.
- **Output buffer.** ``output_rams`` interleaved memories of one pixel (``tn`` channels) per
  word, so the store DMA reads the pixels of one DDR beat in one cycle (any ``output_rams``
  consecutive pixels lie in distinct memories).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import HwConfig
from .intmath import bits_for, ceil_div

#: Bits of the requantization parameters of one output channel in DDR (16-bit multiplier, 48-bit bias).
REQUANT_PARAM_BITS = 64


def packed_bytes(elements: int, bits: int) -> int:
    """Bytes of ``elements`` values of ``bits`` bits packed densely: ``ceil(elements*bits/8)``."""
    return ceil_div(elements * bits, 8)


def power_of_two_at_least(value: int) -> int:
    """The smallest power of two >= ``value`` (>= 1)."""
    return 1 << bits_for(max(1, value))


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``."""
    return ceil_div(value, multiple) * multiple


# ------------------------------------------------------------------------------ data in DDR


def channel_blocks(channels: int, config: HwConfig) -> int:
    """Blocks of ``tn`` channels that hold ``channels`` channels: ``ceil(C / tn)``."""
    return ceil_div(channels, config.pe.tn)


def row_bytes(channels: int, width: int, config: HwConfig) -> int:
    """DDR bytes of one row of a map (every block): ``packed(ceil(C/tn) * tn * W, a)``."""
    return packed_bytes(channel_blocks(channels, config) * config.pe.tn * width, config.act_bits)


def ddr_elements(shape: tuple[int, ...], config: HwConfig) -> int:
    """Activations a tensor of ``shape`` occupies in DDR, padding channels included.

    A ``(C, H, W)`` map holds ``H * ceil(C/tn)*tn * W``; a vector of ``F`` features is a 1x1 map
    of ``F`` channels.
    """
    if len(shape) == 3:
        channels, height, width = shape
        return height * channel_blocks(channels, config) * config.pe.tn * width
    return channel_blocks(int(shape[0]), config) * config.pe.tn


# ------------------------------------------------------------------------------- weights


def unit_weight_word_bits(config: HwConfig) -> int:
    """Bits of a unit's full weight item: its taps' codes, plus a row index for KRP units."""
    pe = config.pe
    index = bits_for(pe.kernel_max) if pe.kind.is_row_unit else 0
    return pe.taps * config.weight_bits + index


def weight_item_bits(config: HwConfig, kernel: int) -> int:
    """Bits of one unit's weight item in a step word: one code for a 1x1 kernel, else the full item."""
    return config.weight_bits if kernel == 1 else unit_weight_word_bits(config)


def step_beats(config: HwConfig, kernel: int) -> int:
    """DDR beats of one step word (``tn * tm`` items), padded to whole beats."""
    bits = config.pe.units * weight_item_bits(config, kernel)
    return ceil_div(bits, 8 * config.ddr.bytes_per_cycle)


def param_beats(config: HwConfig) -> int:
    """DDR beats of the requantization parameters of one channel group (``tn`` channels)."""
    return ceil_div(config.pe.tn * REQUANT_PARAM_BITS, 8 * config.ddr.bytes_per_cycle)


def weight_row_bytes(config: HwConfig) -> int:
    """Bytes of one weight-buffer word: the widest step word (full items), in whole beats."""
    return step_beats(config, config.pe.kernel_max) * config.ddr.bytes_per_cycle


# ------------------------------------------------------------------------------ input buffer


def input_copies(config: HwConfig) -> int:
    """Copies of the input memory: one per window row and channel block of a step's group."""
    pe = config.pe
    return pe.kernel_max * max(1, pe.tm // pe.tn)


def input_run(config: HwConfig) -> int:
    """Activations one copy reads per cycle: ``kernel_max`` pixels of a block, the last only up to
    the group's channels (``(k-1)*tn + min(tm, tn)``)."""
    pe = config.pe
    return (pe.kernel_max - 1) * pe.tn + min(pe.tm, pe.tn)


def input_word_bytes(config: HwConfig) -> int:
    """Bytes of an input-memory word: a power of two that holds a DDR beat and a copy's run."""
    return max(config.ddr.bytes_per_cycle, power_of_two_at_least(packed_bytes(input_run(config), config.act_bits)))


# ----------------------------------------------------------------------------- output buffer


def output_rams(config: HwConfig) -> int:
    """Interleaved output memories: the pixels one DDR beat carries (at least 1)."""
    return max(1, (8 * config.ddr.bytes_per_cycle) // (config.pe.tn * config.act_bits))


# ------------------------------------------------------------------------------- capacities


@dataclass(frozen=True)
class BufferGeometry:
    """One double buffer's capacity: ``half_bits`` per half."""

    name: str
    half_bits: int


def input_buffer(config: HwConfig) -> BufferGeometry:
    """The input buffer: ``buffers.input_bytes`` per half."""
    return BufferGeometry("input", 8 * config.buffers.input_bytes)


def weight_buffer(config: HwConfig) -> BufferGeometry:
    """The weight buffer: ``buffers.weight_depth`` step words per half."""
    return BufferGeometry("weight", 8 * weight_row_bytes(config) * config.buffers.weight_depth)


def output_buffer(config: HwConfig) -> BufferGeometry:
    """The output buffer: ``buffers.output_depth`` pixels of ``tn`` channels per half."""
    return BufferGeometry("output", config.pe.tn * config.act_bits * config.buffers.output_depth)
