"""Option types shared by the commands, checked when the command line is parsed (exit status 2).

An empty ``--workload`` or ``--network`` is refused rather than taken as left out (which would
silently run the default workload), and a ``--network`` path must name an existing regular file
before anything is built (a pipe or device would otherwise be read forever).
"""

from __future__ import annotations

import argparse

from ..errors import AccelsimError, NetworkFileError
from ..inputs import input_file


def network_file(text: str) -> str:
    """``--network FILE``: the path of an existing regular file."""
    try:
        input_file(text, "network file", NetworkFileError)
    except AccelsimError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def workload_name(text: str) -> str:
    """``--workload NAME``: a non-empty name or ``module:factory`` spec (checked by the command)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"must name a built-in workload or a 'module:factory' user model, not {text!r}"
        )
    return text
