"""Verilog implementation of the timing contract, its emitter, Verilator runner and cross-check."""
