"""How much DDR bandwidth does a design need? Vary one field, compare PE kinds, plot the curves.

Run: ``python examples/bandwidth_study.py --out plots/`` (writes ``bandwidth.png``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from accelsim.dse import evaluate, load_workload, vary
from accelsim.hw import PeKind, load_config
from accelsim.plots import bandwidth_curves, plot_bandwidth, save_figure

WIDTHS = (1, 2, 4, 8, 16, 32)  # bytes per cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="resnet56")
    parser.add_argument("--out", default=".", help="folder for bandwidth.png")
    args = parser.parse_args()
    base = load_config("default")
    network = load_workload(args.workload)

    print(f"{'bytes/cycle':>11} {'GB/s':>6} {'krp_gsnq ms':>12} {'stall cycles':>13}")
    for config in vary(base, "ddr.bytes_per_cycle", WIDTHS):
        result = evaluate(network, config)
        metrics = result.metrics()
        print(f"{config.ddr.bytes_per_cycle:>11} {metrics['ddr_gbps']:>6.1f} {metrics['latency_ms']:>12.3f} "
              f"{metrics['stall_cycles']:>13,}")

    curves = bandwidth_curves([network], base, (PeKind.KRP_GSNQ, PeKind.GSNQ_SHIFT), WIDTHS)
    for curve in curves:
        print(f"{curve.kind.value}: knee at {curve.knee_gbps} GB/s")
    path = save_figure(plot_bandwidth(curves), Path(args.out) / "bandwidth.png")
    print(f"plot -> {path}")


if __name__ == "__main__":
    main()
