"""The Verilog core against the simulator and the integer datapath on every layer of the built-in networks.

Usage: ``python validation/rtl_crosscheck.py [--out validation/rtl_crosscheck.md] [--jobs 2]``

Runs :func:`accelsim.rtl.check.cross_check` (what ``accelsim rtl check`` calls) on every layer
(convolutions, linear layers, pooling, residual adds) of VGG-16, ResNet-56, ResNet-110, AlexNet
and the networks of issue 14 (ResNet-8, MobileNetV1 0.25x, SqueezeNet 1.1, ResNet-18 and
MobileNetV2 at 64x64, VGG-11-BN) at the default configuration, and of VGG-16 and ResNet-56 at
design points with tight DDR bandwidth, other arrays and every PE kind, and writes the per-layer
tables. Verilator builds are cached
(``accelsim.rtl.check.default_cache_dir``); from an empty cache the run takes about 20 minutes on
a 2-core machine. Exit status 1 when any layer differs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from accelsim.cli.run import configure
from accelsim.integer.graph import IntegerNetwork
from accelsim.outputs import atomic_write_bytes
from accelsim.rtl.check import CheckResult, cross_check, default_cache_dir
from accelsim.rtl.verilator import VerilatorRunner
from accelsim.sim.sources import file_network, workload_network
from accelsim.toolchain import VERILATOR

OUT = Path(__file__).with_suffix(".md")


@dataclass(frozen=True)
class DesignPoint:
    """A workload on a configuration (``settings``: the CLI's ``--set`` values)."""

    workload: str
    title: str
    settings: tuple[str, ...] = ()
    table: bool = False
    onnx: bool = False  # the workload's model exported by torch.onnx.export, then compress --onnx

    def command(self) -> str:
        sets = "".join(f" --set {setting}" for setting in self.settings)
        if self.onnx:
            return f"accelsim rtl check --network {self.workload}.krp{sets}"
        return f"accelsim rtl check --workload {self.workload}{sets}"


def onnx_network(workload: str, folder: Path) -> IntegerNetwork:
    """The built-in ``workload``'s seeded model exported to ONNX by ``torch.onnx.export`` at its
    input shape, imported and compressed by ``accelsim compress --onnx`` and lowered as
    ``accelsim rtl check --network`` lowers it."""
    import torch

    import workloads
    from accelsim.cli import main as cli

    onnx_path, krp = folder / f"{workload}.onnx", folder / f"{workload}.krp"
    example = torch.rand(1, *workloads.info(workload).input_shape)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(workloads.build(workload, seed=0).eval(), (example,), str(onnx_path), dynamo=False)
        status = cli(["compress", "--onnx", str(onnx_path), "--out", str(krp)])
    if status != 0:
        raise SystemExit(f"accelsim compress --onnx {onnx_path} failed (exit status {status})")
    return file_network(str(krp), cache=False)


TIGHT = ("ddr.bytes_per_cycle=1", "ddr.latency_cycles=1", "ddr.burst_bytes=64")
POINTS = (
    DesignPoint("vgg16", "VGG-16, default configuration", table=True),
    DesignPoint("resnet56", "ResNet-56, default configuration", table=True),
    DesignPoint("resnet110", "ResNet-110, default configuration"),
    DesignPoint("alexnet", "AlexNet (CIFAR), default configuration (11x11 and 5x5 kernels in window blocks)",
                table=True),
    DesignPoint("resnet8", "ResNet-8 (MLPerf Tiny), default configuration"),
    DesignPoint("mobilenet_v1_025", "MobileNetV1 0.25x 96x96 (depthwise), default configuration", table=True),
    DesignPoint("squeezenet1_1", "SqueezeNet 1.1 64x64 (Fire concatenations, ceil-mode pools), default configuration",
                table=True),
    DesignPoint("resnet18", "ResNet-18 64x64 (7x7 stem), default configuration"),
    DesignPoint("mobilenet_v2", "MobileNetV2 64x64 (ReLU6, inverted residuals), default configuration"),
    DesignPoint("vgg11_bn", "VGG-11-BN (adaptive 7x7 pool, a 25088-input linear layer), 6272 step words",
                ("buffers.weight_depth=6272",)),
    DesignPoint("squeezenet1_1", "SqueezeNet 1.1 exported to ONNX (`torch.onnx.export`), `accelsim compress "
                "--onnx squeezenet1_1.onnx --out squeezenet1_1.krp`", onnx=True),
    DesignPoint("vgg16", "VGG-16, 1 B/cycle, L = 1, S = 64", TIGHT),
    DesignPoint("resnet56", "ResNet-56, 1 B/cycle, L = 1, S = 64", TIGHT),
    DesignPoint("resnet56", "ResNet-56, 16 x 2 units, 2 B/cycle, L = 100, S = 256",
                ("pe.tn=16", "pe.tm=2", "ddr.bytes_per_cycle=2", "ddr.latency_cycles=100",
                 "ddr.burst_bytes=256")),
    DesignPoint("vgg16", "VGG-16, 4 x 8 units (a step reads two channel blocks), 32 B/cycle",
                ("pe.tn=4", "pe.tm=8", "ddr.bytes_per_cycle=32")),
    DesignPoint("resnet56", "ResNet-56, 16 x 8 units, 32 B/cycle", ("pe.tn=16", "pe.tm=8", "ddr.bytes_per_cycle=32")),
    DesignPoint("resnet56", "ResNet-56, dense GSNQ shifters", ("pe.kind=gsnq_shift",)),
    DesignPoint("vgg16", "VGG-16, LUT multipliers (uniform 4-bit codes)", ("pe.kind=mult_lut",)),
    DesignPoint("resnet56", "ResNet-56, DSP multipliers (uniform 4-bit codes)", ("pe.kind=mult_dsp",)),
)


def layer_table(result: CheckResult, kinds: dict[str, str]) -> list[str]:
    """Per-layer rows of one design point."""
    lines = [
        "| layer | kind | sim cycles | RTL cycles | difference | outputs | trace (events) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for layer in result.layers:
        outputs = "equal" if layer.outputs_match else f"differ at {layer.first_mismatch}"
        trace = f"equal ({layer.events})" if layer.traces_match else f"differ: {layer.first_divergence}"
        lines.append(
            f"| {layer.name} | {kinds[layer.name]} | {layer.sim_cycles:,} | {layer.rtl_cycles:,} | "
            f"{layer.rtl_cycles - layer.sim_cycles} | {outputs} | {trace} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"report to write (default {OUT})")
    parser.add_argument("--jobs", type=int, default=2, help="C++ compile jobs of a build")
    args = parser.parse_args(argv)
    runner = VerilatorRunner(default_cache_dir(), jobs=args.jobs)
    networks = {}
    sections, summary, passed = [], [], True
    for point in POINTS:
        print(f"{point.title} ...", file=sys.stderr, flush=True)
        config = configure("default", list(point.settings))
        key = (point.workload, config.pe.kind.weight_format)  # as `accelsim rtl check` compresses
        if point.onnx:
            with tempfile.TemporaryDirectory() as folder:
                network = onnx_network(point.workload, Path(folder))
        elif key not in networks:
            networks[key] = network = workload_network(point.workload, weights=config.pe.kind.weight_format)
        else:
            network = networks[key]
        kinds = {layer.name: type(layer).__name__.removesuffix("Layer").lower() for layer in network.layers}
        began = time.perf_counter()
        result = cross_check(network, config, runner=runner)
        seconds = time.perf_counter() - began
        passed &= result.passed
        equal = sum(layer.passed for layer in result.layers)
        worst = max(abs(layer.rtl_cycles - layer.sim_cycles) for layer in result.layers)
        summary.append(
            f"| {point.title} | `{point.command().removeprefix('accelsim rtl check ')}` | "
            f"{len(result.layers)} | {worst} | {sum(layer.outputs_match for layer in result.layers)} | "
            f"{sum(layer.traces_match for layer in result.layers)} | {result.rtl_cycles_total:,} |"
        )
        print(f"  {equal} of {len(result.layers)} layers equal ({seconds:.0f} s)", file=sys.stderr, flush=True)
        if point.table:
            counts = {kind: sum(1 for layer in result.layers if kinds[layer.name] == kind)
                      for kind in ("conv", "linear", "pool", "add")}
            sections += [
                f"## {point.title}", "", "```", point.command(), "```", "",
                (f"Simulator {result.sim_seconds:.3f} s for the whole network; Verilator build "
                f"{result.build_seconds:.0f} s ({'cached' if result.build_cached else 'fresh'}), run "
                f"{result.rtl_seconds:.2f} s for {result.rtl_cycles_total:,} cycles (every layer below, "
                f"back to back): {counts['conv']} convolutions, {counts['linear']} linear layers, "
                f"{counts['pool']} pooling layers, {counts['add']} residual adds."), "",
                *layer_table(result, kinds), "",
                f"{equal} of {len(result.layers)} layers equal: zero cycle difference, outputs bit for "
                "bit, traces event for event." if equal == len(result.layers) else
                f"{equal} of {len(result.layers)} layers equal.", "",
            ]
    header = [
        "# RTL cross-check: the Verilog core against the simulator and the integer datapath", "",
        ("Made by `python validation/rtl_crosscheck.py` with "
        f"{VERILATOR.require().banner}. Every layer (convolutions, linear layers, max and "
        "average pooling, residual adds; a flatten moves no data) runs on the Verilog core "
        "(`accelsim/rtl/verilog`) under Verilator, on the integer datapath's input of that layer "
        "(one seeded image), the layers back to back in one run. Compared: the layer's cycles with "
        "the simulator's (`accelsim.sim`), its event trace (`event, tile, part, start, end`, cycles "
        "from the layer's start) event by event, and its output feature map with the bit-exact "
        "datapath (`accelsim.integer.run`) element by element. Zero difference is the bar. The "
        "networks are the seeded built-in workloads (issue 14's at their torchvision or MLPerf Tiny structure) compressed one-shot with KRP and 4-bit GSNQ (uniform "
        "4-bit codes for the multiplier kinds) and lowered (`accelsim.sim.sources.workload_network`, as `accelsim run` does)."), "",
        "## Every design point", "",
        ("| design point | command (`accelsim rtl check ...`) | layers | max cycle difference | "
        "outputs equal | traces equal | RTL cycles |"),
        "|---|---|---:|---:|---:|---:|---:|",
        *summary, "",
    ]
    footer = [
        "## Random shapes and configurations", "",
        ("`python -m pytest tests/test_rtl_crosscheck.py -m verilator` checks, each with its own "
        "build: KRP 3x3, KRP 3x3 stride 2, dense 1x1 and linear layers with several row and channel "
        "groups; the same at 1 byte per cycle, zero latency and 3-byte bursts; residual adds (with "
        "operand shifts), 2x2 max pooling and a 4x4 average pooling (window blocks) on 4 x 2, 2 x 4 "
        "and 2 x 6 arrays (several groups per block; a group of two or three blocks) and on one "
        "byte per cycle with zero latency; every PE kind on KRP, dense, 2x2 stride-2 and two-row KRP "
        "layers (uniform codes on the multiplier kinds); and seeded random cases (PE kind, `tn`, "
        "`tm`, `kernel_max`, beats from 1 to 32 bytes, latency, bursts, buffer sizes, kernels, "
        "strides, odd channel counts, ending in a random add, max or average pooling); kernels larger "
         "than `kernel_max` (window blocks) and windows up to 17 positions; grouped and depthwise "
         "convolutions; every torch pooling form (ceil mode, padding in the divisor or not, adaptive "
         "up and down, global); concatenations stored in place. Every layer: "
        "zero cycle difference, equal outputs, equal traces."), "",
    ]
    atomic_write_bytes(args.out, ("\n".join(header + sections + footer)).encode())
    print(f"wrote {args.out}: {'every layer equal' if passed else 'DIFFERENCES'}", file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
