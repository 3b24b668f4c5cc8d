"""Speed of the integer datapath: Numba KRP convolution vs torch dense float32, side by side.

Usage: ``python benchmarks/datapath.py [--batch 8] [--repeats 5] [--threads 2]``

Prints (never asserts):

1. the first-call time of a small network that uses every Numba kernel (convolution in both
   layouts, pooling, add, linear) in a fresh process with an empty cache (the compile time), and
   the same in a second process sharing that cache (loaded from the ``cache=True`` disk cache:
   the dispatchers' cache hits and misses are printed; misses 0 = nothing recompiled);
2. per VGG-16 (CIFAR) convolution layer: the Numba KRP convolution (with its fused
   requantization) and ``torch.nn.functional.conv2d`` dense float32 on the same shape and batch,
   interleaved, best of ``--repeats``; their ratio KRP/torch, and the total;
3. a whole VGG-16 integer inference: ms per image.

The network is VGG-16 with seeded weights, compressed by accelsim (KRP rows_kept=1, 4-bit GSNQ,
one-shot) and lowered with seeded uniform calibration inputs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial

import numba
import numpy as np
import torch
import torch.nn.functional as F

_COMPILE_PROBE = """
import json, time
start = time.perf_counter()
import numpy as np
import torch
from torch import nn
from accelsim.integer import kernels, lower, quantize_input, run
imported = time.perf_counter()

class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)  # 32x32: wide layout
        self.small = nn.Conv2d(4, 4, 3, padding=1)  # 16x16: patch layout (im2col)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.pool(torch.relu(self.conv(x)))
        y = torch.relu(self.small(y) + y)
        return self.fc(torch.flatten(self.avg(y), 1))

model = Tiny()
with torch.no_grad():
    for m in (model.conv, model.small, model.fc):
        m.weight.copy_(torch.sign(m.weight) * 2.0 ** torch.round(torch.log2(m.weight.abs())))
x = np.random.default_rng(0).uniform(0, 1, (2, 2, 32, 32)).astype(np.float32)
network = lower(model, x)
lowered = time.perf_counter()
run(network, quantize_input(network, x))
done = time.perf_counter()
dispatchers = [kernels.im2col, kernels.conv2d, kernels.linear, kernels.max_pool2d,
               kernels.avg_pool2d, kernels.add]
hits = sum(sum(d.stats.cache_hits.values()) for d in dispatchers)
misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers)
print(json.dumps({"import_s": imported - start, "first_call_s": done - lowered,
                  "cache_hits": hits, "cache_misses": misses}))
"""


def compile_times() -> list[dict[str, float]]:
    """Run the compile probe twice in fresh processes sharing one new, empty Numba cache folder."""
    import json

    results = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE_PROBE],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="images per batch (default 8)")
    parser.add_argument(
        "--repeats", type=int, default=25, help="timed runs, best kept (default 25)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch and numba threads (default 2)"
    )
    args = parser.parse_args()

    import workloads
    from accelsim.compression import CompressionConfig, compress
    from accelsim.integer import ConvLayer, lower, quantize_input, run
    from accelsim.integer.execute import _run_conv, conv_taps

    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    print(
        f"threads: torch {torch.get_num_threads()}, numba {numba.get_num_threads()}; batch {args.batch}"
    )

    for index, probe in enumerate(compile_times()):
        label = "first process (empty cache)" if index == 0 else "second process (cached)    "
        print(
            f"compile {label}: first run of a small network {probe['first_call_s']:.2f} s "
            f"(import {probe['import_s']:.2f} s), cache hits {probe['cache_hits']}, misses {probe['cache_misses']}"
        )

    compressed = compress(
        workloads.build("vgg16", seed=0), CompressionConfig(bits=4, rows_kept=1), workload="vgg16"
    )
    rng = np.random.default_rng(0)
    calibration = rng.uniform(0.0, 1.0, (16, 3, 32, 32)).astype(np.float32)
    network = lower(compressed, calibration)
    images = rng.uniform(0.0, 1.0, (args.batch, 3, 32, 32)).astype(np.float32)
    x = quantize_input(network, images)
    activations = run(network, x, activations=True).activations
    assert activations is not None

    print(
        f"\n{'layer':<14} {'shape (Cin->Cout, HxW)':<24} {'KRP numba ms':>12} {'torch ms':>9} {'ratio':>6}"
    )
    total_krp = total_torch = 0.0
    for layer in network.layers:
        if not isinstance(layer, ConvLayer):
            continue
        source = x if layer.input == "input" else activations[layer.input]
        taps = conv_taps(layer)
        module = compressed.model.get_submodule(layer.name)
        xf = torch.from_numpy(source.astype(np.float32))
        wf = module.weight.detach().float().contiguous()
        krp_call = partial(_run_conv, layer, source, taps)
        torch_call = partial(F.conv2d, xf, wf, stride=layer.stride, padding=layer.padding)
        krp_call()
        torch_call()
        krp_times, torch_times = [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            krp_times.append(best_of(krp_call, 1))
            torch_times.append(best_of(torch_call, 1))
        krp, dense = min(krp_times), min(torch_times)
        total_krp += krp
        total_torch += dense
        shape = f"{layer.in_channels}->{layer.out_channels}, {layer.in_h}x{layer.in_w}"
        print(
            f"{layer.name:<14} {shape:<24} {1e3 * krp:>12.2f} {1e3 * dense:>9.2f} {krp / dense:>6.2f}"
        )
    print(
        f"{'total':<14} {'':<24} {1e3 * total_krp:>12.2f} {1e3 * total_torch:>9.2f} {total_krp / total_torch:>6.2f}"
    )

    whole = best_of(lambda: run(network, x), args.repeats)
    print(
        f"\nVGG-16 integer inference: {1e3 * whole:.1f} ms per batch of {args.batch}, "
        f"{1e3 * whole / args.batch:.2f} ms per image"
    )


if __name__ == "__main__":
    main()
