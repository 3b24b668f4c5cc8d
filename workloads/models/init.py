"""Deterministic weight initialization from an explicit random generator.

The built-in models are initialized here rather than by the layers' own ``reset_parameters``, so
that the weights depend only on the generator (and hence on the seed given to
:func:`workloads.build`), never on the global torch random state.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Layer types without parameters or buffers: nothing to initialize.
_STATELESS = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten)


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Initialize every parameter and buffer of ``model`` in place, drawing from ``generator``.

    Convolutions: Kaiming normal (fan_out, ReLU gain), bias 0. BatchNorm: weight 1, bias 0, running
    mean 0, running variance 1. Linear: PyTorch's default (Kaiming uniform with a = sqrt(5), bias
    uniform in +-1/sqrt(fan_in)). Modules are visited in ``model.modules()`` order, so the result is
    a pure function of the architecture and the generator's state.

    Raises:
        TypeError: a module with parameters of a type this function does not know (a programming
            error in a built-in architecture, not a user error).
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(
                module.weight, mode="fan_out", nonlinearity="relu", generator=generator
            )
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.weight.fill_(1.0)
            module.bias.zero_()
        elif isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                bound = 1.0 / math.sqrt(module.in_features)
                module.bias.uniform_(-bound, bound, generator=generator)
        elif not isinstance(module, _STATELESS) and (
            any(True for _ in module.parameters(recurse=False))
            or any(True for _ in module.buffers(recurse=False))
        ):
            raise TypeError(f"init_weights does not know how to initialize {type(module).__name__}")
