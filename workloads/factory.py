"""Building workload models: seeded construction, and loading weights from checkpoints."""

from __future__ import annotations

import os

import torch
from torch import nn

from accelsim.errors import CheckpointError, WorkloadError, brief

from .checkpoint import load_state_dict, read_checkpoint
from .models import init_weights
from .registry import factory, names


def _allocate(model: nn.Module) -> None:
    """Give every parameter and buffer of a ``meta`` model CPU memory (uninitialized), in place.

    What ``model.to_empty(device="cpu")`` does, without the meta-tensor machinery it imports on
    first use (about half a second).
    """
    for module in model.modules():
        for name, param in module._parameters.items():
            if param is not None:
                module._parameters[name] = nn.Parameter(torch.empty(param.shape, dtype=param.dtype),
                                                        requires_grad=param.requires_grad)
        for name, buffer in module._buffers.items():
            if buffer is not None:
                module._buffers[name] = torch.empty(buffer.shape, dtype=buffer.dtype)


def build(
    name: str, *, seed: int = 0, checkpoint: str | os.PathLike[str] | None = None
) -> nn.Module:
    """A fresh model of workload ``name`` in eval mode, on the CPU, in float32.

    ``name`` is a registered name (see :func:`workloads.names`) or a ``"package.module:factory"``
    import spec of a user model. The initial weights are a pure function of ``seed`` (the same seed
    gives bit-identical weights whatever the global torch random state, which is left untouched).
    Built-in models are initialized by :func:`workloads.models.init_weights` from a
    ``torch.Generator`` seeded with ``seed``; a user factory runs with the global generator seeded
    with ``seed`` inside ``torch.random.fork_rng``.

    With ``checkpoint``, the weights are then loaded from that file (see
    :func:`workloads.read_checkpoint`); if the file records a workload, it must be ``name``.

    Raises:
        WorkloadError: unknown name, unusable import spec, bad seed, or a factory that raises or
            does not return an ``nn.Module``.
        CheckpointError: the checkpoint is unreadable or does not match the architecture.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise WorkloadError(f"seed must be an integer in [0, 2**63), not {seed!r}")
    make, builtin = factory(name)
    if builtin:
        with torch.device("meta"):
            model = make()
        _allocate(model)
        init_weights(model, torch.Generator().manual_seed(seed))
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            try:
                model = make()
            except (Exception, SystemExit) as exc:  # any failure of user code (even sys.exit) is the model's problem
                raise WorkloadError(
                    f"workload {name!r}: the factory must build the model, not raise "
                    f"{type(exc).__name__} {brief(str(exc))}; fix the factory"
                ) from exc
        if not isinstance(model, nn.Module):
            raise WorkloadError(
                f"workload {name!r}: the factory must return a torch.nn.Module, "
                f"not {type(model).__name__}"
            )
    if checkpoint is not None:
        workload, state = read_checkpoint(checkpoint)
        if workload is not None and workload != name:
            raise CheckpointError(
                f"checkpoint {os.fspath(checkpoint)!r} was saved for workload {workload!r}, "
                f"not {name!r}"
            )
        load_state_dict(model, state, source=os.fspath(checkpoint))
    return model.eval()


def load_model(
    checkpoint: str | os.PathLike[str], *, workload: str | None = None
) -> tuple[str, nn.Module]:
    """Rebuild the workload a checkpoint records and load its weights: ``(workload name, model)``.

    ``workload`` overrides the recorded name, and is required for a plain state-dict file. A
    recorded user-model spec (``"module:factory"``) is not imported from the file's say-so: pass
    it as ``workload`` to confirm it, since importing a module runs its code.

    Raises:
        CheckpointError: unreadable file, no workload recorded or given, a recorded user model not
            confirmed, or weights that do not match the architecture.
        WorkloadError: the workload cannot be built.
    """
    where = os.fspath(checkpoint)
    recorded, state = read_checkpoint(checkpoint)
    name = workload if workload is not None else recorded
    if name is None:
        raise CheckpointError(
            f"checkpoint {where!r} is a plain state dict that does not record its workload; "
            "give the workload name too (e.g. --workload resnet56)"
        )
    if workload is None and recorded is not None and recorded not in names():
        raise CheckpointError(
            f"checkpoint {where!r} records the user model {recorded!r}; give it explicitly as the "
            "workload to import it (importing a module runs its code)"
        )
    model = build(name)
    load_state_dict(model, state, source=where)
    return name, model.eval()
