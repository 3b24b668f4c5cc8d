"""Export a small ResNet-style CNN to ONNX, as a user brings one: ``accelsim compress --onnx`` imports it.

Run: ``python examples/export_onnx.py --out tiny_resnet.onnx [--size 32] [--dynamo]``, then
``accelsim compress --onnx tiny_resnet.onnx``. The model is ``examples/user_model.py``'s, with
seeded weights and BatchNorm statistics; ``torch.onnx.export`` writes it (the TorchScript
exporter by default, ``--dynamo`` for the dynamo one, which needs the ``onnxscript`` package).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import warnings
from collections import Counter
from pathlib import Path

import onnx
import torch
from user_model import SmallResNet  # this folder is the script's own, first on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tiny_resnet.onnx", help="the ONNX file to write")
    parser.add_argument("--size", type=int, default=32, help="input height and width (default 32)")
    parser.add_argument("--dynamo", action="store_true", help="use the dynamo exporter (needs onnxscript)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (default 0)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = SmallResNet().eval()
    with torch.no_grad():  # BatchNorm statistics away from the identity, as a trained model has them
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    image = torch.rand(1, 3, args.size, args.size)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (image,), args.out, dynamo=args.dynamo, input_names=["image"],
                          output_names=["logits"])
    graph = onnx.load(args.out).graph
    ops = Counter(node.op_type for node in graph.node)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size:,} bytes): input 1x3x{args.size}x{args.size}, "
          f"{len(graph.node)} nodes: " + ", ".join(f"{count} {op}" for op, count in sorted(ops.items())))


if __name__ == "__main__":
    main()
