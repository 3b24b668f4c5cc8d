"""Xilinx primitive counts of a synthesized design, summed into LUT / FF / DSP / BRAM36 / CARRY.

Yosys's ``stat -json`` lists cells by type (``LUT3``, ``FDRE``, ``RAMB18E1``, ...). Vivado's
utilization report, which the KRP paper quotes, counts the same primitives this way:

- LUT: every LUT1..LUT6 (logic), plus the LUTs of distributed RAM and shift registers
  (``RAM64M`` = 4 LUTs, ``SRL16E`` = 1, ...: Vivado's "LUT as Memory"), plus ``INV`` cells
  (each becomes a LUT1);
- FF: the slice registers FDRE/FDSE/FDCE/FDPE (and latches LDCE/LDPE);
- DSP: DSP48E1 (7-series) / DSP48E2 (UltraScale);
- BRAM36: RAMB36 = 1, RAMB18 = 0.5 (Vivado's "Block RAM Tile"), counted here in 18 Kb halves;
- CARRY: CARRY4 (7-series) / CARRY8 (UltraScale) carry-chain blocks;
- MUXF: the slice's MUXF7/MUXF8/MUXF9 (not LUTs, reported apart as Vivado does).

>>> counts = CellCounts.from_cells({"LUT6": 3, "RAM64M": 2, "FDRE": 5, "RAMB18E1": 3, "CARRY4": 1})
>>> counts.lut, counts.ff, counts.bram36, counts.carry
(11, 5, 1.5, 1)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import ToolError

#: LUTs of one cell that occupies LUTs: logic LUTs, distributed RAM, shift registers, inverters.
LUT_CELLS: Mapping[str, int] = MappingProxyType({
    **{f"LUT{n}": 1 for n in range(1, 7)},
    "INV": 1,
    "RAM32X1S": 1, "RAM32X1D": 2, "RAM64X1S": 1, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
    "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8,
    "RAM64M8": 8, "RAM64X8SW": 8, "RAM32X16DR8": 8, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
})
#: The LUT cells that are memory (distributed RAM and shift registers), not logic.
LUT_MEMORY_CELLS = frozenset(name for name in LUT_CELLS if name.startswith(("RAM", "SRL")))
#: Slice registers (flip-flops and latches; the ``_1`` variants have an inverted clock).
FF_CELLS = frozenset(f"{name}{suffix}" for name in ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
                     for suffix in ("", "_1"))
DSP_CELLS = frozenset({"DSP48E1", "DSP48E2"})
#: 18 Kb halves of one block RAM cell.
BRAM18_CELLS: Mapping[str, int] = MappingProxyType({
    "RAMB36E1": 2, "RAMB36E2": 2, "FIFO36E1": 2, "FIFO36E2": 2,
    "RAMB18E1": 1, "RAMB18E2": 1, "FIFO18E1": 1, "FIFO18E2": 1,
})
CARRY_CELLS = frozenset({"CARRY4", "CARRY8"})
MUXF_CELLS = frozenset({"MUXF7", "MUXF8", "MUXF9"})
#: Cells that use no fabric resource counted here (clock and I/O buffers).
IGNORED_CELLS = frozenset({"BUFG", "BUFGCTRL", "BUFG_GT", "IBUF", "OBUF", "IOBUF", "OBUFT", "GND", "VCC"})


@dataclass(frozen=True)
class CellCounts:
    """The cells of a design by type, with the sums Vivado reports.

    Attributes:
        cells: cell type -> count (everything Yosys listed).
    """

    cells: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_cells(cls, cells: Mapping[str, int]) -> CellCounts:
        """Counts from a ``{type: count}`` mapping (sorted, read-only)."""
        return cls(MappingProxyType({str(name): int(count) for name, count in sorted(cells.items())}))

    def _sum(self, weights: Mapping[str, int] | frozenset[str]) -> int:
        if isinstance(weights, frozenset):
            return sum(count for name, count in self.cells.items() if name in weights)
        return sum(count * weights[name] for name, count in self.cells.items() if name in weights)

    @property
    def lut(self) -> int:
        """LUTs: logic + memory (distributed RAM, shift registers), Vivado's "Slice LUTs"."""
        return self._sum(LUT_CELLS)

    @property
    def lut_memory(self) -> int:
        """LUTs used as distributed RAM or shift registers (part of :attr:`lut`)."""
        return sum(count * LUT_CELLS[name] for name, count in self.cells.items() if name in LUT_MEMORY_CELLS)

    @property
    def ff(self) -> int:
        """Slice registers."""
        return self._sum(FF_CELLS)

    @property
    def dsp(self) -> int:
        """DSP48 slices."""
        return self._sum(DSP_CELLS)

    @property
    def bram18(self) -> int:
        """Block RAM in 18 Kb halves (a RAMB36 is 2)."""
        return self._sum(BRAM18_CELLS)

    @property
    def bram36(self) -> float:
        """Block RAM tiles (36 Kb; a RAMB18 is 0.5)."""
        return self.bram18 / 2

    @property
    def carry(self) -> int:
        """Carry-chain blocks (CARRY4 / CARRY8)."""
        return self._sum(CARRY_CELLS)

    @property
    def muxf(self) -> int:
        """MUXF7/MUXF8/MUXF9 slice multiplexers."""
        return self._sum(MUXF_CELLS)

    @property
    def other(self) -> dict[str, int]:
        """Cells counted in none of the sums (and not clock or I/O buffers)."""
        known = set(LUT_CELLS) | FF_CELLS | DSP_CELLS | set(BRAM18_CELLS) | CARRY_CELLS | MUXF_CELLS
        return {name: count for name, count in self.cells.items()
                if name not in known and name not in IGNORED_CELLS}

    def summary(self) -> dict[str, float]:
        """``lut``, ``ff``, ``dsp``, ``bram36``, ``carry``, ``muxf``, ``lut_memory``."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram36": self.bram36,
                "carry": self.carry, "muxf": self.muxf, "lut_memory": self.lut_memory}


def _without_hierarchy_listing(text: str) -> str:
    """``text`` without the lines that are not JSON: Yosys 0.23 prints the text hierarchy listing
    (``<module>  <instances>`` lines, no quotes or brackets) inside a hierarchical design's
    ``stat -json`` output, before its ``design`` entry."""
    return "\n".join(line for line in text.splitlines() if not line.strip() or any(c in line for c in '"{}[]'))


def _stat_modules(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parsed ``stat -json`` output and its ``modules`` entry."""
    try:
        data = json.loads(_without_hierarchy_listing(text))
        modules = data["modules"]
    except (ValueError, KeyError, TypeError) as error:
        raise ToolError(f"yosys stat output must be JSON with a 'modules' entry, not {text[:80]!r}") from error
    if not isinstance(modules, dict):
        raise ToolError(f"yosys stat's 'modules' must be a mapping, not {type(modules).__name__}")
    return data, modules


def base_name(module: str) -> str:
    """A module's name without Yosys's escape and parameter prefix (``$paramod$<hash>\\pe_unit`` -> ``pe_unit``)."""
    return module.rsplit("\\", 1)[-1]


def parse_stat_modules(text: str) -> dict[str, CellCounts]:
    """The cells of every module of a hierarchical design, its sub-modules included, summed over its
    instances, by module name (all parameterizations of a module together).

    For the top module this is the design's count; for ``controller`` it is the controller and its
    tile walkers. Raises:
        ToolError: the text is not ``stat -json`` output.
    """
    _, modules = _stat_modules(text)
    own = {name: dict(entry.get("num_cells_by_type", {})) for name, entry in modules.items()
           if isinstance(entry, dict)}
    subtree: dict[str, Counter[str]] = {}

    def cells_of(name: str) -> Counter[str]:
        if name not in subtree:
            total: Counter[str] = Counter()
            for cell, count in own[name].items():
                if cell in own:
                    for leaf, leaves in cells_of(cell).items():
                        total[leaf] += count * leaves
                else:
                    total[cell] += count
            subtree[name] = total
        return subtree[name]

    instances: Counter[str] = Counter({name: 1 for name in own
                                       if not any(name in cells for cells in own.values())})
    for name in _top_down(own):
        for cell, count in own[name].items():
            if cell in own:
                instances[cell] += instances[name] * count
    result: dict[str, Counter[str]] = {}
    for name, count in instances.items():
        merged = result.setdefault(base_name(name), Counter())
        for cell, cells in cells_of(name).items():
            merged[cell] += count * cells
    return {name: CellCounts.from_cells(cells) for name, cells in result.items()}


def _top_down(own: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The modules of ``own`` ordered so that every module comes before the modules it instantiates."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for parent, cells in own.items():
            if name in cells:
                visit(parent)
        order.append(name)

    for name in own:
        visit(name)
    return order


def parse_stat_json(text: str, top: str) -> CellCounts:
    """The cell counts of ``top`` from the output of Yosys's ``stat -json``.

    A flattened design has one module, ``top``; a hierarchical one also has the ``design`` entry
    (every module's cells times its instances below ``top``), which is preferred when present.

    Raises:
        ToolError: the text is not ``stat -json`` output or lists no module ``top``.
    """
    data, modules = _stat_modules(text)
    entry = data.get("design") or modules.get(f"\\{top}") or modules.get(top)
    if not isinstance(entry, dict) or not isinstance(entry.get("num_cells_by_type", {}), dict):
        names = ", ".join(name.lstrip("\\") for name in modules) or "none"
        raise ToolError(f"yosys stat must list module {top!r}, not only: {names}")
    return CellCounts.from_cells(entry.get("num_cells_by_type", {}))
