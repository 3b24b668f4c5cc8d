"""Start-up speed: ``accelsim --help``, ``accelsim run`` with a warm and a cold network cache, and
compress + lower of the 224x224 networks (time and peak memory), each in a fresh process.

Run: ``python benchmarks/startup.py [--repeat 3]``. Every figure is the best of ``--repeat`` runs
of a new Python process, measured side by side in this one run; the targets are printed beside
them. Numba's one-time compilation is excluded: a first ``accelsim run --workload digits
--no-cache`` compiles (and caches on disk) every kernel before anything is timed. Cold runs use
an empty cache folder (``ACCELSIM_CACHE_DIR``); warm runs one that the first of them filled.

- ``--help``: wall time of ``python -m accelsim --help``;
- ``run``: wall time of ``python -m accelsim run`` (VGG-16 CIFAR, one-shot KRP + GSNQ 4-bit,
  lowered, simulated), warm and cold;
- ``compress + lower``: in-process time of compressing (KRP + FC pruning + one-shot GSNQ) and
  lowering the seeded 224x224 VGG-16 (``vgg16_imagenet``) and ResNet-18 (``resnet18_imagenet``)
  (building the model is timed apart), and the process's peak resident memory (``ru_maxrss``, which includes the interpreter, torch and Numba,
  about 0.3 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Measures one network in a fresh process and prints its figures as JSON.
PROBE = """
import json, resource, sys, time
import numpy as np
import workloads
from accelsim.compression import CompressionConfig, compress
from accelsim.integer import lower
name = sys.argv[1]
start = time.perf_counter()
models = [workloads.build(name)]
built = time.perf_counter()
compressed = compress(models.pop(), CompressionConfig(bits=4), workload=name)  # a temporary, as `run` passes it
shape = workloads.info(name).input_shape
network = lower(compressed, np.random.default_rng(0).uniform(0, 1, (4, *shape)).astype(np.float32), name=name)
done = time.perf_counter()
print(json.dumps({"build": built - start, "compress_lower": done - built,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  "weights": sum(int(np.prod(l.weights.shape)) for l in network.layers if hasattr(l, "weights"))}))
"""


def wall(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of ``command`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def best(repeat: int, measure) -> float:  # type: ignore[no-untyped-def]
    """The smallest of ``repeat`` measurements."""
    return min(measure() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best reported (default 3)")
    args = parser.parse_args()
    accelsim = [sys.executable, "-m", "accelsim"]
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "ACCELSIM_CACHE_DIR": str(Path(folder) / "warm")}
        subprocess.run([*accelsim, "run", "--workload", "digits", "--no-cache"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # Numba compiles (once, cached on disk): not timed
        help_s = best(args.repeat, lambda: wall([*accelsim, "--help"], env))
        cold: list[float] = []
        for index in range(args.repeat):
            cold_env = {**env, "ACCELSIM_CACHE_DIR": str(Path(folder) / f"cold{index}")}
            cold.append(wall([*accelsim, "run"], cold_env))
        wall([*accelsim, "run"], env)  # fills the warm cache
        warm = best(args.repeat, lambda: wall([*accelsim, "run"], env))
        print("one-time Numba compilation excluded (a first run compiled and cached every kernel)")
        print(f"accelsim --help            {help_s:6.2f} s   (target <= 0.5 s)")
        print(f"accelsim run, warm cache   {warm:6.2f} s   (target <= 2 s)")
        print(f"accelsim run, cold cache   {min(cold):6.2f} s   (target <= 4 s); cold / warm = {min(cold) / warm:.1f}x")
        for name, target_s, target_gb in (("vgg16_imagenet", 10.0, 2.0), ("resnet18_imagenet", 3.0, None)):
            runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE, name], env=env, check=True,
                                              capture_output=True, text=True).stdout)
                    for _ in range(args.repeat)]
            fastest = min(runs, key=lambda run: run["compress_lower"])
            peak = min(run["peak_gb"] for run in runs)
            limits = f"target <= {target_s:g} s" + (f", <= {target_gb:g} GB" if target_gb else "")
            print(f"{name:<17} compress + lower {fastest['compress_lower']:6.2f} s, peak RSS {peak:.2f} GB "
                  f"({limits}); model build {fastest['build']:.2f} s; {fastest['weights'] / 1e6:.1f} M weights, "
                  f"{fastest['weights'] / fastest['compress_lower'] / 1e6:.1f} M weights/s")


if __name__ == "__main__":
    main()
