"""The ``queuepulse`` command line.

Each command lives in ``queuepulse.commands.<name>`` and exposes ``register(subparsers)``,
which adds its parser and sets ``handler`` to a function taking the parsed arguments and
returning an exit status. Expected trouble (a bad config, an unreadable file, a PBX that
refuses the login) is a :class:`~collector.errors.UserError`: one readable line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from collector.errors import UserError
from queuepulse.commands import (
    calls,
    check,
    check_config,
    demo,
    import_queue_log,
    init,
    rebuild_kpis,
    record,
    replay,
    report,
    run,
    top,
)

COMMANDS = (replay, import_queue_log, check, run, record, check_config, report, calls,
            rebuild_kpis, demo, top, init)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="queuepulse",
        description="Call-center KPIs for Asterisk and FreePBX queues.",
    )
    parser.add_argument("--version", action="version", version=f"queuepulse {_version()}",
                        help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def _version() -> str:
    try:
        return version("queuepulse")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        status: int = args.handler(args)
    except UserError as error:
        print(f"queuepulse: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status

