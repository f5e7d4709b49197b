"""``queuepulse check``: do the stored live calls agree with Asterisk's queue_log?

Reads the queue_log files the way ``import-queue-log`` does (without storing anything),
takes the calls the live collector stored (source ``live`` or ``replay``) over the same
time, and compares them call by call (:mod:`collector.crosscheck`). Exit status 0 means
full agreement, 1 disagreement, 2 a usage problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from collector.crosscheck import Agreement, Stint, compare
from collector.errors import UserError
from collector.overlap import Span
from collector.queue_log import QueueLogReader
from collector.queue_log_import import ImportedCall, QueueLogImporter
from collector.store.opening import reading
from queuepulse.commands.import_queue_log import (
    LIVE_SOURCES,
    imported_facts,
    open_inputs,
    read_lines,
    zone,
)
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
    parser.add_argument("--tolerance", type=float, default=1.0, metavar="SECONDS",
                        help="largest timing difference that still agrees (default 1.0; "
                        "queue_log has whole seconds)")
    parser.add_argument("--config", type=Path, help="configuration file (agent names, "
                        "time zone of date-time stamps)")
    parser.add_argument("--timezone", metavar="TZ", help="time zone of date-time stamps "
                        "in the queue_log files (default: pbx.timezone)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="how to print the comparison (default: table)")
    parser.set_defaults(handler=run)


def _logged_stint(call: ImportedCall) -> Stint:
    r = call.record
    return Stint(r.uniqueid, r.queue, r.entered_at, r.outcome.value, r.agent, r.wait_s,
                 r.talk_s, bool(r.transferred))


def _live_stint(row: dict[str, Any]) -> Stint:
    talk, hold = row["talk_s"], row["hold_s"]
    connected = None if talk is None else talk + (hold or 0.0)
    return Stint(row["uniqueid"], row["queue"], row["entered_at"], row["outcome"],
                 row["agent"], row["wait_s"], connected, bool(row["transferred"]))


def check_against_queue_log(db_path: str, names: list[str], tolerance: float,
                            config_path: Path | None = None, timezone: str | None = None,
                            ) -> Agreement:
    """Compare the database's live calls with the queue_log files."""
    if tolerance < 0:
        raise UserError("--tolerance must be zero or more seconds.")
    config = load_config(config_path)
    with reading(db_path) as db:
        reader = QueueLogReader(zone(timezone, config))
        importer = QueueLogImporter(config.tracker_config())
        with open_inputs(names) as inputs:
            logged = [_logged_stint(f) for f in imported_facts(read_lines(inputs, reader),
                                                               importer)
                      if isinstance(f, ImportedCall)]
        stats = importer.stats
        if stats.first_at is None or stats.last_at is None:
            raise UserError("the queue_log files hold no queue_log lines. Check the file "
                            "names.")
        marks = ", ".join("?" * len(LIVE_SOURCES))
        live = [_live_stint(row) for row in db.query(
            "SELECT uniqueid, queue, entered_at, outcome, agent, wait_s, talk_s, hold_s, "
            f"transferred FROM calls WHERE source IN ({marks}) AND entered_at <= ? "
            "AND coalesce(ended_at, entered_at) >= ?",
            [*LIVE_SOURCES, stats.last_at + 5.0, stats.first_at - 5.0])]
    if not live:
        raise UserError(f"the database has no live calls between {_when(stats.first_at)} and "
                        f"{_when(stats.last_at)}, the time the queue_log covers. Check --db "
                        "and that the files come from the same PBX.")
    window = Span(max(stats.first_at, min(s.entered_at for s in live)),
                  min(stats.last_at, max(s.entered_at for s in live)))
    return compare(live, logged, window, stats.unfinished, tolerance)


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def print_agreement(agreement: Agreement, console: Console) -> None:
    """The verdict as readable tables."""
    a = agreement
    console.print(f"calls entering between {_when(a.window_start)} and "
                  f"{_when(a.window_end)}, tolerance {a.tolerance_s:g} s")
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
            table.add_row(_when(d.entered_at)[:19], d.queue, d.uniqueid, d.what, d.live,
                          d.queue_log)
        console.print(table)
    verdict = "full agreement" if a.agrees else "disagreement"
    console.print(f"{verdict}: {a.agreeing:,} of {a.matched:,} matched calls agree")


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse check``."""
    agreement = check_against_queue_log(args.db, args.queue_log, args.tolerance, args.config,
                                        args.timezone)
    if args.format == "json":
        print(json.dumps({**asdict(agreement), "agrees": agreement.agrees}, indent=2))
    else:
        print_agreement(agreement, Console(width=None if sys.stdout.isatty() else 120))
    return 0 if agreement.agrees else 1

