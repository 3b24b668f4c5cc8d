"""Logic synthesis of the RTL library with Yosys: cell counts of a module for a configuration."""

from .cells import CellCounts, parse_stat_json
from .targets import Design, synth_target
from .yosys import SynthesisResult, SynthTarget, Yosys, find_yosys, synth_family

__all__ = [
    "CellCounts",
    "Design",
    "SynthTarget",
    "SynthesisResult",
    "Yosys",
    "find_yosys",
    "parse_stat_json",
    "synth_family",
    "synth_target",
]
