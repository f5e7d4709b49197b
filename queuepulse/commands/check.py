"""``queuepulse check``: do the stored live calls agree with Asterisk's queue_log?

The comparison is :mod:`collector.queue_log_check`'s. Exit status 0 means full
agreement, 1 disagreement, 2 a usage problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from collector.crosscheck import TOLERANCE_S, Agreement
from collector.errors import UserError
from collector.queue_log_check import check_against_queue_log, utc_time
from queuepulse.config import load_config


def register(subparsers: Any) -> None:
    """Add the ``check`` command."""
    parser = subparsers.add_parser(
        "check",
        help="compare the stored live calls with Asterisk's queue_log, call by call",
        description="Compare the calls the live collector stored (source live or replay) "
        "with what Asterisk's queue_log says about the same time: calls missing on "
        "either side, outcomes that differ, and wait or talk+hold times that differ by "
        "more than the tolerance. Exit status 0: full agreement; 1: disagreement.",
    )
    parser.add_argument("--db", required=True, help="the queuepulse SQLite file")
    parser.add_argument("--queue-log", nargs="+", required=True, metavar="FILE",
                        dest="queue_log", help="queue_log file(s) (plain or gzip'd), or -")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_S, metavar="SECONDS",
                        help="largest timing difference that still agrees (default "
                        f"{TOLERANCE_S}; queue_log has whole seconds)")
    parser.add_argument("--config", type=Path, help="configuration file (agent names, "
                        "time zone of date-time stamps)")
    parser.add_argument("--timezone", metavar="TZ", help="time zone of date-time stamps "
                        "in the queue_log files (default: pbx.timezone)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="how to print the comparison (default: table)")
    parser.set_defaults(handler=run)


def print_agreement(agreement: Agreement, console: Console) -> None:
    """The verdict as readable tables."""
    a = agreement
    console.print(f"calls entering between {utc_time(a.window_start)} and "
                  f"{utc_time(a.window_end)}, tolerance {a.tolerance_s:g} s")
    summary = Table(show_header=False)
    summary.add_column("", justify="left")
    summary.add_column("", justify="right")
    for label, value in (
        ("queue_log calls", a.queue_log_calls),
        ("live calls", a.live_calls),
        ("matched", a.matched),
        ("agreeing", a.agreeing),
        ("missing from live data", a.missing_live),
        ("missing from queue_log", a.missing_queue_log),
        ("outcome differs", a.outcome_mismatches),
        (f"timing differs by more than {a.tolerance_s:g} s", a.timing_mismatches),
        ("transfer differs", a.transfer_mismatches),
        ("still going on where the queue_log ends", a.not_comparable),
    ):
        summary.add_row(label, f"{value:,}")
    console.print(summary)
    if a.differences:
        table = Table(title=f"{len(a.differences)} differences")
        for column in ("entered (UTC)", "queue", "uniqueid", "what", "live", "queue_log"):
            table.add_column(column)
        for d in a.differences:
            table.add_row(utc_time(d.entered_at)[:19], d.queue, d.uniqueid, d.what, d.live,
                          d.queue_log)
        console.print(table)
    verdict = "full agreement" if a.agrees else "disagreement"
    console.print(f"{verdict}: {a.agreeing:,} of {a.matched:,} matched calls agree")


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse check``."""
    if args.tolerance < 0:
        raise UserError("--tolerance must be zero or more seconds.")
    config = load_config(args.config)
    agreement = check_against_queue_log(args.db, args.queue_log, args.tolerance,
                                        config.tracker_config(),
                                        args.timezone or config.pbx.timezone)
    if args.format == "json":
        print(json.dumps({**asdict(agreement), "agrees": agreement.agrees}, indent=2))
    else:
        print_agreement(agreement, Console(width=None if sys.stdout.isatty() else 120))
    return 0 if agreement.agrees else 1
