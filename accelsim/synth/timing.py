"""The deepest register-to-register path of a synthesized netlist, from Yosys's ``sta``, in logic levels.

After synthesis the runner flattens the netlist, reloads Yosys's Xilinx cell library with its
``specify`` timing (``+/xilinx/cells_sim.v``: every LUT, MUXF7/8, CARRY4, flip-flop, LUT RAM, block
RAM and DSP48 arc, in picoseconds, each line citing the Project X-Ray Artix-7 timing database it
comes from), with the routing added to it (:func:`routed_library`), and runs ``sta``, which
reports the path with the latest arrival: a register's (or block RAM's, DSP48's, input port's)
clock-to-out, then every cell's input-to-output delay, up to a register's setup (or an output
port). :func:`parse_sta` reads that path; :class:`CriticalPath` counts its logic levels.

The rule from levels to a clock (``docs/resources.md``, section 6): the cells' delays plus
:data:`NET_DELAY_PS` for every cell input the path enters through the general routing. 300 ps is
the wire delay Yosys itself assumes between two xc7 cells (``XC7_WIRE_DELAY`` in
``synth_xilinx.cc`` and ``abc9.cc``, the ``-W`` of its ABC9 mapping). Every input is routed but
the slices' dedicated ones (:data:`DEDICATED_INPUTS`: a MUXF7/8's data inputs from its LUTs, a
CARRY4's carry input and its select and data inputs from its LUTs, a DSP48's cascade inputs).
The routing is in the library, not added afterwards, so that ``sta`` picks the path by it: a path
of many short LUT levels, each behind a net, can outlast one of few slow cells. Both are
Artix-7 figures: the XC7Z035's fabric (Kintex-7 class) is faster, so the estimate is conservative.

>>> path = parse_sta(EXAMPLE_STA)
>>> path.levels, path.lut_levels, path.carry4, path.routed_nets
(4, 2, 1, 3)
>>> round(path.estimated_ns, 3), round(path.fmax_mhz)
(2.0, 500)
"""

from __future__ import annotations

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
#: Cell inputs that take a slice's dedicated wires, not the routing: no net delay before them.
DEDICATED_INPUTS: dict[str, frozenset[str]] = {
    "MUXF7": frozenset({"I0", "I1"}), "MUXF8": frozenset({"I0", "I1"}),
    "CARRY4": frozenset({"CI", "S", "DI"}), "CARRY8": frozenset({"CI", "S", "DI"}),
    "DSP48E1": frozenset({"PCIN", "ACIN", "BCIN", "CARRYCASCIN", "MULTSIGNIN"}),
    "DSP48E2": frozenset({"PCIN", "ACIN", "BCIN", "CARRYCASCIN", "MULTSIGNIN"}),
}
#: A combinational arc of the cell library: ``(<input> => <output>) = <ps>;`` (also ``*>``).
_LIBRARY_ARC = re.compile(r"(?P<head>\((?P<src>[A-Za-z_]\w*)(?:\s*\[[^\]]*\])?\s*\*?=>\s*[^)]*\)\s*=\s*)(?P<ps>\d+)\s*;")
#: A setup check of the cell library: ``$setup(<input>, <clock edge>, <ps>);``.
_LIBRARY_SETUP = re.compile(r"\$setup\(\s*(?P<src>[A-Za-z_]\w*)(?P<rest>.*)\)\s*;")
#: A DSP48E1 combinational delay from a data input, a function of its configuration.
_LIBRARY_DSP_COMB = re.compile(r"(\\(?P<src>[ABCD])\.(?:P|PCOUT)\.comb\s*=\s*)(?P<ps>\d+)\s*;")
_LIBRARY_MODULE = re.compile(r"^\s*module\s+(?P<name>\w+)")

_ARRIVAL = re.compile(r"^Latest arrival time in '(?P<module>[^']*)' is (?P<ps>-?\d+):$", re.MULTILINE)
_ENDPOINT = re.compile(r"^\s+(?P<ps>-?\d+) \S.* \((?P<type>[\w$\\]+)\.(?P<port>\w+)\)$")
_OUTPUT = re.compile(r"^\s+(?P<ps>-?\d+) \(<(?P<what>primary output|unknown)>\)$")
_ARC = re.compile(r"^\s+(?P<ps>-?\d+) \S.* \((?P<type>[\w$\\]+)\.(?P<src>\w+)->(?P<dst>\w+)\)$")
#: Clock pins: an arc from one is a sequential cell's clock-to-out (the path's start).
_CLOCK_PORT = re.compile(r"^(C|CLK\w*|WCLK)$")


def routed(cell: str, port: str) -> bool:
    """Whether ``port`` of a ``cell`` (type) takes its signal through the routing."""
    return port not in DEDICATED_INPUTS.get(cell, frozenset())


def routed_library(text: str, net_ps: int = NET_DELAY_PS) -> str:
    """Yosys's Xilinx cell library ``text`` (``cells_sim.v``) with ``net_ps`` added before every
    routed input (:func:`routed`): to every combinational arc from one and every setup check of
    one (a DSP48E1's data-input delays are functions of its configuration: added there too)."""
    lines, module = [], ""
    for line in text.splitlines(keepends=True):
        found = _LIBRARY_MODULE.match(line)
        if found:
            module = found["name"]
        line = _LIBRARY_ARC.sub(
            lambda arc, cell=module: f"{arc['head']}{int(arc['ps']) + net_ps};"
            if routed(cell, arc["src"]) else arc[0], line)
        line = _LIBRARY_SETUP.sub(
            lambda check, cell=module: f"$setup({check['src']}{check['rest']} + {net_ps});"
            if routed(cell, check["src"]) else check[0], line)
        if module.startswith("DSP48"):
            line = _LIBRARY_DSP_COMB.sub(lambda comb: f"{comb[1]}{int(comb['ps']) + net_ps};", line)
        lines.append(line)
    return "".join(lines)

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
        inputs: the input each cell of ``cells`` is entered through (``I0``, ``S``, ``PCIN``, ...).
    """

    arrival_ps: int
    start: str
    end: str
    cells: tuple[str, ...]
    nets: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()

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
        """Nets of the path through the general routing: the routed inputs (:func:`routed`) of its
        cells and of its end point, if that is a sequential cell's."""
        cells = sum(routed(cell, port) for cell, port in zip(self.cells, self.inputs))
        cell, _, port = self.end.partition(".")
        return cells + (1 if port and routed(cell, port) else 0)

    @property
    def estimated_ns(self) -> float:
        """The path's delay with routing, ns: its arrival, whose cells' delays include
        :data:`NET_DELAY_PS` before every routed input (:func:`routed_library`)."""
        return self.arrival_ps / 1000

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
                "dsp": self.dsp, "inputs": list(self.inputs),
                "routed_nets": self.routed_nets, "net_delay_ps": NET_DELAY_PS,
                "estimated_ns": self.estimated_ns, "fmax_mhz": self.fmax_mhz}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriticalPath:
        """The path of :meth:`to_dict` (the cache keeps it so)."""
        return cls(int(data["arrival_ps"]), str(data["start"]), str(data["end"]),
                   tuple(str(cell) for cell in data["cells"]), tuple(str(net) for net in data.get("nets", ())),
                   tuple(str(port) for port in data.get("inputs", ())))


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
    return CriticalPath(int(found["ps"]), start, end, tuple(cell for cell, _ in arcs), tuple(reversed(nets)),
                        tuple(port for _, port in arcs))


def _cell_type(name: str) -> str:
    """A cell type without Yosys's escape (``\\FDRE`` -> ``FDRE``)."""
    return name.lstrip("\\")
