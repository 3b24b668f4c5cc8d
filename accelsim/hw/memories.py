"""How a synthesis tool builds an on-chip memory: block RAM, distributed (LUT) RAM or flip-flops.

The RTL's buffers are simple dual-port memories (``accelsim/rtl/verilog/sdp_ram.v``: one write
port with one enable per item, one registered read port). Which primitives one of them becomes
decides the BRAM36 count exactly, so this module reproduces the choice Yosys's
``memory_libmap`` makes for 7-series parts (``synth_xilinx -family xc7``, Yosys 0.23; libraries
``lutrams_xc5v.txt`` and ``brams_xc4v.txt`` with ``HAS_SIZE_36 HAS_CASCADE HAS_CONFLICT_BUG
HAS_MIXWIDTH_SDP``): every candidate (RAM kind, mode, base width) gets Yosys's cost

    (cost - widthscale) * cells + widthscale * blocks * width / unit_width
      + 0.5 * read-mux score + 0.5 * write-demux score + 2 * emulation score

where ``blocks = ceil(depth / unit_depth)`` address blocks, ``cells = ceil(blocks * padded_width
/ unit_width)`` and the word is padded so that each write-enable group (item) starts on a
9-bit "byte" of block RAM; the cheapest candidate wins, and flip-flops (one cost unit per bit)
when nothing is cheaper. ``validation/resources_vs_synthesis.py`` checks the choice against Yosys.

>>> map_memory(Memory(width=8, depth=4096)).bram18        # one RAMB36 in 4K x 9 mode
2
>>> map_memory(Memory(width=8, depth=256)).primitive       # shallow: LUT RAM (RAM64M)
'lutram'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..errors import ConfigError
from .intmath import bits_for, ceil_div

#: Yosys's weights of the read multiplexer, write demultiplexer and emulation scores.
FACTOR_MUX, FACTOR_DEMUX, FACTOR_EMU = 0.5, 0.5, 2
#: Emulation score of a memory whose read port is not shared with its write port (a tie-breaker).
EMULATION_SCORE = 1
#: LUTs of one distributed-RAM cell (RAM32M, RAM64M, RAM128X1D, 2 x RAM64X1D: one slice's 4 LUTs).
LUTRAM_CELL_LUTS = 4


@dataclass(frozen=True)
class Memory:
    """A simple dual-port memory of ``depth`` words of ``width`` bits.

    Attributes:
        width: bits per word.
        depth: words.
        items: write-enable groups per word (equal widths; 1 = one enable for the whole word).
    """

    width: int
    depth: int
    items: int = 1

    def __post_init__(self) -> None:
        if self.width < 1 or self.depth < 1 or self.items < 1 or self.width % self.items:
            raise ConfigError(
                f"a memory must have a positive width, depth and item count, the width a multiple of the "
                f"item count, not width {self.width}, depth {self.depth}, items {self.items}"
            )

    @property
    def item_bits(self) -> int:
        """Bits per write-enable group."""
        return self.width // self.items

    @property
    def bits(self) -> int:
        """Capacity in bits."""
        return self.width * self.depth


@dataclass(frozen=True)
class RamKind:
    """One mode of one RAM primitive of the library (one ``option`` of ``memory_libmap``).

    Attributes:
        name: ``<library cell>:<mode>``.
        primitive: ``"lutram"`` or ``"bram"``.
        abits: address bits at the narrowest width.
        widths: the data widths (``dbits``), narrowest first; the depth at ``widths[i]`` is
            ``2 ** (abits - i)``.
        cost: cost of one cell.
        widthscale: part of the cost that scales with the bits used (0: none).
        byte: write-enable granularity in bits (0: the whole word).
        bram18: 18 Kb block-RAM halves of one cell (0 for LUT RAM).
    """

    name: str
    primitive: str
    abits: int
    widths: tuple[int, ...]
    cost: int
    widthscale: int = 0
    byte: int = 0
    bram18: int = 0


#: The candidates of ``synth_xilinx -family xc7`` for a memory with one write and one read port, in
#: library order (ties go to the first). The single-port LUT RAM needs one shared address: excluded.
XC7_RAMS: tuple[RamKind, ...] = (
    RamKind("LUTRAM_DP:ABITS5", "lutram", 5, (4,), 8, 8),
    RamKind("LUTRAM_DP:ABITS6", "lutram", 6, (2,), 8, 8),
    RamKind("LUTRAM_DP:ABITS7", "lutram", 7, (1,), 8, 8),
    RamKind("LUTRAM_QP:ABITS5", "lutram", 5, (2,), 7, 7),
    RamKind("LUTRAM_QP:ABITS6", "lutram", 6, (1,), 7, 7),
    RamKind("LUTRAM_SDP:ABITS5", "lutram", 5, (6,), 8, 7),
    RamKind("LUTRAM_SDP:ABITS6", "lutram", 6, (3,), 8, 7),
    RamKind("BLOCKRAM_TDP:HALF", "bram", 14, (1, 2, 4, 9, 18), 129, 0, 9, 1),
    RamKind("BLOCKRAM_TDP:FULL", "bram", 15, (1, 2, 4, 9, 18, 36), 257, 0, 9, 2),
    RamKind("BLOCKRAM_TDP:CASCADE", "bram", 16, (1, 2, 4, 9), 513, 0, 9, 4),
    RamKind("BLOCKRAM_SDP:HALF", "bram", 14, (1, 2, 4, 9, 18, 36), 129, 0, 9, 1),
    RamKind("BLOCKRAM_SDP:FULL", "bram", 15, (1, 2, 4, 9, 18, 36, 72), 257, 0, 9, 2),
)


@dataclass(frozen=True)
class MemoryMapping:
    """The primitives one memory becomes.

    Attributes:
        memory: the memory.
        primitive: ``"bram"``, ``"lutram"`` or ``"logic"`` (flip-flops).
        ram: the chosen RAM kind (None for logic).
        unit_width: data bits of one cell.
        blocks: address blocks (cells stacked in depth, selected by a read multiplexer).
        cells: RAM cells.
        cost: Yosys's cost of the choice.
    """

    memory: Memory
    primitive: str
    ram: RamKind | None
    unit_width: int
    blocks: int
    cells: int
    cost: float

    @property
    def bram18(self) -> int:
        """18 Kb block-RAM halves."""
        return self.cells * self.ram.bram18 if self.ram else 0

    @property
    def lut(self) -> int:
        """LUTs: distributed-RAM cells, the read multiplexer over the address blocks, write decoding."""
        memory = self.memory
        if self.primitive == "logic":
            # a read multiplexer per bit over all words, a write decoder per word and item
            return memory.width * ceil_div(memory.depth - 1, 3) + memory.depth * memory.items // 2
        cells = self.cells * LUTRAM_CELL_LUTS if self.primitive == "lutram" else 0
        mux = memory.width * ceil_div(self.blocks - 1, 3) if self.blocks > 1 else 0
        demux = self.blocks * memory.items if self.blocks > 1 else 0
        return cells + mux + demux

    @property
    def ff(self) -> int:
        """Flip-flops: the words themselves (logic), the read-data register (LUT RAM is read
        asynchronously), the registered block select of the read multiplexer."""
        memory = self.memory
        if self.primitive == "logic":
            return memory.bits + memory.width
        data = memory.width if self.primitive == "lutram" else 0
        return data + bits_for(self.blocks)


def _padded_width(memory: Memory, byte: int) -> int:
    """Word bits once every item starts on a ``byte`` boundary (Yosys's swizzle)."""
    return memory.items * ceil_div(memory.item_bits, byte) * byte


def _candidate(memory: Memory, ram: RamKind) -> MemoryMapping:
    """The cheapest base width of ``ram`` for ``memory``."""
    best: MemoryMapping | None = None
    for index, unit_width in enumerate(ram.widths):
        byte = ram.byte if 0 < ram.byte <= unit_width else unit_width
        blocks = ceil_div(memory.depth, 1 << (ram.abits - index))
        cells = ceil_div(blocks * _padded_width(memory, byte), unit_width)
        mux = (blocks - 1) * memory.width
        demux = blocks * memory.items if blocks != 1 else 0
        cost = ((ram.cost - ram.widthscale) * cells + ram.widthscale * blocks * memory.width / unit_width
                + FACTOR_MUX * mux + FACTOR_DEMUX * demux + FACTOR_EMU * EMULATION_SCORE)
        if best is None or cost < best.cost:
            best = MemoryMapping(memory, ram.primitive, ram, unit_width, blocks, cells, cost)
    assert best is not None
    return best


@functools.lru_cache(maxsize=4096)
def map_memory(memory: Memory) -> MemoryMapping:
    """The primitives Yosys (``synth_xilinx -family xc7``) builds ``memory`` from."""
    chosen = MemoryMapping(memory, "logic", None, memory.width, 1, 0, float(memory.bits))
    for ram in XC7_RAMS:
        candidate = _candidate(memory, ram)
        if candidate.cost < chosen.cost:
            chosen = candidate
    return chosen
