"""``accelsim compress``: prune a CNN with KRP, quantize it with GSNQ (or uniform), write the .krp network file."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import workloads

from ..compression.defaults import DEFAULT_EPOCHS, DEFAULT_FC_PRUNE
from ..errors import ConfigError, brief
from ..integer.graph import WeightFormat
from ..outputs import check_output
from .options import workload_name

if TYPE_CHECKING:
    from ..compression import CompressionConfig, TrainingData

DEFAULT_WORKLOAD = "vgg16"


def parse_input_shape(text: str) -> tuple[int, int, int] | None:
    """``"C,H,W"`` as a tuple of three positive integers, or None if it is not one."""
    parts = text.split(",")
    if len(parts) != 3 or not all(part.strip().isdigit() and int(part) >= 1 for part in parts):
        return None
    return tuple(int(part) for part in parts)  # type: ignore[return-value]


class InputShapeAction(argparse.Action):
    """``--input-shape C,H,W``, checked when the command line is parsed (exit status 2 on a bad value)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from ..compression.netfile import MAX_INPUT_ELEMENTS

        shape = parse_input_shape(str(values))
        if shape is None:
            parser.error(f"{option_string} must be C,H,W positive integers, not {brief(str(values))}")
        if math.prod(shape) > MAX_INPUT_ELEMENTS:
            parser.error(f"{option_string} must have at most {MAX_INPUT_ELEMENTS:,} elements (C x H x W), "
                         f"not {math.prod(shape):,} ({brief(str(values))})")
        setattr(namespace, self.dest, shape)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``compress`` sub-command."""
    parser = subparsers.add_parser(
        "compress",
        help="prune (KRP) and quantize (GSNQ or uniform) a CNN, write the compressed network file",
        description=(
            "Prune every KxK convolution on a kernel-row scale (KRP), prune the fully connected layers by "
            "magnitude, optionally retrain with LR tracking, quantize to power-of-two GSNQ weights (or uniform "
            "symmetric b-bit weights with --weights uniform), and write the compressed network (.krp) with its "
            "measured size."
        ),
    )
    source = parser.add_argument_group("model")
    source.add_argument(
        "--workload",
        metavar="NAME",
        type=workload_name,
        help=f"built-in workload ({', '.join(workloads.names())}) or a 'module:factory' user model "
        f"(default {DEFAULT_WORKLOAD}); with --model, the checkpoint's architecture",
    )
    source.add_argument("--model", metavar="CKPT", help="start from the weights of this checkpoint")
    source.add_argument(
        "--onnx",
        metavar="FILE",
        help="import this ONNX CNN (weights from its initializers) instead of a workload; supported ops in "
        "docs/compression.md",
    )
    source.add_argument(
        "--input-shape",
        metavar="C,H,W",
        action=InputShapeAction,
        help="shape of one input image, recorded in the network file; default: the built-in workload's, or the "
        "ONNX model's input; required for a user model",
    )
    source.add_argument("--seed", type=int, default=0, help="seed of the initial weights without --model (default 0)")
    options = parser.add_argument_group("compression")
    options.add_argument("--bits", type=int, default=4, help="weight bits, 2..8 (default 4)")
    options.add_argument(
        "--weights",
        default=WeightFormat.GSNQ.value,
        metavar="gsnq|uniform",
        help="weight format: power-of-two GSNQ levels (default), or uniform: q * step with integer codes "
        "|q| <= 2^(bits-1) - 1 and one least-squared-error step per layer",
    )
    options.add_argument("--rows-kept", type=int, default=1, help="kernel rows kept per kernel (default 1)")
    options.add_argument(
        "--fc-prune",
        type=float,
        default=DEFAULT_FC_PRUNE,
        metavar="P",
        help=f"fraction of fully connected weights pruned by magnitude, in [0, 1) (default {DEFAULT_FC_PRUNE})",
    )
    options.add_argument(
        "--first-layer", default="krp", metavar="krp|dense", help="first convolution: KRP (default) or dense"
    )
    options.add_argument(
        "--pointwise",
        default="dense",
        metavar="dense|magnitude",
        help="1x1 convolutions: dense (default) or magnitude-pruned",
    )
    options.add_argument(
        "--gsnq-split",
        metavar="min-error|balanced",
        help="GSNQ only: split of each layer's codes between the signs: least quantization error (default) or "
        "balanced",
    )
    training = parser.add_argument_group("retraining (needs --data)")
    training.add_argument(
        "--data", metavar="digits|cifar10", help="retrain on this data set (the workload's) and report accuracy"
    )
    training.add_argument("--data-dir", metavar="DIR", help="folder holding cifar-10-batches-py (for --data cifar10)")
    training.add_argument("--epochs", type=int, help=f"epochs per retraining phase (default {DEFAULT_EPOCHS})")
    training.add_argument(
        "--schedule",
        metavar="tracking|step|cosine|fixed",
        help="LR tracking of the recipe's schedule (default), of a step or cosine schedule, or a fixed small LR",
    )
    training.add_argument(
        "--fixed-lr", type=float, metavar="LR", help="learning rate of --schedule fixed (default: the recipe's final)"
    )
    parser.add_argument(
        "--out", metavar="FILE", help="network file to write (default <workload>-krp-<weights><bits>.krp)"
    )
    parser.set_defaults(handler=run)
    return parser


def default_out(workload: str, bits: int, weights: WeightFormat = WeightFormat.GSNQ) -> Path:
    """``<workload>-krp-<weights><bits>.krp`` in the current folder (a spec's ``.`` and ``:`` become ``_``)."""
    return Path(f"{re.sub(r'[^A-Za-z0-9_-]', '_', workload)}-krp-{weights.value}{bits}.krp")


def _config(args: argparse.Namespace) -> CompressionConfig:
    """The compression config of the command line (ConfigError on any bad option)."""
    from ..compression import CompressionConfig, GsnqSplit, RetrainConfig

    if args.data is None:
        for option, value in (
            ("--data-dir", args.data_dir),
            ("--epochs", args.epochs),
            ("--schedule", args.schedule),
            ("--fixed-lr", args.fixed_lr),
        ):
            if value is not None:
                raise ConfigError(f"--data must be given with {option} (retraining needs a data set), not left unset")
    if args.gsnq_split is not None and args.weights == WeightFormat.UNIFORM.value:
        raise ConfigError(f"--gsnq-split must be left out with --weights uniform (it splits GSNQ codes between the "
                          f"signs; uniform codes are symmetric), not {args.gsnq_split!r}")
    retrain = RetrainConfig(
        epochs=DEFAULT_EPOCHS if args.epochs is None else args.epochs,
        schedule="tracking" if args.schedule is None else args.schedule,
        fixed_lr=args.fixed_lr,
    )
    return CompressionConfig(
        bits=args.bits,
        rows_kept=args.rows_kept,
        fc_prune=args.fc_prune,
        first_layer=args.first_layer,
        pointwise=args.pointwise,
        gsnq_split=GsnqSplit.MIN_ERROR if args.gsnq_split is None else args.gsnq_split,
        retrain=retrain,
        weights=args.weights,
    )


def _load_data(args: argparse.Namespace, workload: str) -> TrainingData | None:
    """The retraining data, checked against the workload's data set."""
    from ..compression import TrainingData

    if args.data is None:
        return None
    if workload not in workloads.names():
        raise ConfigError(
            f"--data must be used with a built-in workload (retraining replays its training recipe), not with the "
            f"user model {workload!r}; compress it one-shot, or retrain it from Python with compress(..., recipe=...)"
        )
    if args.data != workloads.info(workload).dataset:
        expected = workloads.info(workload).dataset
        raise ConfigError(f"--data must be the data set of workload {workload!r}, {expected!r}, not {args.data!r}")
    return TrainingData.load(args.data, args.data_dir)


def _percent(value: float) -> str:
    return f"{100 * value:6.2f}%"


def _source(args: argparse.Namespace) -> tuple[str, Any, tuple[int, int, int] | None]:
    """``(workload name, model, input shape)`` of the command line's model (checked against the shape)."""
    from ..compression.architecture import check_input_shape
    from ..compression.pipeline import check_float32

    if args.onnx is not None:
        from ..compression.onnx_import import import_onnx

        for option, value in (("--workload", args.workload), ("--model", args.model)):
            if value is not None:
                raise ConfigError(f"--onnx must be given alone, without {option} (the ONNX file is the model)")
        imported = import_onnx(args.onnx, args.input_shape)
        return imported.name, imported.model, imported.input_shape
    if args.model is not None:
        workload, model = workloads.load_model(args.model, workload=args.workload)
    else:
        workload = args.workload or DEFAULT_WORKLOAD
        model = workloads.build(workload, seed=args.seed)
    known = tuple(workloads.info(workload).input_shape) if workload in workloads.names() else None
    shape = args.input_shape if args.input_shape is not None else known
    if shape is None:
        raise ConfigError(
            f"--input-shape C,H,W must be given for the user model {workload!r} (its input shape is not known), "
            "not left unset"
        )
    check_float32(model)  # its float32 probe would fail, blaming the shape
    if shape != known:  # a built-in workload's own shape is known to work
        check_input_shape(model, shape, f"--input-shape {','.join(map(str, shape))}: the model {workload!r}")
    return workload, model, shape


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Compress, write the network file, print the report; return it as a dict."""
    from ..compression import compress, evaluate, save_network

    config = _config(args)
    workload, model, input_shape = _source(args)
    out = check_output(args.out if args.out is not None else default_out(workload, args.bits, config.weights), "--out")
    data = _load_data(args, workload)
    if data is not None and tuple(data.x_test.shape[1:]) != tuple(input_shape):
        raise ConfigError(
            f"--data must hold images of the input shape {','.join(map(str, input_shape))}, not {args.data!r} "
            f"with images of shape {','.join(map(str, data.x_test.shape[1:]))}"
        )
    accuracy_before = None if data is None else evaluate(model, data.x_test, data.y_test)
    compressed = compress(model, config, workload=workload, data=data, input_shape=input_shape)
    accuracy_after = None if data is None else evaluate(compressed.model, data.x_test, data.y_test)
    encoding = save_network(compressed, out)
    pruning = compressed.report()

    source = (f"ONNX file {args.onnx}" if args.onnx is not None else f"checkpoint {args.model}" if args.model is not None
              else f"seeded weights (seed {args.seed})")
    quantization = "GSNQ" if config.weights is WeightFormat.GSNQ else "uniform"
    print(
        f"{workload}: {source}; KRP rows_kept={config.rows_kept}, FC prune {config.fc_prune:g}, "
        f"{quantization} {config.bits} bits; input {'x'.join(map(str, input_shape))}"
    )
    width = max([28, *(len(layer.name) for layer in pruning.layers)])
    header = f"{'layer':<{width}} {'kind':<6} {'shape':<18} {'method':<9} {'pruned':>8} {'rows':>4} {'bits':>4} {'bytes':>9}"
    print(header)
    print("-" * len(header))
    for layer, sizes in zip(pruning.layers, encoding.layers, strict=True):
        stored = sizes.code_bytes + sizes.row_index_bytes + sizes.sparse_index_bytes
        rows = "-" if layer.rows_kept is None else str(layer.rows_kept)
        bits = "-" if layer.bits is None else str(layer.bits)
        shape = "x".join(str(n) for n in layer.shape)
        print(
            f"{layer.name:<{width}} {layer.kind.value:<6} {shape:<18} {layer.method.value:<9} "
            f"{_percent(layer.pruning_rate):>8} {rows:>4} {bits:>4} {stored:>9,}"
        )
    print("-" * len(header))
    print(f"conv pruning rate       {_percent(pruning.conv_pruning_rate)}")
    print(f"total pruning rate      {_percent(pruning.total_pruning_rate)}")
    print(
        f"encoded size            {encoding.encoded_bytes:,} bytes (codes {encoding.code_bytes:,}, "
        f"row indices {encoding.row_index_bytes:,}, sparse indices {encoding.sparse_index_bytes:,}, "
        f"parameters {encoding.param_bytes:,})"
    )
    print(f"float32 size            {encoding.dense_float32_bytes:,} bytes")
    print(f"compression ratio       {encoding.compression_ratio:.2f}x")
    if accuracy_before is not None and accuracy_after is not None:
        label = f"accuracy ({args.data} test)"
        print(f"{label:<23} {_percent(accuracy_before)} before, {_percent(accuracy_after)} after")
    print(f"wrote {out} ({encoding.file_bytes:,} bytes)")
    if compressed.architecture_note:
        print(f"note: the architecture of {workload!r} is not recorded ({compressed.architecture_note}): commands "
              f"reading {out} need --workload {workload}")

    results: dict[str, Any] = {
        "workload": workload,
        "checkpoint": args.model,
        "onnx": args.onnx,
        "seed": None if args.model is not None or args.onnx is not None else args.seed,
        "input_shape": list(input_shape),
        "architecture_recorded": compressed.architecture is not None,
        "out": str(out),
        **config.to_dict(),
        "conv_pruning_rate": pruning.conv_pruning_rate,
        "total_pruning_rate": pruning.total_pruning_rate,
        **{key: value for key, value in encoding.to_dict().items() if key != "layers"},
        "layers": [
            {**layer.to_dict(), **{k: v for k, v in sizes.to_dict().items() if k not in layer.to_dict()}}
            for layer, sizes in zip(pruning.layers, encoding.layers, strict=True)
        ],
    }
    if data is not None:
        results.update(data=args.data, accuracy_before=accuracy_before, accuracy_after=accuracy_after)
    return results
