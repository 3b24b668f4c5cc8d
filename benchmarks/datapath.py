"""Speed of the integer datapath: Numba KRP convolution vs torch dense float32, side by side.

Usage: ``python benchmarks/datapath.py [--batch 8] [--repeats 5] [--threads 2]``

Prints (never asserts):

1. the first-call compile time of the Numba kernels in a fresh process with an empty cache, and
   the same in a second process (loaded from the ``cache=True`` disk cache, no recompilation:
   the dispatcher's cache hits/misses are printed);
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
from accelsim.integer import kernels
from accelsim.integer.execute import _run_conv, conv_taps
from accelsim.integer.graph import ConvLayer, Requant, TensorSpec
imported = time.perf_counter()
weights = np.zeros((4, 3, 3, 3), np.int64)
weights[:, :, 1, :] = 2
layer = ConvLayer("c", "input", TensorSpec((4, 5, 5), 8, 0), 3, 4, 5, 5, 3, 1, 1, weights,
                  np.ones((4, 3, 1), np.int64), 4, 16, Requant(np.ones(4, np.int64), np.zeros(4, np.int64), 2, 0, 127, 16))
_run_conv(layer, np.ones((1, 3, 5, 5), np.int8), conv_taps(layer))
done = time.perf_counter()
stats = kernels.conv2d_acc32.stats
print(json.dumps({"import_s": imported - start, "first_call_s": done - imported,
                  "cache_hits": sum(stats.cache_hits.values()), "cache_misses": sum(stats.cache_misses.values())}))
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
            f"compile {label}: first conv2d call {probe['first_call_s']:.2f} s "
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
