"""Do the stored live calls agree with Asterisk's queue_log?

Reads the queue_log files the way an import does (without storing anything), takes the
calls the live collector stored (source ``live`` or ``replay``) over the same time, and
compares them call by call (:func:`collector.crosscheck.compare`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from collector.crosscheck import Agreement, Stint, compare
from collector.errors import UserError
from collector.overlap import Span
from collector.queue_log import QueueLogReader
from collector.queue_log_files import imported_facts, open_inputs, read_lines, time_zone
from collector.queue_log_import import ImportedCall, QueueLogImporter
from collector.store.opening import reading
from collector.store.reads import live_stints
from collector.tracker import TrackerConfig


def _logged_stint(call: ImportedCall) -> Stint:
    r = call.record
    return Stint(r.uniqueid, r.queue, r.entered_at, r.outcome.value, r.agent, r.wait_s,
                 r.talk_s, bool(r.transferred))


def check_against_queue_log(db_path: str, names: Sequence[str], tolerance: float,
                            tracker: TrackerConfig, timezone: str) -> Agreement:
    """Compare the database's live calls with the queue_log files (``timezone``: the one of
    their date-time stamps)."""
    with reading(db_path) as db:
        reader = QueueLogReader(time_zone(timezone))
        importer = QueueLogImporter(tracker)
        with open_inputs(names) as inputs:
            logged = [_logged_stint(f)
                      for facts in imported_facts(read_lines(inputs, reader), importer)
                      for f in facts if isinstance(f, ImportedCall)]
        stats = importer.stats
        if stats.first_at is None or stats.last_at is None:
            raise UserError("the queue_log files hold no queue_log lines. Check the file "
                            "names.")
        live = live_stints(db, stats.first_at - 5.0, stats.last_at + 5.0)
    if not live:
        raise UserError(f"the database has no live calls between {utc_time(stats.first_at)} "
                        f"and {utc_time(stats.last_at)}, the time the queue_log covers. Check "
                        "--db and that the files come from the same PBX.")
    window = Span(max(stats.first_at, min(s.entered_at for s in live)),
                  min(stats.last_at, max(s.entered_at for s in live)))
    return compare(live, logged, window, stats.unfinished, tolerance)


def utc_time(at: float | None) -> str:
    """An instant as a UTC date and time, ``-`` for none."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
