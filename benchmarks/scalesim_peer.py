"""Peer comparison: SCALE-Sim v3 on VGG-16's 13 CIFAR convolutions against ``accelsim run``, whole processes.

Run: ``python benchmarks/scalesim_peer.py [--repeat 1]``. SCALE-Sim (``pip install scalesim``) is
installed into its own virtual environment, ``<accelsim cache>/scalesim-venv``, created on the
first run with ``numpy==2.2.*`` (SCALE-Sim 3.0.0 fails under numpy 2.4); where it cannot be
installed (no network, no PyPI), the script says so and exits 0. The topology is written from
the lowered VGG-16 of ``accelsim run`` (input maps with their zero padding, kernel, channels,
filters, stride), for a 32x32 weight-stationary array with 64 KiB SRAMs and traces not saved.

Timed, best of ``--repeat`` and side by side: ``python -m scalesim.scale`` on the 13 layers and
``python -m accelsim run`` (VGG-16 CIFAR compressed, lowered and simulated: the whole default job),
with the network cache warm and with ``--no-cache`` (compressing and lowering every time); Numba's
one-time compilation is done before timing (a first ``accelsim run`` is not timed). Printed: the
wall times and the ratios. SCALE-Sim models a dense systolic
array, accelsim a pruned shift-add datapath with its DDR channel, so the two cycle counts are not
comparable; the times are what a user waits for either answer.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from accelsim.integer.graph import ConvLayer
from accelsim.sim.sources import workload_network
from accelsim.synth.cache import cache_root

#: SCALE-Sim's configuration: a 32x32 weight-stationary array, 64 KiB SRAMs, bandwidth computed.
CONFIG = """[general]
run_name = accelsim_peer

[architecture_presets]
ArrayHeight: 32
ArrayWidth: 32
IfmapSramSzkB: 64
FilterSramSzkB: 64
OfmapSramSzkB: 64
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: ws
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def peer_python() -> Path | None:
    """The Python of SCALE-Sim's own environment (created on first use), or None if it cannot be installed."""
    folder = cache_root() / "scalesim-venv"
    python = folder / "bin" / "python"
    probe = [str(python), "-c", "import scalesim.scale_sim"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    try:
        venv.create(folder, with_pip=True, clear=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"SKIPPED: no virtual environment for SCALE-Sim could be created in {folder}: {error}")
        return None
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "scalesim", "numpy==2.2.*"],
                             capture_output=True, text=True, check=False)
    if install.returncode != 0 or subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        print(f"SKIPPED: SCALE-Sim could not be installed in {folder}:\n{install.stderr.strip()[-800:]}")
        return None
    return python


def write_inputs(folder: Path) -> tuple[Path, Path, Path, int]:
    """SCALE-Sim's config, topology and layout files for VGG-16's convolutions; the layer count."""
    convs = [layer for layer in workload_network("vgg16").layers if isinstance(layer, ConvLayer)]
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    rows = [f"{layer.name},{layer.in_h + 2 * layer.padding},{layer.in_w + 2 * layer.padding},{layer.kernel},"
            f"{layer.kernel},{layer.in_channels},{layer.out_channels},{layer.stride},\n" for layer in convs]
    layout = "Layer name, a, b, c, d, e, f, g,\n" + "".join(f"{layer.name},1,1,1,1,1,1,1,\n" for layer in convs)
    paths = folder / "scale.cfg", folder / "vgg16.csv", folder / "layout.csv"
    for path, text in zip(paths, (CONFIG, header + "".join(rows), layout), strict=True):
        path.write_text(text)
    return *paths, len(convs)


def wall(command: list[str], cwd: Path) -> float:
    """Wall seconds of ``command`` (which must succeed), its output discarded."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each tool, best reported (default 1)")
    args = parser.parse_args()
    python = peer_python()
    if python is None:
        return 0
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        config, topology, layout, layers = write_inputs(folder)
        scalesim = [str(python), "-m", "scalesim.scale", "-c", str(config), "-t", str(topology), "-l", str(layout),
                    "-p", str(folder / "out"), "-s", "N"]
        accelsim = [sys.executable, "-m", "accelsim", "run"]
        wall(accelsim, folder)  # warms the network cache and loads Numba's kernels once: not timed
        peer = min(wall(scalesim, folder) for _ in range(args.repeat))
        warm = min(wall(accelsim, folder) for _ in range(args.repeat))
        cold = min(wall([*accelsim, "--no-cache"], folder) for _ in range(args.repeat))
    print("one-time Numba compilation excluded: accelsim ran once before timing")
    print(f"SCALE-Sim v3, {layers} VGG-16 conv layers (32x32 ws array): {peer:8.2f} s")
    print(f"accelsim run, whole VGG-16 job, network cache warm:  {warm:8.2f} s   SCALE-Sim / accelsim = {peer / warm:.0f}x")
    print(f"accelsim run --no-cache (compress + lower each time): {cold:8.2f} s   SCALE-Sim / accelsim = {peer / cold:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
