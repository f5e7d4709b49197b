"""``queuepulse import-queue-log``: bring history in from Asterisk's queue_log.

The merge rules (what is added, what is left as it is) are
:mod:`collector.store.queue_log_merge`'s; see ``docs/import.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from collector.store.queue_log_merge import ImportSummary, import_to_database
from queuepulse.config import load_config
from queuepulse.kpi_tables import describe, refresh_file
from queuepulse.progress import ProgressBar


def register(subparsers: Any) -> None:
    """Add the ``import-queue-log`` command."""
    parser = subparsers.add_parser(
        "import-queue-log",
        help="import call and agent history from Asterisk's queue_log files",
        description="Read Asterisk queue_log files (plain or gzip'd, rotated pieces in any "
        "order, '-' for standard input) and store their calls and agent state intervals "
        "in SQLite with source 'queue_log'. Importing the same lines again adds nothing; "
        "calls the live collector already recorded are left as they are.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="queue_log file(s), or -")
    parser.add_argument("--db", required=True, help="SQLite file to write (created if needed)")
    parser.add_argument("--config", type=Path, help="configuration file (queues' wrapuptime, "
                        "ACW pause reasons, agent names)")
    parser.add_argument("--timezone", metavar="TZ", help="time zone of date-time stamps "
                        "(2026-11-24 01:47:08) in the files; default: pbx.timezone from the "
                        "config. Epoch stamps are absolute and need none.")
    parser.set_defaults(handler=run)


def print_summary(summary: ImportSummary, db_path: str, console: Console) -> None:
    """The import's summary, for a person."""
    s = summary
    console.print(f"read {s.lines_read:,} queue_log lines into {db_path}")
    console.print(f"  written: {s.calls_written:,} calls, {s.intervals_written:,} agent "
                  "state intervals")
    completed = f" ({s.calls_completed:,} completed now)" if s.calls_completed else ""
    console.print(f"  calls already present: {s.calls_known_live:,} from the live "
                  f"collector, {s.calls_known_imported:,} imported before{completed}")
    trimmed = f" ({s.intervals_trimmed:,} more trimmed)" if s.intervals_trimmed else ""
    console.print(f"  agent intervals already covered: {s.intervals_covered:,}{trimmed}")
    console.print(f"  going on where the input ends, not stored: {s.unfinished_calls:,} "
                  f"calls, {s.open_intervals:,} agent intervals")
    if s.restarts:
        console.print(f"  Asterisk restarts (QUEUESTART): {s.restarts:,}")
    for title, counts in (("lines skipped", s.skipped),
                          ("lines with nothing to store", s.informational),
                          ("lines that did not fit (nothing stored from them)", s.anomalies)):
        if counts:
            console.print(f"  {title}: {sum(n for _, n in counts):,}")
            for reason, count in counts:
                console.print(f"    {count:>9,}  {reason}")


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse import-queue-log``."""
    config = load_config(args.config)
    with ProgressBar("importing", Console(stderr=True)) as progress:
        summary = import_to_database(args.files, args.db, config.tracker_config(),
                                     args.timezone or config.pbx.timezone, progress)
    rebuilt = refresh_file(args.db)
    console = Console(width=None if sys.stdout.isatty() else 120)
    print_summary(summary, args.db, console)
    console.print(f"  {describe(rebuilt)}")
    return 0
