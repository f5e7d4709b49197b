"""``queuepulse replay``: run the tracker over a recorded AMI stream into SQLite."""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from collector.errors import UserError
from collector.facts import CallRecord, Fact
from collector.parser import FrameParser
from collector.replay import replay
from collector.store.opening import writing
from collector.store.writes import write_facts
from collector.trace import Frame, TraceFormatError, TraceReader, not_a_trace
from collector.tracker import Tracker
from queuepulse.config import load_config

_BATCH = 5000
_PROGRESS_FROM_BYTES = 20_000_000


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


def _with_progress(frames: Iterator[Frame], size: int, console: Console) -> Iterator[Frame]:
    with Progress(TextColumn("replaying"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("replay", total=size)
        for frame in frames:
            progress.update(task, advance=len(frame.text) + 32)
            yield frame


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay stored: its call records, and the torn last line it left out, if any."""

    calls: tuple[CallRecord, ...]
    torn_line: int | None


def replay_to_database(trace: Path, db_path: str, tracker: Tracker,
                       console: Console | None = None) -> Replayed:
    """Replay a trace into the database, in one transaction; return what it stored.

    A file that is not a trace is refused before the database is opened; a bad line in
    the middle stores nothing (and a database this created is removed).
    """
    if not trace.is_file():
        raise UserError(f"no trace file at {trace}. Give the path of a recorded AMI stream.")
    reader = TraceReader(trace)
    frames: Iterator[Frame] = iter(reader)
    try:
        first = next(frames, None)
    except TraceFormatError as error:
        raise UserError(str(error)) from error
    if first is None:
        raise UserError(str(not_a_trace(trace)))
    frames = itertools.chain([first], frames)
    if console is not None and trace.stat().st_size >= _PROGRESS_FROM_BYTES:
        frames = _with_progress(frames, trace.stat().st_size, console)
    calls: list[CallRecord] = []
    batch: list[Fact] = []
    with writing(db_path) as db, db.atomic():
        try:
            for fact in replay(frames, tracker, FrameParser()):
                batch.append(fact)
                if isinstance(fact, CallRecord):
                    calls.append(fact)
                if len(batch) >= _BATCH:
                    write_facts(db, batch, source="replay")
                    batch.clear()
        except TraceFormatError as error:
            raise UserError(str(error)) from error
        write_facts(db, batch, source="replay")
    return Replayed(tuple(calls), reader.torn_line)


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
    replayed = replay_to_database(args.trace, args.db, Tracker(config.tracker_config()),
                                  console)
    if replayed.torn_line is not None:
        print(f"queuepulse: warning: {args.trace}:{replayed.torn_line}: the last line is cut "
              "short (a recording stopped while writing); replayed the lines before it.",
              file=sys.stderr)
    if args.show:
        print_calls(list(replayed.calls), console)
    else:
        console.print(f"{len(replayed.calls)} calls written to {args.db}")
    return 0
