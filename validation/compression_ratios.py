"""Measured compression ratios of every built-in workload at 3 and 4 GSNQ bits.

One-shot KRP (one kept row) + FC pruning + GSNQ on seeded weights (no data needed: the sizes do
not depend on training), encoded exactly as ``accelsim compress`` writes the .krp file. Prints a
markdown table and writes it to ``validation/compression_ratios.md``.

    python validation/compression_ratios.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import workloads
from accelsim.compression import CompressionConfig, compress, encode_network
from accelsim.outputs import atomic_write_bytes

COMMAND = "python validation/compression_ratios.py"
WORKLOADS = (
    "vgg16", "resnet56", "resnet110", "alexnet", "digits",
    "resnet8", "mobilenet_v1_025", "resnet18", "mobilenet_v2", "squeezenet1_1", "vgg11_bn",
)
BITS = (3, 4)


def row(workload: str, bits: int) -> str:
    """One markdown table row, from the real encoding of the compressed workload."""
    compressed = compress(workloads.build(workload, seed=0), CompressionConfig(bits=bits), workload=workload)
    _, sizes = encode_network(compressed)
    pruning = compressed.report()
    return (
        f"| {workload} | {bits} | {100 * pruning.conv_pruning_rate:.1f}% | {100 * pruning.total_pruning_rate:.1f}% "
        f"| {sizes.dense_float32_bytes:,} | {sizes.code_bytes:,} | {sizes.row_index_bytes:,} "
        f"| {sizes.sparse_index_bytes:,} | {sizes.param_bytes:,} | {sizes.encoded_bytes:,} "
        f"| **{sizes.compression_ratio:.2f}x** |"
    )


def main() -> int:
    """Print the table and write it next to this script."""
    config = CompressionConfig()
    lines = [
        "# Compression ratios of the built-in workloads",
        "",
        (f"Command: `{COMMAND}` (one-shot, seeded weights, rows_kept={config.rows_kept}, "
        f"fc_prune={config.fc_prune}, first layer {config.first_layer.value}, 1x1 convs {config.pointwise.value})."),
        "",
        ("| workload | bits | conv pruned | total pruned | float32 bytes | codes | row indices | sparse indices "
        "| parameters | encoded bytes | ratio |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for workload in WORKLOADS:
        for bits in BITS:
            lines.append(row(workload, bits))
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    atomic_write_bytes(Path(__file__).with_suffix(".md"), text.encode())
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
