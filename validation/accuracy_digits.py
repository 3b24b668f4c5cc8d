"""The paper's accuracy experiments, rerun on scikit-learn's 8x8 digits on a CPU (a few minutes).

For each seed (model initialization and batch order):

* baseline: the digits CNN trained from scratch with its recipe (SGD, cosine annealing, 30 epochs);
  a second baseline with the same recipe but step decay (x0.1 at 50% and 75%);
* KRP (one kept row per 3x3 kernel) + 50% FC magnitude pruning, retrained with LR tracking;
* KRP + GSNQ at 4 and 3 bits: the same, then INQ-style incremental quantization (portions 0.5,
  0.75, 0.875, 1) with an LR-tracking retraining phase between steps;
* KRP + uniform at 4 and 3 bits: the same pipeline and retraining with uniform symmetric weights
  (``q * step``, ``|q| <= 2**(b-1) - 1``) instead of power-of-two ones, so the accuracy price of
  each weight format stands side by side;
* LR tracking versus fixed-LR fine-tuning at the same epoch budgets, for both original schedules;
* GSNQ's code split between the signs: error-minimizing versus balanced, and uniform, one-shot on
  the KRP-retrained models.

Prints markdown tables (mean and standard deviation over the seeds) and writes them, with this
command, to ``validation/accuracy_digits.md``.

    python validation/accuracy_digits.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

import workloads
from accelsim.compression import (
    CompressionConfig,
    LrSchedule,
    MaskedModel,
    RetrainConfig,
    TrainingData,
    compress,
    encode_network,
    evaluate,
    fc_prune,
    final_lr,
    gsnq_quantize,
    krp_prune,
    retrain,
    train,
    uniform_quantize,
)
from accelsim.compression.pipeline import DEFAULT_FC_PRUNE
from accelsim.outputs import atomic_write_bytes

COMMAND = "python validation/accuracy_digits.py"
WORKLOAD = "digits"
RETRAIN_EPOCHS = 8  #: epochs of each retraining phase in the main table
BUDGETS = (1, 2, 4, 8)  #: retraining epoch budgets of the LR-tracking comparison


class Results:
    """Accuracies (and other figures) collected per row label over the seeds."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = defaultdict(list)

    def add(self, label: str, value: float) -> None:
        self.values[label].append(value)

    def mean(self, label: str) -> float:
        return statistics.fmean(self.values[label])

    def cell(self, label: str) -> str:
        """``mean ± std`` in percent."""
        values = [100 * v for v in self.values[label]]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.2f} ± {spread:.2f}"


def accuracy(model: torch.nn.Module | MaskedModel, data: TrainingData) -> float:
    """Test accuracy of a model or masked model."""
    module = model.model if isinstance(model, MaskedModel) else model
    return evaluate(module, data.x_test, data.y_test)


def relative_error(before: MaskedModel, after: MaskedModel) -> float:
    """``sum((w - Q(w))**2) / sum(w**2)`` over all conv / linear weights."""
    error = total = 0.0
    for record in before.records:
        w = before.weight(record.name).detach().double()
        q = after.weight(record.name).detach().double()
        error += float(((w - q) ** 2).sum())
        total += float((w**2).sum())
    return error / total


def run_seed(seed: int, data: TrainingData, results: Results, sizes: dict[str, tuple[float, float, float]]) -> None:
    """All experiments of one seed."""
    cosine = workloads.info(WORKLOAD).recipe
    step = replace(cosine, schedule=workloads.Schedule.STEP, milestones=(0.5, 0.75))
    for name, recipe in (("cosine", cosine), ("step", step)):
        baseline = train(workloads.build(WORKLOAD, seed=seed), data, recipe, seed=seed)
        results.add(f"baseline {name}", accuracy(baseline, data))
        pruned = fc_prune(krp_prune(baseline), DEFAULT_FC_PRUNE)
        results.add(f"pruned {name}", accuracy(pruned, data))
        for epochs in BUDGETS:
            for schedule in (LrSchedule.TRACKING, LrSchedule.FIXED):
                config = RetrainConfig(epochs=epochs, schedule=schedule, seed=seed)
                results.add(f"{name} {schedule.value} {epochs}", accuracy(retrain(pruned, data, recipe, config), data))
        if name != "cosine":
            continue
        # The main table: the whole pipeline on the cosine (recipe) baseline.
        retrain_config = RetrainConfig(epochs=RETRAIN_EPOCHS, seed=seed)
        compressed = {}
        for bits, weights in ((None, "gsnq"), (4, "gsnq"), (3, "gsnq"), (4, "uniform"), (3, "uniform")):
            label = "krp" if bits is None else f"krp+{weights}{bits}"
            config = CompressionConfig(bits=bits, weights=weights, retrain=retrain_config)
            compressed[label] = compress(baseline, config, workload=WORKLOAD, data=data)
            results.add(label, accuracy(compressed[label].model, data))
            _, encoding = encode_network(compressed[label])
            report = compressed[label].report()
            sizes[label] = (report.conv_pruning_rate, report.total_pruning_rate, encoding.compression_ratio)
        krp_retrained = MaskedModel(compressed["krp"].model, compressed["krp"].records)
        for bits in (4, 3):
            for split in ("min-error", "balanced"):
                quantized = gsnq_quantize(krp_retrained, bits, split=split)
                results.add(f"split {split} {bits}", accuracy(quantized, data))
                results.add(f"split error {split} {bits}", relative_error(krp_retrained, quantized))
            uniform = uniform_quantize(krp_retrained, bits)
            results.add(f"split uniform {bits}", accuracy(uniform, data))
            results.add(f"split error uniform {bits}", relative_error(krp_retrained, uniform))


def tables(
    results: Results,
    sizes: dict[str, tuple[float, float, float]],
    data: TrainingData,
    seeds: Sequence[int],
    seconds: float,
) -> str:
    """The markdown report."""
    cosine = workloads.info(WORKLOAD).recipe
    lines = [
        "# Accuracy on the digits data set: baseline, KRP, KRP + GSNQ, KRP + uniform, LR tracking",
        "",
        (f"Command: `{COMMAND}` (seeds {', '.join(map(str, seeds))}; {seconds:.0f} s on this machine, "
        "one torch thread)."),
        (f"Data: scikit-learn digits, {len(data.x_train)} training and {len(data.x_test)} test images. "
        "Accuracy in % on the test set, mean ± standard deviation over the seeds (each seed: model "
        "initialization and batch order)."),
        "",
        (f"Original training (the digits recipe): SGD lr {cosine.lr}, momentum {cosine.momentum}, weight decay "
        f"{cosine.weight_decay}, batch {cosine.batch_size}, {cosine.epochs} epochs, cosine annealing. KRP keeps 1 row "
        f"per 3x3 kernel (first layer included), FC layers {int(100 * DEFAULT_FC_PRUNE)}% magnitude-pruned; every "
        f"retraining phase is {RETRAIN_EPOCHS} epochs of LR tracking; GSNQ is incremental (portions 0.5, 0.75, "
        "0.875, 1) with a retraining phase after each step but the last. Uniform b-bit weights (q * step, "
        "integer |q| <= 2^(b-1) - 1, one least-squared-error step per layer) go through the same incremental "
        "steps and retraining. Compression ratio = float32 size / encoded size of the .krp file (KRP alone "
        "stores float32 kept weights)."),
        "",
        "| model | accuracy (%) | Δ vs baseline | conv pruned | total pruned | compression ratio |",
        "|---|---|---|---|---|---|",
    ]
    base = results.mean("baseline cosine")
    for label, title in (
        ("baseline cosine", "baseline"),
        ("krp", "KRP + FC prune, LR-tracking retraining"),
        ("krp+gsnq4", "KRP + GSNQ 4-bit"),
        ("krp+gsnq3", "KRP + GSNQ 3-bit"),
        ("krp+uniform4", "KRP + uniform 4-bit"),
        ("krp+uniform3", "KRP + uniform 3-bit"),
    ):
        if label == "baseline cosine":
            lines.append(f"| {title} | {results.cell(label)} | | 0% | 0% | 1x (float32) |")
            continue
        conv, total, ratio = sizes[label]
        delta = f"{100 * (results.mean(label) - base):+.2f}"
        lines.append(
            f"| {title} | {results.cell(label)} | {delta} | {100 * conv:.1f}% | {100 * total:.1f}% | {ratio:.2f}x |"
        )
    lines += [
        "",
        "## LR tracking versus fixed-LR retraining at the same epoch budget",
        "",
        ("The model is the KRP + FC-pruned baseline (no retraining yet); each cell retrains it for the given "
        "number of epochs. *Tracking* replays the original schedule over the budget (restarting at the original "
        f"initial learning rate {cosine.lr}); *fixed* fine-tunes at the original schedule's final learning rate "
        f"({final_lr(cosine):g}, for both schedules)."),
        "",
        "| original schedule | baseline | pruned, no retraining | epochs | LR tracking | fixed LR | tracking − fixed |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("step", "cosine"):
        for epochs in BUDGETS:
            tracking, fixed = f"{name} tracking {epochs}", f"{name} fixed {epochs}"
            lines.append(
                f"| {name} | {results.cell(f'baseline {name}')} | {results.cell(f'pruned {name}')} | {epochs} "
                f"| {results.cell(tracking)} | {results.cell(fixed)} "
                f"| {100 * (results.mean(tracking) - results.mean(fixed)):+.2f} |"
            )
    lines += [
        "",
        "## GSNQ code split between the signs, and uniform weights",
        "",
        ("One-shot quantization (no retraining) of the KRP-retrained models: accuracy and relative squared "
        "quantization error sum((w - Q(w))^2) / sum(w^2) over all conv and FC weights. GSNQ with either split "
        "of its codes between the signs, and uniform weights (least-squared-error step per layer)."),
        "",
        "| bits | weights | accuracy (%) | relative error |",
        "|---|---|---|---|",
    ]
    for bits in (4, 3):
        for split, title in (("min-error", "GSNQ min-error"), ("balanced", "GSNQ balanced"), ("uniform", "uniform")):
            error = results.mean(f"split error {split} {bits}")
            lines.append(f"| {bits} | {title} | {results.cell(f'split {split} {bits}')} | {error:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run every seed, print the tables and write them to ``accuracy_digits.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    args = parser.parse_args(argv)
    # The digits CNN is tiny: one thread is fastest, and OpenMP barriers stall on a shared machine.
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = TrainingData.load(WORKLOAD)
    results = Results()
    sizes: dict[str, tuple[float, float, float]] = {}
    seeds = list(range(args.seeds))
    for seed in seeds:
        run_seed(seed, data, results, sizes)
        print(f"seed {seed} done after {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    text = tables(results, sizes, data, seeds, time.perf_counter() - start)
    atomic_write_bytes(Path(__file__).with_suffix(".md"), text.encode())
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
