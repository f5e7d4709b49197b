"""Importing queue_log history into the database, next to what it already holds.

The lines become calls and agent intervals by the live tracker's rules
(:mod:`collector.queue_log_import`); this module decides, against what the database
already holds, what to add (see ``docs/import.md``):

* a stint the database holds (from the live collector or an earlier import) is left
  alone unless this import knows more of it, by the one rule every writer follows
  (:func:`collector.overlap.replaces`): so a live record is completed only when the live
  collector did not see the stint end, and an imported one when an earlier piece of the
  log ended before its after-call work was decided;
* agent time that stored intervals already account for is not added again: an imported
  interval keeps only the parts no stored interval of the same agent covers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast

from sqlite_utils import Database

from collector.facts import INTERVAL_COLUMNS, AgentInterval
from collector.overlap import Span, merge_spans, uncovered
from collector.queue_log import QueueLogReader
from collector.queue_log_files import imported_facts, open_inputs, read_lines, time_zone
from collector.queue_log_import import ImportedCall, ImportFact, QueueLogImporter
from collector.store.kpi_tables import mark_pending
from collector.store.opening import writing
from collector.store.reads import LIVE_SOURCES, intervals_overlapping
from collector.store.writes import spanned, store_calls
from collector.tracker import TrackerConfig
from collector.user_files import Progress

SOURCE = "queue_log"
_BATCH = 20_000


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
class _Merge:
    """Adds imported facts to the database, leaving out what it already holds."""

    db: Database
    calls_written: int = 0
    intervals_written: int = 0
    calls_known_live: int = 0
    calls_known_imported: int = 0
    calls_completed: int = 0
    intervals_covered: int = 0
    intervals_trimmed: int = 0

    def add(self, facts: list[ImportFact]) -> None:
        calls = [f for f in facts if isinstance(f, ImportedCall)]
        intervals = [f for f in facts if isinstance(f, AgentInterval)]
        written = spanned([*(c.record for c in calls), *intervals])
        if written is None:
            return
        with self.db.atomic():
            self._add_calls(calls)
            self._add_intervals(intervals)
            mark_pending(self.db, written.start, written.end)

    def _add_calls(self, calls: list[ImportedCall]) -> None:
        if not calls:
            return
        stored = store_calls(self.db, [call.as_values() for call in calls], SOURCE)
        self.calls_written += stored.added
        self.calls_known_live += sum(stored.kept[source] for source in LIVE_SOURCES)
        self.calls_known_imported += stored.kept[SOURCE]
        self.calls_completed += sum(stored.replaced.values())

    def _add_intervals(self, intervals: list[AgentInterval]) -> None:
        intervals = [i for i in intervals if i.ended_at is not None and i.ended_at > i.started_at]
        if not intervals:
            return
        agents = {i.agent for i in intervals}
        lo = min(i.started_at for i in intervals)
        hi = max(cast(float, i.ended_at) for i in intervals)
        spans: dict[str, list[Span]] = {}
        for stored in intervals_overlapping(self.db, lo, hi):
            if stored.agent in agents:
                spans.setdefault(stored.agent, []).append(
                    Span(stored.started_at, cast(float, stored.ended_at)))
        covered = {agent: merge_spans(s) for agent, s in spans.items()}
        rows: list[tuple[object, ...]] = []
        for interval in intervals:
            cover = covered.get(interval.agent)
            # intervals come in time order: most start after all their agent's stored time
            if not cover or interval.started_at >= cover[-1].end:
                rows.append((*interval.as_values(), SOURCE))
                continue
            span = Span(interval.started_at, cast(float, interval.ended_at))
            parts = uncovered(span, cover)
            if parts == [span]:
                rows.append((*interval.as_values(), SOURCE))
            elif not parts:
                self.intervals_covered += 1
            else:
                self.intervals_trimmed += 1
                rows.extend((*replace(interval, started_at=part.start,
                                      ended_at=part.end).as_values(), SOURCE) for part in parts)
        if rows:
            # a row already stored under the same key stays
            self.db.conn.executemany(_INSERT_INTERVAL, rows)
            self.intervals_written += len(rows)


_INSERT_INTERVAL = (f"INSERT OR IGNORE INTO agent_states ({', '.join(INTERVAL_COLUMNS)}, "
                    f"source) VALUES ({', '.join('?' * (len(INTERVAL_COLUMNS) + 1))})")


def _counts(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def import_to_database(names: Sequence[str], db_path: str, tracker: TrackerConfig,
                       timezone: str, progress: Progress | None = None) -> ImportSummary:
    """Import queue_log files into the database; say what was added and left out.

    ``timezone`` is the one of date-time stamps in the files; ``progress`` hears how much
    of the files was read.
    """
    reader = QueueLogReader(time_zone(timezone))
    importer = QueueLogImporter(tracker)
    # the files are opened first: a missing one leaves the database as it was (or absent)
    with open_inputs(names) as inputs, writing(db_path) as db:
        # an import can be run again, so a power cut may lose its last batches, not the file
        db.execute("PRAGMA synchronous = NORMAL")
        merge = _Merge(db)
        lines = read_lines(inputs, reader, progress)
        for batch in imported_facts(lines, importer, _BATCH):
            merge.add(batch)
    stats = importer.stats
    return ImportSummary(
        lines_read=reader.lines_read,
        calls_written=merge.calls_written,
        intervals_written=merge.intervals_written,
        calls_known_live=merge.calls_known_live,
        calls_known_imported=merge.calls_known_imported,
        calls_completed=merge.calls_completed,
        intervals_covered=merge.intervals_covered,
        intervals_trimmed=merge.intervals_trimmed,
        unfinished_calls=stats.unfinished_calls,
        open_intervals=stats.open_intervals,
        restarts=stats.restarts,
        skipped=_counts(reader.skipped + stats.skipped),
        informational=_counts(stats.informational),
        anomalies=_counts(stats.anomalies),
    )
