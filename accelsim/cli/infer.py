"""``accelsim infer``: run a compressed network on the bit-exact integer datapath.

Calibration (the activation scales) uses the training split of ``--data``; without data, seeded
uniform inputs in [0, 1) of the workload's input shape stand in for both calibration and
evaluation (so only the agreement with the float model is reported, no accuracy).
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

import workloads

from ..errors import ConfigError
from .options import network_file, workload_name

if TYPE_CHECKING:
    import numpy as np

DEFAULT_COUNT = 500
DEFAULT_CALIBRATION = 512
#: Largest size of the seeded uniform images made without ``--data`` (calibration + evaluation), bytes.
MAX_INPUT_BYTES = 1 << 30


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``infer`` sub-command."""
    parser = subparsers.add_parser(
        "infer",
        help="run a compressed network on the integer datapath; accuracy and agreement with float",
        description=(
            "Lower a compressed network (.krp) to integers (power-of-two weights as shifts, KRP rows only, "
            "fixed-point activations), run it on the bit-exact Numba datapath, and report its top-1 accuracy, "
            "the float model's, and how often the two agree."
        ),
    )
    parser.add_argument(
        "--network", metavar="FILE", required=True, type=network_file, help="compressed network file (.krp)"
    )
    parser.add_argument(
        "--workload",
        metavar="SPEC",
        type=workload_name,
        help="the 'module:factory' spec of a user model whose file records no architecture (other files need none)",
    )
    parser.add_argument(
        "--data", metavar="digits|cifar10", help="evaluate on this data set's test split"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder holding cifar-10-batches-py (for --data cifar10)"
    )
    parser.add_argument(
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help=f"images to evaluate (default {DEFAULT_COUNT})",
    )
    parser.add_argument(
        "--calibration",
        type=int,
        default=DEFAULT_CALIBRATION,
        metavar="N",
        help=f"calibration images from the training split (default {DEFAULT_CALIBRATION})",
    )
    parser.add_argument(
        "--act-bits", type=int, default=8, help="activation bits, 4..16 (default 8)"
    )
    parser.add_argument(
        "--multiplier-bits",
        type=int,
        default=16,
        help="requantization multiplier bits, 2..32 (default 16)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the uniform inputs without --data (default 0)"
    )
    parser.set_defaults(handler=run)
    return parser


def _positive(value: int, option: str) -> int:
    """``value`` if it is >= 1, else a ConfigError naming ``option``."""
    if value < 1:
        raise ConfigError(f"{option} must be an integer >= 1, not {value!r}")
    return value


def _inputs(
    args: argparse.Namespace, input_shape: tuple[int, ...] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Calibration images, evaluation images and their labels (None without data)."""
    import numpy as np

    count, calibration = (
        _positive(args.count, "--count"),
        _positive(args.calibration, "--calibration"),
    )
    if args.data is None:
        if args.data_dir is not None:
            raise ConfigError("--data must be given with --data-dir, not left unset")
        if input_shape is None:
            raise ConfigError(
                f"--data must be given for network file {args.network!r}, not left unset: the file records no input "
                "shape for seeded inputs (written before accelsim recorded input shapes; compress the model again "
                "with --input-shape C,H,W)"
            )
        image_bytes = 4 * math.prod(input_shape)
        if calibration * image_bytes >= MAX_INPUT_BYTES:
            raise ConfigError(
                f"--calibration must be at most {MAX_INPUT_BYTES // image_bytes - 1:,} without --data (the float32 "
                f"images of shape {tuple(input_shape)} may take {MAX_INPUT_BYTES >> 30} GiB), not {calibration:,}"
            )
        if (calibration + count) * image_bytes > MAX_INPUT_BYTES:
            largest = MAX_INPUT_BYTES // image_bytes - calibration
            raise ConfigError(
                f"--count must be at most {largest:,} without --data (with --calibration {calibration:,}, the "
                f"float32 images of shape {tuple(input_shape)} may take {MAX_INPUT_BYTES >> 30} GiB), not {count:,}"
            )
        if not 0 <= args.seed < 2**63:
            raise ConfigError(f"--seed must be an integer in [0, 2**63), not {args.seed}")
        rng = np.random.default_rng(args.seed)
        images = rng.uniform(0.0, 1.0, (calibration + count, *input_shape)).astype(np.float32)
        return images[:calibration], images[calibration:], None
    x_train, _ = workloads.load_dataset(args.data, "train", args.data_dir)
    x_test, y_test = workloads.load_dataset(args.data, "test", args.data_dir)
    if input_shape is not None and tuple(x_test.shape[1:]) != tuple(input_shape):
        raise ConfigError(
            f"--data must match the network's input shape {tuple(input_shape)}, not {args.data!r} "
            f"with images of shape {tuple(x_test.shape[1:])}"
        )
    return x_train[:calibration], x_test[:count], y_test[:count]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Lower, run and evaluate; print the report; return it as a dict."""
    from ..compression import load_network
    from ..integer import ConvLayer, evaluate, lower

    compressed = load_network(args.network, workload=args.workload)
    calibration, images, labels = _inputs(args, compressed.input_shape)
    network = lower(
        compressed,
        calibration,
        act_bits=args.act_bits,
        multiplier_bits=args.multiplier_bits,
        name=compressed.workload,
    )
    result = evaluate(network, compressed.model, images, labels)
    convs = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
    krp = sum(layer.is_krp for layer in convs)
    source = f"{args.data} test split" if args.data else f"seeded uniform inputs (seed {args.seed})"
    print(
        f"{compressed.workload}: {len(network.layers)} integer layers ({krp} of {len(convs)} convolutions KRP), "
        f"{args.act_bits}-bit activations, {args.multiplier_bits}-bit multipliers"
    )
    print(
        f"calibration        {len(calibration)} images ({'training split' if args.data else 'uniform inputs'})"
    )
    print(f"evaluated          {result.count} images ({source})")
    print(f"integer accuracy   {_percent(result.accuracy)}")
    print(f"float accuracy     {_percent(result.float_accuracy)}")
    spread = f"the float model predicts {result.float_classes} distinct class{'es' if result.float_classes > 1 else ''}"
    if result.float_classes == 1:
        spread += " on these images: the agreement cannot show a disagreement; see the output error"
    print(f"top-1 agreement    {_percent(result.agreement)} ({spread})")
    print(f"output error       {_percent(result.output_error)} RMS of the float model's outputs "
          "(integer outputs dequantized)")
    print(f"integer datapath   {1e3 * result.seconds / result.count:.2f} ms per image "
          "(after a warm-up run: one-time Numba loading excluded)")
    return {
        "network": args.network,
        "workload": compressed.workload,
        "data": args.data,
        "count": result.count,
        "accuracy": result.accuracy,
        "float_accuracy": result.float_accuracy,
        "agreement": result.agreement,
        "float_classes": result.float_classes,
        "output_error": result.output_error,
        "calibration_images": len(calibration),
        "act_bits": args.act_bits,
        "multiplier_bits": args.multiplier_bits,
        "ms_per_image": 1e3 * result.seconds / result.count,
    }
