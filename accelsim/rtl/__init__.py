"""The Verilog core of the timing contract: emitter, Verilator runner and cross-check (docs/rtl.md)."""

from .check import CheckResult, LayerCheck, cross_check
from .emit import TOP_MODULE, design_files, library_sources
from .params import RtlParameters, rtl_parameters
from .verilator import Build, VerilatorRunner

__all__ = [
    "TOP_MODULE",
    "Build",
    "CheckResult",
    "LayerCheck",
    "RtlParameters",
    "VerilatorRunner",
    "cross_check",
    "design_files",
    "library_sources",
    "rtl_parameters",
]
