"""Integer network against the fake-quantized float model: top-1 agreement of issue 14's networks.

For each network (MLPerf Tiny's ResNet-8 and MobileNetV1 0.25x, torchvision's resnet18,
mobilenet_v2, squeezenet1_1 and vgg11_bn with 10 classes) on seeded random images, and, as a
reference on real data, two trained CNNs on scikit-learn's digits (the digits workload, and one
with the new operators):

1. build the workload with seeded weights (seed 0); digits, and ``digits_ops`` (a digits-sized
   CNN with every operator issue 14 added, :class:`DigitsOps`): trained with the digits recipe;
2. compress it: KRP (1 row per kernel), 50% FC pruning, 4-bit GSNQ, one-shot (``accelsim
   compress``'s defaults); digits CNNs: with LR-tracking retraining on the training split;
3. seeded networks only: re-estimate the BatchNorm running statistics of the compressed model on
   the calibration images (a forward pass in training mode, cumulative average; no weight
   changes), and centre the bias of the last layer (subtract its mean output on those images).
   A seeded network with BatchNorm's initial statistics has activations that shrink or grow layer
   after layer, and its biases and the images' common features give nearly every image one class,
   so agreement would measure nothing;
4. lower it to the integer network (8-bit activations, 16-bit multipliers), calibrated on
   ``--calibration`` images (seeded random images: a uniform 4x4 image per channel upsampled to
   the input size plus 25% pixel noise; digits: its training split);
5. classify ``--count`` other images (the same kind; digits: its test split) with the integer
   network (the Numba datapath), the fake-quantized float model (the compressed model with every
   lowered tensor rounded to its integer grid, as ``tests/int_reference.py``) and the compressed
   float model, and report how often the top-1 classes agree, how far the outputs are apart, and
   the same with 32-bit multipliers.

Prints a markdown table and writes it, with the command that made it, to
``validation/agreement_networks.md``.

    python validation/agreement_networks.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import workloads
from accelsim.compression import CompressionConfig, RetrainConfig, TrainingData, compress, train
from accelsim.integer import ConcatLayer, ConvLayer, IntegerNetwork, lower, quantize_input, run
from accelsim.outputs import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python validation/agreement_networks.py"
NETWORKS = (
    "resnet8", "mobilenet_v1_025", "resnet18", "mobilenet_v2", "squeezenet1_1", "vgg11_bn", "digits", "digits_ops",
)
BATCH = 50
DIGITS_RETRAIN = 2  #: digits: epochs of each LR-tracking retraining phase (as docs/integer-arithmetic.md)


class DigitsOps(nn.Module):
    """A digits-sized CNN (1x8x8) with every operator issue 14 added, trained on the digits: a
    depthwise and a grouped 3x3 convolution, ReLU6, Hardtanh and ``F.relu6``, a ceil-mode max
    pooling, a SqueezeNet Fire module (channel concatenation) and an adaptive average pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.depthwise = nn.Sequential(
            nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU6()
        )
        self.pointwise = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)  # 8x8 -> 4x4
        self.squeeze = nn.Conv2d(32, 8, 1)
        self.expand1x1 = nn.Conv2d(8, 16, 1)
        self.expand3x3 = nn.Conv2d(8, 16, 3, padding=1)
        self.grouped = nn.Sequential(
            nn.Conv2d(32, 32, 3, padding=1, groups=4, bias=False), nn.BatchNorm2d(32), nn.Hardtanh(0.0, 4.0)
        )
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(128, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.pointwise(self.depthwise(self.stem(x))))
        s = F.relu(self.squeeze(x))
        x = torch.cat([F.relu(self.expand1x1(s)), F.relu(self.expand3x3(s))], 1)
        x = torch.flatten(self.avgpool(self.grouped(x)), 1)
        return self.fc2(F.relu6(self.fc1(x)))


def seeded_images(rng: np.random.Generator, count: int, shape: tuple[int, int, int]) -> np.ndarray:
    """``count`` random images in [0, 1): a uniform 4x4 image per channel upsampled bilinearly to
    the input size, plus 25% uniform pixel noise. (Images of independent uniform pixels all look
    alike after a network's global average pooling, so a seeded network gives them one class.)"""
    channels, height, width = shape
    coarse = torch.from_numpy(rng.uniform(0, 1, (count, channels, 4, 4)).astype(np.float32))
    smooth = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False).numpy()
    noise = rng.uniform(0, 1, (count, channels, height, width)).astype(np.float32)
    return np.ascontiguousarray(0.75 * smooth + 0.25 * noise, dtype=np.float32)


def recalibrate_batchnorm(model: nn.Module, images: np.ndarray) -> None:
    """Re-estimate every BatchNorm's running mean and variance on ``images`` (cumulative average
    over batches of the training-mode statistics); weights are unchanged; the model ends in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            model(torch.from_numpy(images[start : start + BATCH]))
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


def centre_classifier(model: nn.Module, images: np.ndarray) -> str:
    """Subtract from the bias of the model's last Conv2d / Linear its mean output per channel on
    ``images`` (a seeded classifier's biases and the images' common features give nearly every
    image the same class; centred, the class depends on each image). Returns the layer's name."""
    name, layer = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
    outputs = []
    hook = layer.register_forward_hook(lambda module, args, out: outputs.append(out.detach()))
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            model(torch.from_numpy(images[start : start + BATCH]))
        hook.remove()
        mean = torch.cat(outputs).transpose(0, 1).reshape(layer.weight.shape[0], -1).mean(dim=1)
        layer.bias -= mean
    return name


def fake_quant_outputs(model: nn.Module, network: IntegerNetwork, x: np.ndarray, *, half_up: bool) -> np.ndarray:
    """The float model with every lowered tensor (the input and each layer's output) rounded to its
    integer grid and clamped, in float64; returns the outputs on the output's grid (integers).
    ``half_up=False`` is ``tests/int_reference.py::fake_quant_forward`` (``torch.round``, half to
    even); ``half_up=True`` rounds half up, as the datapath's requantization does."""
    by_node = {node: network.layer(layer).output for layer, node in network.metadata["fx_nodes"].items()}

    def grid(value: torch.Tensor, spec) -> torch.Tensor:
        scaled = value.double() * 2.0**spec.frac_bits
        rounded = torch.floor(scaled + 0.5) if half_up else torch.round(scaled)
        return torch.clamp(rounded, spec.lo, spec.hi)

    class FakeQuant(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> object:
            result = super().run_node(n)
            spec = network.input if n.op == "placeholder" else by_node.get(n.name)
            if spec is None:
                return result
            return (grid(result, spec) / 2.0**spec.frac_bits).to(result.dtype)

    with torch.no_grad():
        out = FakeQuant(torch.fx.symbolic_trace(model.eval())).run(torch.from_numpy(x))
    return grid(out, network.tensor(network.output)).reshape(len(x), -1).numpy().astype(np.int64)


def datapath_outputs(network: IntegerNetwork, x: np.ndarray) -> tuple[np.ndarray, float]:
    """The integer network's outputs (int64, one row per image) and its seconds per image."""
    run(network, quantize_input(network, x[:1]))  # warm-up (Numba loading, tap tables): not timed
    outputs, seconds = [], 0.0
    for start in range(0, len(x), BATCH):
        chunk = np.ascontiguousarray(x[start : start + BATCH])
        begin = time.perf_counter()
        outputs.append(run(network, quantize_input(network, chunk)).outputs.reshape(len(chunk), -1).astype(np.int64))
        seconds += time.perf_counter() - begin
    return np.concatenate(outputs), seconds / len(x)


def float_classes(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([
            model(torch.from_numpy(x[start : start + BATCH])).reshape(len(x[start : start + BATCH]), -1).argmax(1).numpy()
            for start in range(0, len(x), BATCH)
        ])


def measure(name: str, count: int, calibration: int, seed: int) -> dict[str, object]:
    """Compress, lower and classify one network; its row of the table."""
    begin = time.perf_counter()
    trained = name in ("digits", "digits_ops")
    info = workloads.info("digits" if trained else name)
    labels = data = None
    config = CompressionConfig(bits=4)
    if trained:
        data = TrainingData.load("digits")
        if name == "digits":
            untrained = workloads.build(name, seed=seed)
        else:
            torch.manual_seed(seed)
            untrained = DigitsOps()
        model = train(untrained, data, info.recipe, seed=seed)
        config = CompressionConfig(bits=4, retrain=RetrainConfig(epochs=DIGITS_RETRAIN, seed=seed))
        calib = data.x_train[:calibration].numpy()
        x, labels = data.x_test[:count].numpy(), data.y_test[:count].numpy()
        source = f"digits test split ({len(x)})"
    else:
        model = workloads.build(name, seed=seed)
        rng = np.random.default_rng(seed)
        calib = seeded_images(rng, calibration, info.input_shape)
        x = seeded_images(rng, count, info.input_shape)
        source = f"seeded random images ({count})"
    compressed = compress(model, config, workload=name, data=data, recipe=info.recipe if trained else None)
    if not trained:
        recalibrate_batchnorm(compressed.model, calib)
        centre_classifier(compressed.model, calib)
    network = lower(compressed, calib, name=name)
    outputs, per_image = datapath_outputs(network, x)
    fake_outputs = np.concatenate([
        fake_quant_outputs(compressed.model, network, x[start : start + BATCH], half_up=False)
        for start in range(0, len(x), BATCH)
    ])
    real = float_classes(compressed.model, x)
    integer, fake = outputs.argmax(axis=1), fake_outputs.argmax(axis=1)  # first index on ties
    top2 = np.sort(fake_outputs, axis=1)[:, -2:]
    difference = np.abs(outputs - fake_outputs)
    # the same network with 32-bit requantization multipliers (same scales), against the
    # fake-quantized model rounding half to even and rounding half up (as the datapath does)
    wide = lower(compressed, calib, name=name, multiplier_bits=32)
    assert all(a.output == b.output for a, b in zip(network.layers, wide.layers))
    wide_outputs, _ = datapath_outputs(wide, x)
    half_up = np.concatenate([
        fake_quant_outputs(compressed.model, wide, x[start : start + BATCH], half_up=True)
        for start in range(0, len(x), BATCH)
    ])
    classes, counts = np.unique(real, return_counts=True)
    convs = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
    row = {
        "network": name,
        "input": "x".join(map(str, info.input_shape[1:])),
        "images": source,
        "layers": len(network.layers),
        "depthwise": sum(1 for layer in convs if layer.groups == layer.in_channels > 1),
        "concats": sum(1 for layer in network.layers if isinstance(layer, ConcatLayer)),
        "fake": float(np.mean(integer == fake)),
        "wide": float(np.mean(wide_outputs.argmax(axis=1) == fake)),
        "wide_lsb": float(np.abs(wide_outputs - fake_outputs).mean()),
        "up": float(np.mean(wide_outputs.argmax(axis=1) == half_up.argmax(axis=1))),
        "up_lsb": float(np.abs(wide_outputs - half_up).mean()),
        "float": float(np.mean(integer == real)),
        "fake_float": float(np.mean(fake == real)),
        "lsb": (float(difference.mean()), int(difference.max()), int(np.ptp(fake_outputs))),
        "near": float(np.mean(top2[:, 1] - top2[:, 0] <= 2)),
        "classes": f"{len(classes)} (top {counts.max() / len(real):.0%})",
        "accuracy": None if labels is None else (float(np.mean(integer == labels)), float(np.mean(fake == labels)),
                                                  float(np.mean(real == labels))),
        "ms": 1000 * per_image,
        "seconds": time.perf_counter() - begin,
    }
    print(f"{name}: integer = fake-quantized {row['fake']:.1%}, = float {row['float']:.1%} "
          f"({row['seconds']:.0f} s)", flush=True)
    return row


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        ("| network | input | images | layers | depthwise | concat | integer = fake-quantized | integer = float "
         "| fake-quantized = float | float model's classes | near ties | output difference, LSB: mean / max (range) "
         "| 32-bit multipliers: integer = fake-quantized (mean difference) | 32-bit, fake-quantized rounding half up "
         "| datapath ms/image |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['network']} | {row['input']} | {row['images']} | {row['layers']} | {row['depthwise']} | "
            f"{row['concats']} | **{row['fake']:.1%}** | {row['float']:.1%} | {row['fake_float']:.1%} | "
            f"{row['classes']} | {row['near']:.1%} | {row['lsb'][0]:.2f} / {row['lsb'][1]} ({row['lsb'][2]}) | "
            f"{row['wide']:.1%} ({row['wide_lsb']:.2f} LSB) | {row['up']:.1%} ({row['up_lsb']:.2f} LSB) | "
            f"{row['ms']:.2f} |"
        )
    notes = [
        f"{row['network']} top-1 accuracy (integer / fake-quantized / float): "
        + " / ".join(f"{value:.1%}" for value in row["accuracy"])
        for row in rows if row["accuracy"] is not None
    ]
    return "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--count", type=int, default=500, help="images classified per network")
    parser.add_argument("--calibration", type=int, default=64, help="calibration images per network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "validation" / "agreement_networks.md")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    begin = time.perf_counter()
    rows = [measure(name, args.count, args.calibration, args.seed) for name in args.networks]
    text = table(rows)
    print(text)
    extra = sys.argv[1:] if argv is None else argv
    command = COMMAND + "".join(" " + part for part in extra)
    body = (
        "# Integer network vs fake-quantized float model: top-1 agreement\n\n"
        f"Command: `{command}` ({time.perf_counter() - begin:.0f} s, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads).\n\n"
        "Seeded networks (seed 0): compressed one-shot (KRP 1 row, FC 50%, 4-bit GSNQ, no retraining); "
        "BatchNorm statistics re-estimated and the last layer's bias centred on the calibration images (so that "
        "the predictions vary from image to image); seeded random images (a random 4x4 image per channel, "
        "upsampled, plus 25% pixel noise). digits (the digits workload) and digits_ops (a digits-sized CNN "
        "with a depthwise and a grouped convolution, ReLU6, Hardtanh, a ceil-mode pool, a Fire concatenation and "
        "an adaptive pool: `DigitsOps` in the script): trained with the digits recipe, compressed with KRP + 4-bit GSNQ "
        f"and LR-tracking retraining ({DIGITS_RETRAIN} epochs per phase), its own train and test splits. "
        f"Every network is lowered with 8-bit activations calibrated on {args.calibration} images; the integer "
        "datapath, the fake-quantized float model (as `tests/int_reference.py::fake_quant_forward`: every "
        "lowered tensor rounded to its integer grid, half to even) and the compressed float model classify the same "
        "images.\n\n"
        "Columns: \"float model's classes\": how many classes the float model predicts over the images, and "
        "the share of the most frequent one (agreement is only informative when the predictions vary). \"near "
        "ties\": images whose two largest fake-quantized outputs are within 2 output steps (LSB) of each other, "
        "where a difference of an LSB or two decides the class. \"output difference\": |integer - "
        "fake-quantized| over every output, in output LSBs, and the outputs' range. The datapath requantizes "
        "with 16-bit multipliers (accelsim's default, `--multiplier-bits`) and rounds half up, the "
        "fake-quantized model scales exactly and rounds half to even: the two differ by an LSB on a few values "
        "of a layer, and the following layers carry such differences and, in a seeded (untrained) deep "
        "network, amplify them. \"32-bit multipliers\": the same network lowered with 32-bit multipliers "
        "(same scales), against the same fake-quantized model, and against one that rounds half up like the "
        "datapath: what is left of the difference is then float32 rounding in the float model.\n\n"
        + text + "\n"
    )
    atomic_write_bytes(args.out, body.encode())


if __name__ == "__main__":
    main()
