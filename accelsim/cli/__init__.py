"""The ``accelsim`` command line: a thin layer that parses arguments and calls the library.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler``: a function taking the parsed arguments and returning the results as a
JSON-able dict (after printing its human-readable report). Every sub-command accepts ``--json
PATH``; the results are written there atomically. Errors the user can fix (:class:`AccelsimError`)
are printed as one line and exit with status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import AccelsimError, ConfigError, brief
from ..outputs import check_output, write_json
from . import compress, infer, plot, resources, rtl, run, sweep

COMMANDS = (run, compress, infer, rtl, resources, sweep, plot)
#: Options that name a file a command writes, and options that name a file it reads.
OUTPUT_OPTIONS = ("json", "out", "trace")
INPUT_OPTIONS = ("network", "model", "onnx", "config", "spec")


def check_distinct_files(args: argparse.Namespace) -> None:
    """Refuse an output path that is also another output or an input of the command: writing it would
    replace the other file (``--json x.krp --out x.krp`` left JSON in the network file).

    Raises:
        ConfigError: naming both options and the path.
    """
    seen: dict[str, str] = {}
    for option in OUTPUT_OPTIONS + INPUT_OPTIONS:
        value = getattr(args, option, None)
        if not isinstance(value, str) or not value or (option in INPUT_OPTIONS and not os.path.isfile(value)):
            continue
        key = os.path.realpath(value)
        first = seen.setdefault(key, option)
        if first != option:
            raise ConfigError(f"--{first} and --{option} must name different files, not both {brief(value)} "
                              f"(writing --{first if first in OUTPUT_OPTIONS else option} would replace the other)")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="accelsim",
        description="Compress CNNs with KRP + GSNQ and simulate their FPGA accelerator.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        command = module.register(sub)
        command.add_argument(
            "--json", metavar="PATH", help="also write the results to PATH as JSON"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``accelsim`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_distinct_files(args)
        if args.json is not None:
            check_output(args.json, "--json")  # before the work, not after it
        results = args.handler(args)
        if args.json is not None:
            write_json(args.json, results)
    except AccelsimError as error:
        print(f"accelsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("accelsim: interrupted", file=sys.stderr)
        return 130
    return int(results.get("exit_status", 0)) if isinstance(results, dict) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
