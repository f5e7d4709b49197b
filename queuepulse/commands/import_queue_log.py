"""``queuepulse import-queue-log``: bring history in from Asterisk's queue_log.

The lines become calls and agent intervals by the live tracker's rules
(:mod:`collector.queue_log_import`); this shell reads the files and decides, against
what the database already holds, what to add (see ``docs/import.md``):

* a stint the live collector (``live``/``replay`` rows) already recorded is left alone;
* a stint imported before is left alone, unless this import knows more of it (its
  after-call work, when the earlier piece of the log ended before that was decided);
* agent time that stored intervals already account for is not added again: an imported
  interval keeps only the parts no stored interval of the same agent covers.
"""

from __future__ import annotations

import argparse
import io
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from sqlite_utils import Database

from collector.errors import UserError
from collector.facts import AgentInterval, Outcome
from collector.overlap import Span, StintIndex, merge_spans, uncovered
from collector.queue_log import QueueLogLine, QueueLogReader, decoded
from collector.queue_log_import import ImportedCall, ImportFact, QueueLogImporter
from collector.store.opening import writing
from queuepulse.config import Config, load_config

SOURCE = "queue_log"
LIVE_SOURCES = ("live", "replay")
_BATCH = 20_000
_PROGRESS_FROM_BYTES = 20_000_000
_PROGRESS_EVERY = 16_384


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


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import read, stored and left out, and why."""

    lines_read: int
    calls_written: int
    intervals_written: int
    calls_known_live: int
    calls_known_imported: int
    calls_completed: int
    intervals_covered: int
    intervals_trimmed: int
    unfinished_calls: int
    open_intervals: int
    restarts: int
    skipped: tuple[tuple[str, int], ...]
    informational: tuple[tuple[str, int], ...]
    anomalies: tuple[tuple[str, int], ...]


@dataclass(slots=True)
class QueueLogInput:
    """One queue_log file being read: its text, and its raw bytes for progress."""

    name: str
    raw: io.BufferedReader
    size: int | None
    text: IO[str]


def _open(name: str) -> QueueLogInput:
    if name == "-":
        # typeshed calls stdin's buffer a BinaryIO; it is a BufferedReader, which can peek
        raw = cast(io.BufferedReader, sys.stdin.buffer)
        return QueueLogInput("standard input", raw, None, decoded(raw))
    path = Path(name)
    try:
        raw = path.open("rb")
    except OSError as error:
        raise UserError(f"cannot read queue_log file {name} ({error.strerror}). "
                        "Check the path and that queuepulse may read it.") from error
    return QueueLogInput(name, raw, path.stat().st_size, decoded(raw))


@contextmanager
def open_inputs(names: Sequence[str]) -> Iterator[list[QueueLogInput]]:
    """The queue_log files, open for reading, closed afterwards."""
    if names.count("-") > 1:
        raise UserError("standard input ('-') can be read only once. Name it once.")
    with ExitStack() as stack:
        inputs = []
        for name in names:
            opened = _open(name)
            if name != "-":
                stack.callback(opened.text.close)
            inputs.append(opened)
        yield inputs


def _text_lines(source: QueueLogInput, skipped: Counter[str]) -> Iterator[str]:
    """A file's lines; a damaged gzip stream ends the file, counted, not the import."""
    try:
        yield from source.text
    except (OSError, EOFError, zlib.error) as error:
        skipped[f"unreadable end of {source.name} ({error})"] += 1


def zone(name: str | None, config: Config) -> ZoneInfo:
    """The time zone for date-time stamps: the one given, else the PBX's."""
    chosen = name or config.pbx.timezone
    try:
        return ZoneInfo(chosen)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(f"unknown time zone {chosen!r}. Use an IANA name such as "
                        "'Europe/Berlin' or 'UTC'.") from error


def read_lines(inputs: list[QueueLogInput], reader: QueueLogReader,
               console: Console | None = None) -> Iterator[QueueLogLine]:
    """Every line of the inputs in time order, with a progress bar for big files."""
    lines = reader.read([_text_lines(i, reader.skipped) for i in inputs])
    sizes = [i.size for i in inputs]
    if console is None or None in sizes or sum(s or 0 for s in sizes) < _PROGRESS_FROM_BYTES:
        yield from lines
        return
    total = sum(s or 0 for s in sizes)
    with Progress(TextColumn("importing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("import", total=total)
        for count, line in enumerate(lines):
            if count % _PROGRESS_EVERY == 0:
                progress.update(task, completed=sum(
                    (i.size or 0) if i.raw.closed else i.raw.tell() for i in inputs))
            yield line


@dataclass(slots=True)
class _Store:
    """Adds imported facts to the database, leaving out what it already holds."""

    db: Database
    calls_written: int = 0
    intervals_written: int = 0
    calls_known_live: int = 0
    calls_known_imported: int = 0
    calls_completed: int = 0
    intervals_covered: int = 0
    intervals_trimmed: int = 0
    longest_interval: float | None = None

    def add(self, facts: list[ImportFact]) -> None:
        calls = [f for f in facts if isinstance(f, ImportedCall)]
        intervals = [f for f in facts if isinstance(f, AgentInterval)]
        with self.db.atomic():
            self._add_calls(calls)
            self._add_intervals(intervals)

    def _add_calls(self, calls: list[ImportedCall]) -> None:
        if not calls:
            return
        entered = [c.record.entered_at for c in calls]
        stored: StintIndex[tuple[str, str, int]] = StintIndex()
        for row in self.db.query(
            "SELECT call_id, uniqueid, queue, entered_at, source, outcome, ended_at, acw_s "
            "FROM calls WHERE entered_at BETWEEN :lo AND :hi",
            {"lo": min(entered) - 5.0, "hi": max(entered) + 5.0},
        ):
            stored.add(row["uniqueid"], row["queue"], row["entered_at"],
                       (row["call_id"], row["source"] or "", _completeness(
                           row["outcome"], row["ended_at"], row["acw_s"])))
        rows, replaced = [], []
        for call in calls:
            r = call.record
            known = stored.find(r.uniqueid, r.queue, r.entered_at)
            if known is not None:
                call_id, source, completeness = known
                if source != SOURCE:
                    self.calls_known_live += 1
                    continue
                if _completeness(r.outcome, r.ended_at, r.acw_s) <= completeness:
                    self.calls_known_imported += 1
                    continue
                replaced.append((call_id,))
                self.calls_completed += 1
            rows.append({**call.as_row(), "source": SOURCE})
            stored.add(r.uniqueid, r.queue, r.entered_at,
                       (r.call_id, SOURCE, _completeness(r.outcome, r.ended_at, r.acw_s)))
        if replaced:
            self.db.conn.executemany("DELETE FROM calls WHERE call_id = ?", replaced)
        if rows:
            _insert(self.db, "calls", rows)
            self.calls_written += len(rows) - len(replaced)

    def _add_intervals(self, intervals: list[AgentInterval]) -> None:
        intervals = [i for i in intervals if i.ended_at is not None and i.ended_at > i.started_at]
        if not intervals:
            return
        agents = sorted({i.agent for i in intervals})
        lo = min(i.started_at for i in intervals)
        hi = max(cast(float, i.ended_at) for i in intervals)
        if self.longest_interval is None:
            (longest,) = self.db.execute(
                "SELECT max(ended_at - started_at) FROM agent_states").fetchone()
            self.longest_interval = longest or 0.0
        self.longest_interval = max(self.longest_interval, *(
            cast(float, i.ended_at) - i.started_at for i in intervals))
        spans: dict[str, list[Span]] = {}
        marks = ", ".join("?" * len(agents))
        # the lower bound on started_at keeps the scan to the batch's time, not all history
        for agent, started, ended in self.db.execute(
            f"SELECT agent, started_at, ended_at FROM agent_states WHERE agent IN ({marks}) "
            "AND started_at >= ? AND started_at < ? AND ended_at > ?",
            [*agents, lo - self.longest_interval, hi, lo],
        ).fetchall():
            spans.setdefault(agent, []).append(Span(started, ended))
        covered = {agent: merge_spans(s) for agent, s in spans.items()}
        rows: list[dict[str, object]] = []
        for interval in intervals:
            span = Span(interval.started_at, cast(float, interval.ended_at))
            parts = uncovered(span, covered[interval.agent]) if interval.agent in covered else [
                span]
            if not parts:
                self.intervals_covered += 1
                continue
            if parts != [span]:
                self.intervals_trimmed += 1
            rows.extend({"agent": interval.agent, "interface": interval.interface,
                         "queue": interval.queue, "state": interval.state.value,
                         "reason": interval.reason, "started_at": part.start,
                         "ended_at": part.end, "source": SOURCE} for part in parts)
        if rows:
            _insert(self.db, "agent_states", rows)
            self.intervals_written += len(rows)


def _insert(db: Database, table: str, rows: list[dict[str, object]]) -> None:
    """Add rows, keeping any row already stored under the same key (a live row wins)."""
    columns = list(rows[0])
    db.conn.executemany(
        f"INSERT OR IGNORE INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join(f':{c}' for c in columns)})",
        rows,
    )


def _completeness(outcome: str, ended_at: float | None, acw_s: float | None) -> int:
    """How much of a stint a record knows: its outcome, its end, its after-call work."""
    return ((outcome != Outcome.UNKNOWN) + (ended_at is not None)
            + (acw_s is not None or outcome != Outcome.ANSWERED))


def _batches(facts: Iterable[ImportFact]) -> Iterator[list[ImportFact]]:
    batch: list[ImportFact] = []
    for fact in facts:
        batch.append(fact)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    yield batch


def imported_facts(lines: Iterable[QueueLogLine], importer: QueueLogImporter,
                   ) -> Iterator[ImportFact]:
    """The facts of the lines, then of the input's end."""
    feed = importer.feed
    for line in lines:
        yield from feed(line)
    yield from importer.finish()


def _counts(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def import_to_database(names: Sequence[str], db_path: str, config: Config,
                       timezone: str | None = None, console: Console | None = None,
                       ) -> ImportSummary:
    """Import queue_log files into the database; say what was added and left out."""
    reader = QueueLogReader(zone(timezone, config))
    importer = QueueLogImporter(config.tracker_config())
    # the files are opened first: a missing one leaves the database as it was (or absent)
    with open_inputs(names) as inputs, writing(db_path) as db:
        # an import can be run again, so a power cut may lose its last batches, not the file
        db.execute("PRAGMA synchronous = NORMAL")
        store = _Store(db)
        lines = read_lines(inputs, reader, console)
        for batch in _batches(imported_facts(lines, importer)):
            store.add(batch)
    stats = importer.stats
    return ImportSummary(
        lines_read=reader.lines_read,
        calls_written=store.calls_written,
        intervals_written=store.intervals_written,
        calls_known_live=store.calls_known_live,
        calls_known_imported=store.calls_known_imported,
        calls_completed=store.calls_completed,
        intervals_covered=store.intervals_covered,
        intervals_trimmed=store.intervals_trimmed,
        unfinished_calls=stats.unfinished_calls,
        open_intervals=stats.open_intervals,
        restarts=stats.restarts,
        skipped=_counts(reader.skipped + stats.skipped),
        informational=_counts(stats.informational),
        anomalies=_counts(stats.anomalies),
    )


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
    console = Console(stderr=True)
    summary = import_to_database(args.files, args.db, config, args.timezone, console)
    print_summary(summary, args.db, Console(width=None if sys.stdout.isatty() else 120))
    return 0
