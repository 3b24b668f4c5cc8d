"""Measure the resource model's parts with Yosys and write ``accelsim/hw/calibration.py``.

Usage: ``python validation/calibrate_resources.py [--out PATH]``. Each PE part (a tap, a group of
2, 4, 8 or 16 taps with their adder tree, an adder tree, the KRP row select, an accumulator, a
requantization lane) is synthesized alone over a grid of its widths, and the core's other modules in place in seven cores whose PE array and
requantization lanes are black boxes (``accelsim/synth/calibrate.py``); results are cached, so a
rerun after an RTL change only synthesizes what changed. The PE units and arrays the model is
validated on (``validation/resources_vs_synthesis.py``) are not part of this grid.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from accelsim.outputs import atomic_write_bytes
from accelsim.synth import Yosys
from accelsim.synth.calibrate import measure, render

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "accelsim" / "hw" / "calibration.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"file to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    table, banner = measure(Yosys(), progress=lambda line: print(line, file=sys.stderr, flush=True))
    atomic_write_bytes(args.out, render(table, banner).encode())
    print(f"wrote {args.out} ({sum(len(entries) for entries in table.values())} measurements, {banner}) "
          f"in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
