"""A small sweep from a script: spec, local workers, Parquet results, Pareto front, scatter plot.

Run: ``python examples/sweep_and_pareto.py --out results/`` (writes ``sweep/`` and ``pareto.png``).
Running it again resumes: finished points are skipped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from accelsim.dse import (
    LocalExecutor,
    pareto_front,
    read_results,
    run_sweep,
    spec_from_dict,
)
from accelsim.plots import pareto_groups, plot_pareto, save_figure

SPEC = {
    "name": "example",
    "workloads": ["digits"],
    "sampler": "grid",
    "parameters": {
        "pe.kind": ["krp_gsnq", "gsnq_shift"],
        "pe.tn": [4, 8, 16],  # powers of two (docs/microarchitecture.md, section 1)
        "ddr.bytes_per_cycle": [2, 8],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for sweep/ and pareto.png")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    spec = spec_from_dict(SPEC)  # the same checks as a YAML spec: bad fields fail here
    with LocalExecutor(args.workers) as executor:
        summary = run_sweep(spec, out / "sweep", executor)
    print(f"{summary.ran} points run, {summary.skipped} skipped, {summary.failed} failed")

    rows = [row for row in read_results(out / "sweep").to_pylist() if row["status"] == "ok"]
    front = pareto_front(rows, ["latency_ms", "lut"])
    print(f"Pareto front over latency and LUTs: {len(front)} of {len(rows)} designs")
    for index in sorted(front, key=lambda i: rows[i]["latency_ms"]):
        row = rows[index]
        print(f"  {row['pe.kind']:<10} tn={row['pe.tn']:<3} {row['ddr.bytes_per_cycle']} B/cycle: "
              f"{row['latency_ms']:.4f} ms, {row['lut']:,} LUT")
    figure = plot_pareto(pareto_groups(rows, ["latency_ms", "lut"]), "latency_ms", "lut")
    print(f"plot -> {save_figure(figure, out / 'pareto.png')}")


if __name__ == "__main__":
    main()
