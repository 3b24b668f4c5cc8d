"""The deepest register-to-register path of a synthesized netlist, from Yosys's ``sta``, in logic levels.

After synthesis the runner flattens the netlist, reloads Yosys's Xilinx cell library with its
``specify`` timing (``read_verilog -lib -specify +/xilinx/cells_sim.v``: every LUT, MUXF7/8,
CARRY4, flip-flop, LUT RAM, block RAM and DSP48 arc, in picoseconds, each line citing the Project
X-Ray Artix-7 timing database it comes from) and runs ``sta``, which reports the path with the
latest arrival: a register's (or block RAM's, DSP48's, input port's) clock-to-out, then every
cell's input-to-output delay, up to a register's setup (or an output port). :func:`parse_sta`
reads that path; :class:`CriticalPath` counts its logic levels.

The rule from levels to a clock (``docs/resources.md``, section 6): the cells' delays as ``sta``
sums them, plus :data:`NET_DELAY_PS` for every net of the path that goes through the general
routing. 300 ps is the wire delay Yosys itself assumes between two xc7 cells (``XC7_WIRE_DELAY``
in ``synth_xilinx.cc`` and ``abc9.cc``, the ``-W`` of its ABC9 mapping); the dedicated
connections inside a slice (a LUT into its MUXF7 or its carry chain's select input, a MUXF7 into
its MUXF8, a CARRY4 into the next one's carry input, a DSP48 into the next one's cascade input)
add none. Both are Artix-7 figures: the XC7Z035's fabric (Kintex-7 class) is
faster, so the estimate is conservative.

>>> path = parse_sta(EXAMPLE_STA)
>>> path.levels, path.lut_levels, path.carry4, path.routed_nets
(4, 2, 1, 4)
>>> round(path.estimated_ns, 3), round(path.fmax_mhz)
(3.2, 312)
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ToolError

#: Routing delay of one net between two cells (ps): Yosys's xc7 wire delay (``XC7_WIRE_DELAY``).
NET_DELAY_PS = 300
#: Cells that are one LUT level (an ``INV`` becomes a LUT1).
LUT_TYPES = frozenset({f"LUT{n}" for n in range(1, 7)} | {"INV"})
MUXF_TYPES = frozenset({"MUXF7", "MUXF8"})
CARRY_TYPES = frozenset({"CARRY4", "CARRY8"})
DSP_TYPES = frozenset({"DSP48E1", "DSP48E2"})
#: (driver type, driven type) connections that use a slice's dedicated wires, not the routing.
DEDICATED = frozenset({("MUXF7", "MUXF8"), ("CARRY4", "CARRY4"), ("CARRY8", "CARRY8"), ("DSP48E1", "DSP48E1"),
                       ("DSP48E2", "DSP48E2")}
                      | {(lut, cell) for lut in LUT_TYPES for cell in ("MUXF7", "CARRY4", "CARRY8")})

_ARRIVAL = re.compile(r"^Latest arrival time in '(?P<module>[^']*)' is (?P<ps>-?\d+):$", re.MULTILINE)
_ENDPOINT = re.compile(r"^\s+(?P<ps>-?\d+) \S.* \((?P<type>[\w$\\]+)\.(?P<port>\w+)\)$")
_OUTPUT = re.compile(r"^\s+(?P<ps>-?\d+) \(<(?P<what>primary output|unknown)>\)$")
_ARC = re.compile(r"^\s+(?P<ps>-?\d+) \S.* \((?P<type>[\w$\\]+)\.(?P<src>\w+)->(?P<dst>\w+)\)$")
#: Clock pins: an arc from one is a sequential cell's clock-to-out (the path's start).
_CLOCK_PORT = re.compile(r"^(C|CLK\w*|WCLK)$")

#: A short ``sta`` report (a register, a LUT into a MUXF7, a CARRY4, a LUT, a register).
EXAMPLE_STA = """
Latest arrival time in 'top' is 2000:
    2000 $ff2 (FDRE.D)
           \\y [0]
    2000 $lut2 (LUT6.I0->O)
           $s [1]
    1300 $carry (CARRY4.S->O)
           $m [1]
     900 $mux (MUXF7.I1->O)
           $l [1]
     700 $lut1 (LUT6.I2->O)
           \\q [3]
     303 $ff1 (FDRE.C->Q)
       0   \\clk (<primary input>)
"""


@dataclass(frozen=True)
class CriticalPath:
    """The path ``sta`` found with the latest arrival, from its start to its end.

    Attributes:
        arrival_ps: the sum of its cells' delays (ps): clock-to-out, every cell, and the setup
            time of its end point.
        start: the cell type the path starts from (``FDRE``, ``RAMB36E1``, ...; ``input`` for a
            primary input).
        end: the cell type and port it ends at (``FDRE.D``; ``output`` for a primary output,
            ``unknown`` for a net no timed cell takes, e.g. the input of a black box).
        cells: the combinational cells along it, in order (``LUT6``, ``MUXF7``, ``CARRY4``, ...).
        nets: the named nets along it, in order (the RTL's signals, with their instance path:
            where the path runs).
    """

    arrival_ps: int
    start: str
    end: str
    cells: tuple[str, ...]
    nets: tuple[str, ...] = ()

    @property
    def lut_levels(self) -> int:
        """LUTs on the path."""
        return sum(cell in LUT_TYPES for cell in self.cells)

    @property
    def muxf(self) -> int:
        """MUXF7/MUXF8 slice multiplexers on the path."""
        return sum(cell in MUXF_TYPES for cell in self.cells)

    @property
    def carry4(self) -> int:
        """Carry-chain blocks on the path (a chain of n CARRY4 counts n)."""
        return sum(cell in CARRY_TYPES for cell in self.cells)

    @property
    def dsp(self) -> int:
        """DSP48 slices the path runs through (a post-adder cascade: PCIN to PCOUT)."""
        return sum(cell in DSP_TYPES for cell in self.cells)

    @property
    def levels(self) -> int:
        """Logic levels as Vivado counts them: every cell of the path (LUT, MUXF, CARRY4, DSP48)."""
        return len(self.cells)

    @property
    def routed_nets(self) -> int:
        """Nets of the path through the general routing: every connection from its start to its
        end but the slices' dedicated ones (:data:`DEDICATED`)."""
        chain = (self.start, *self.cells, self.end.split(".")[0])
        return sum((driver, driven) not in DEDICATED for driver, driven in itertools.pairwise(chain))

    @property
    def estimated_ns(self) -> float:
        """The path's delay with routing: ``arrival_ps + NET_DELAY_PS * routed_nets``, in ns."""
        return (self.arrival_ps + NET_DELAY_PS * self.routed_nets) / 1000

    @property
    def fmax_mhz(self) -> float:
        """The clock this path allows, MHz (``1000 / estimated_ns``)."""
        return 1000 / self.estimated_ns if self.estimated_ns > 0 else float("inf")

    def describe(self) -> str:
        """``"<levels> levels (<n> LUT, <m> MUXF, <k> CARRY4[, <d> DSP48]), <start> -> <end>, ~<ns> ns (~<MHz> MHz)"``."""
        dsp = f", {self.dsp} DSP48" if self.dsp else ""
        return (f"{self.levels} levels ({self.lut_levels} LUT, {self.muxf} MUXF, {self.carry4} CARRY4{dsp}), "
                f"{self.start} -> {self.end}, ~{self.estimated_ns:.2f} ns (~{self.fmax_mhz:.0f} MHz)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the path and its counts, the estimated delay and clock."""
        return {"arrival_ps": self.arrival_ps, "start": self.start, "end": self.end, "cells": list(self.cells),
                "nets": list(self.nets),
                "levels": self.levels, "lut_levels": self.lut_levels, "muxf": self.muxf, "carry4": self.carry4,
                "dsp": self.dsp,
                "routed_nets": self.routed_nets, "net_delay_ps": NET_DELAY_PS,
                "estimated_ns": self.estimated_ns, "fmax_mhz": self.fmax_mhz}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriticalPath:
        """The path of :meth:`to_dict` (the cache keeps it so)."""
        return cls(int(data["arrival_ps"]), str(data["start"]), str(data["end"]),
                   tuple(str(cell) for cell in data["cells"]), tuple(str(net) for net in data.get("nets", ())))


def parse_sta(text: str) -> CriticalPath | None:
    """The critical path of Yosys ``sta`` output (the latest of its reports: one per module of a
    netlist that is not flat); ``None`` if it found no timing path.

    ``sta`` lists the path from its end: the end point, then each cell's arc with the net that
    feeds it, down to the start cell's clock-to-out arc (and the clock input) or a primary input.

    Raises:
        ToolError: the report names an arrival but its path cannot be read.
    """
    reports = list(_ARRIVAL.finditer(text))  # one per module of a netlist that is not flat
    if not reports:
        return None
    found = max(reports, key=lambda report: int(report["ps"]))
    rows = [line for line in text[found.end():].splitlines()[1:] if line.strip()]
    end, arcs, nets = "", [], []
    for index, line in enumerate(rows):
        endpoint, output, arc = _ENDPOINT.match(line), _OUTPUT.match(line), _ARC.match(line)
        if index == 0 and (endpoint or output):
            end = f"{_cell_type(endpoint['type'])}.{endpoint['port']}" if endpoint else output["what"].split()[-1]
        elif arc:
            arcs.append((_cell_type(arc["type"]), arc["src"]))
        elif line.lstrip().startswith(("Suppressed Warning", "Warning")):
            continue  # sta's note that the path ends at no timed input
        elif line.startswith(" " * 11):
            if line.strip().startswith("\\"):
                nets.append(line.strip().lstrip("\\"))
        else:
            break  # the start (a primary input), or the histogram after the path
    if not end or not arcs:
        raise ToolError(f"yosys sta must report a path after its arrival time, not {text[found.end():][:120]!r}")
    arcs.reverse()
    start = "input"
    if _CLOCK_PORT.match(arcs[0][1]):
        start = arcs.pop(0)[0]
    return CriticalPath(int(found["ps"]), start, end, tuple(cell for cell, _ in arcs), tuple(reversed(nets)))


def _cell_type(name: str) -> str:
    """A cell type without Yosys's escape (``\\FDRE`` -> ``FDRE``)."""
    return name.lstrip("\\")
