"""Model checkpoints: saving, safe reading, and checked loading into an architecture.

An accelsim checkpoint is a ``torch.save`` file of the dict
``{"format": "accelsim-checkpoint", "version": 1, "workload": <name>, "state_dict": {...}}``.
A plain state dict (a mapping of names to tensors, as written by ``torch.save(model.state_dict())``)
is accepted too; it just does not record its workload. Files are always read with
``torch.load(..., weights_only=True)``, which refuses arbitrary pickled objects, and every failure
is reported as a :class:`~accelsim.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Mapping

import torch
from torch import nn

from accelsim.errors import CheckpointError
from accelsim.inputs import input_file
from accelsim.outputs import atomic_write_bytes

FORMAT = "accelsim-checkpoint"
VERSION = 1
#: The global a weights-only load refused, as torch names it.
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str], *, workload: str) -> None:
    """Write ``model``'s state dict and its workload name to ``path`` atomically.

    ``workload`` is the name :func:`workloads.load_model` rebuilds the architecture from (a
    registered name or a ``"module:factory"`` spec). Tensors are saved on the CPU.
    """
    if not isinstance(workload, str) or not workload:
        raise CheckpointError(f"workload must be a non-empty str, not {workload!r}")
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "workload": workload, "state_dict": state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[str | None, dict[str, torch.Tensor]]:
    """Read a checkpoint file: ``(workload name or None for a plain state dict, state dict)``.

    Raises:
        CheckpointError: the file is missing, unreadable, truncated, corrupt, holds anything but
            tensors (a disallowed global is named), is an accelsim network file (.krp), or is an
            accelsim checkpoint of an unknown version.
    """
    where = str(input_file(path, "checkpoint", CheckpointError))
    # imported here: accelsim.compression imports this package
    from accelsim.compression.netfile import MAGIC

    with open(where, "rb") as handle:
        if handle.read(len(MAGIC)) == MAGIC:
            raise CheckpointError(
                f"checkpoint {where!r} must be a torch checkpoint, not an accelsim network file (.krp): "
                "pass it with --network (accelsim run, infer or rtl check), not --model"
            )
    try:
        with warnings.catch_warnings():  # torch warns of a raw pickle's protocol on stderr: the error says it
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(where, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip, EOF and runtime errors for bad files
        raise _load_error(exc, where) from exc
    if isinstance(payload, Mapping) and payload.get("format") == FORMAT:
        if payload.get("version") != VERSION:
            raise CheckpointError(
                f"checkpoint {where!r}: version must be {VERSION}, not {payload.get('version')!r} "
                "(written by a newer accelsim?)"
            )
        workload = payload.get("workload")
        if not isinstance(workload, str) or not workload:
            raise CheckpointError(
                f"checkpoint {where!r}: workload must be a non-empty str, not {workload!r}"
            )
        return workload, _state_dict(payload.get("state_dict"), where)
    return None, _state_dict(payload, where)


def _load_error(exc: Exception, where: str) -> CheckpointError:
    """The error for a file ``torch.load(weights_only=True)`` refused: a disallowed global (named), or
    a file that is not a readable checkpoint. Never suggests unsafe loading (``weights_only=False``)."""
    text = str(exc)
    refused = _GLOBAL.search(text)
    if refused:
        return CheckpointError(
            f"checkpoint {where!r} must hold only tensors, not the disallowed global {refused.group(1)!r} "
            "(code that loading it would run); accelsim refuses such files: save the weights again as a "
            "state dict of tensors from a copy you trust"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip() and "weights_only" not in line.lower()
             and "weights only" not in line.lower() and "torch.load" not in line]
    reason = lines[0] if lines else type(exc).__name__
    return CheckpointError(f"checkpoint {where!r} is not a readable torch checkpoint (truncated or corrupt?): {reason}")


def _state_dict(value: object, where: str) -> dict[str, torch.Tensor]:
    """``value`` as a state dict, or a CheckpointError saying what it is instead."""
    if not isinstance(value, Mapping) or not value:
        raise CheckpointError(
            f"checkpoint {where!r} must hold a state dict (a mapping of parameter names to "
            f"tensors), not {_describe(value)}"
        )
    for key, tensor in value.items():
        if not isinstance(key, str) or not isinstance(tensor, torch.Tensor):
            hint = (
                " (a training checkpoint? save its 'state_dict' entry with torch.save instead)"
                if "state_dict" in value
                else ""
            )
            raise CheckpointError(
                f"checkpoint {where!r} must hold a state dict (a mapping of parameter names to "
                f"tensors); entry {key!r} is {_describe(tensor)}{hint}"
            )
    return dict(value)


def _describe(value: object) -> str:
    """A short description of a non-state-dict value for error messages."""
    if isinstance(value, Mapping) and not value:
        return "an empty mapping"
    return f"a value of type {type(value).__name__}"


def load_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Copy ``state`` into ``model`` after checking it matches the architecture exactly.

    ``source`` names the file in error messages.

    Raises:
        CheckpointError: a key is missing or unexpected, or a shape differs; the message names the
            first such key (in the model's order) and both shapes.
    """
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise CheckpointError(
                f"checkpoint {source!r} does not match the architecture: missing key {key!r} "
                f"(shape {tuple(tensor.shape)}); was it saved from another workload?"
            )
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"checkpoint {source!r} does not match the architecture: {key!r} has shape "
                f"{tuple(state[key].shape)}, the model expects {tuple(tensor.shape)}"
            )
        if state[key].is_floating_point() != tensor.is_floating_point():
            raise CheckpointError(
                f"checkpoint {source!r} does not match the architecture: {key!r} has dtype "
                f"{state[key].dtype}, the model expects {tensor.dtype}"
            )
    for key in state:
        if key not in expected:
            raise CheckpointError(
                f"checkpoint {source!r} does not match the architecture: unexpected key {key!r}; "
                "was it saved from another workload?"
            )
    model.load_state_dict(state, strict=True)
