"""``queuepulse replay``: run the tracker over a recorded AMI stream into SQLite."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from collector.facts import CallRecord
from collector.replay import replay_to_database
from collector.tracker import Tracker
from queuepulse.config import load_config
from queuepulse.kpi_tables import describe, refresh_file
from queuepulse.progress import ProgressBar


def register(subparsers: Any) -> None:
    """Add the ``replay`` command."""
    parser = subparsers.add_parser(
        "replay",
        help="derive calls and agent states from a recorded AMI stream",
        description="Run the call tracker over a recorded AMI stream (JSON Lines as written "
        "by 'queuepulse record', or a plain AMI text capture) and store the calls and "
        "agent state intervals in SQLite.",
    )
    parser.add_argument("trace", type=Path, help="the recorded stream")
    parser.add_argument("--db", required=True, help="SQLite file to write (created if needed)")
    parser.add_argument("--config", type=Path, help="configuration file (queues' wrapuptime, "
                        "ACW pause reasons, agent names)")
    parser.add_argument("--print", action="store_true", dest="show",
                        help="also print the calls as a table")
    parser.set_defaults(handler=run)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def print_calls(calls: list[CallRecord], console: Console) -> None:
    """Show call records as a readable table."""
    table = Table(title=f"{len(calls)} calls")
    for column in ("queue", "caller", "outcome", "agent", "wait", "talk", "hold", "acw",
                   "handle", "rings", "transfer"):
        table.add_column(column, justify="right" if column in
                         ("wait", "talk", "hold", "acw", "handle", "rings") else "left")
    for c in sorted(calls, key=lambda c: c.entered_at):
        table.add_row(c.queue, c.caller_num, c.outcome.value, c.agent or "", _fmt(c.wait_s),
                      _fmt(c.talk_s), _fmt(c.hold_s), _fmt(c.acw_s), _fmt(c.handle_s),
                      str(c.ring_attempts), c.transfer_to or "")
    console.print(table)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse replay``."""
    config = load_config(args.config)
    # rich falls back to 80 columns off a terminal, too narrow for the table
    console = Console(stderr=not args.show, width=None if sys.stdout.isatty() else 160)
    with ProgressBar("replaying", console) as progress:
        replayed = replay_to_database(args.trace, args.db, Tracker(config.tracker_config()),
                                      progress)
    if replayed.torn_line is not None:
        print(f"queuepulse: warning: {args.trace}:{replayed.torn_line}: the last line is cut "
              "short (a recording stopped while writing); replayed the lines before it.",
              file=sys.stderr)
    rebuilt = refresh_file(args.db)
    if args.show:
        print_calls(list(replayed.calls), console)
    else:
        console.print(f"{len(replayed.calls)} calls written to {args.db}")
        console.print(describe(rebuilt))
    return 0
