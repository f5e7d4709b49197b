"""The daemon's ``pbx.queue_log``: when it is read, and storing the calls it backfills.

The daemon's ``queue_log`` task follows the file (:class:`~collector.queue_log_tail.QueueLogTail`)
from the last moment the database knew of when the daemon started, and reads what
Asterisk adds every second, and at once when the daemon follows the AMI stream again
after a gap (the tracker's :class:`~collector.facts.Gap`) or stores a record a gap left
unfinished. The lines, and what the live collector did, go to
:class:`~collector.queue_log_backfill.QueueLogBackfill`; the calls it gives back are
stored by the rule every writer follows for a second record of a stint
(:func:`~collector.store.writes.store_calls`): ``source`` ``queue_log`` for a call the live
collector missed, ``live+queue_log`` for a live record completed. Those stored go to the
daemon's fact sinks too (the KPI board, MQTT, the KPI tables), as the live calls do.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import structlog
from sqlite_utils import Database

from collector.errors import UserError
from collector.facts import CALL_COLUMNS, CallRecord, Fact, Gap, Phase
from collector.queue_log_backfill import (
    HORIZON_S,
    Backfilled,
    Following,
    QueueLogBackfill,
    unfinished,
)
from collector.queue_log_files import time_zone
from collector.queue_log_tail import QueueLogTail
from collector.store.kpi_tables import mark_pending
from collector.store.queue_log_merge import SOURCE
from collector.store.reads import COMPLETED_SOURCE, call_from_values, newest_moment, read_calls
from collector.store.writer import Writer
from collector.store.writes import spanned, store_calls
from collector.tracker import TrackerConfig

log = structlog.get_logger("queuepulse.queue_log")

POLL_S = 1.0
"""How often the file is read for what Asterisk added."""
_BEFORE_S = 60.0
"""The file is read from this long before the last moment the database knew of: lines
of the same second are not always in order, and nothing is stored twice."""
_SETTLED_S = 5.0
"""queue_log lines are taken to be written within this long of the moment they are dated
(its times are whole seconds, and the clocks may differ a little)."""
_FIX = ("let the service user read it (docs/service.md, \"Reading Asterisk's queue_log\"), "
        "or remove pbx.queue_log")

FactSink = Callable[[Sequence[Fact]], None]


@dataclass(frozen=True, slots=True)
class _Start:
    """What the database knew when the daemon started."""

    since: float | None
    calls: list[CallRecord]


def _start(db: Database, now: float) -> _Start:
    since = newest_moment(db)
    if since is None or not math.isfinite(since):
        return _Start(None, [])
    since = min(since, now)
    return _Start(since, read_calls(db, since - HORIZON_S, since + 1.0))


def _as_stored(call: Backfilled) -> CallRecord:
    """The record as the ``calls`` table holds it, its unobserved timings unknown."""
    values = call.call.as_values()
    # CALL_COLUMNS ends with the call_id, which the record derives
    return call_from_values(values[:CALL_COLUMNS.index("call_id")])


def _store(db: Database, calls: Sequence[Backfilled]) -> list[Backfilled]:
    """Store backfilled calls, each by the rule for a second record of a stint; the ones
    the database took (it may hold a record that knows more, e.g. from an import)."""
    stored: list[Backfilled] = []
    with db.atomic():
        for call in calls:
            source = SOURCE if call.completes is None else COMPLETED_SOURCE
            result = store_calls(db, [call.call.as_values()], source)
            if result.added or result.replaced:
                stored.append(call)
        written = spanned(call.call.record for call in stored)
        if written is not None:
            mark_pending(db, written.start, written.end)
    return stored


class QueueLogFollower:
    """Follows ``pbx.queue_log`` for the daemon; tell it what the live collector does."""

    def __init__(self, path: str, tracker: TrackerConfig, timezone: str) -> None:
        self.path = path
        self.tail = QueueLogTail(Path(path), time_zone(timezone))
        self.backfill = QueueLogBackfill(tracker)
        self.stored = 0
        """Calls stored from queue_log so far."""
        self._unstored: list[Backfilled] = []
        """Calls decided but not stored yet (the database refused them: tried again)."""
        self._wake = asyncio.Event()
        self._step: asyncio.Future[None] | None = None
        self._trouble = ""

    # -- what the live collector does ------------------------------------------------

    def lost(self, at: float) -> None:
        """The daemon lost the AMI stream; ``at`` is the PBX time of its last event. The
        tracker's :class:`~collector.facts.Gap` fact, once it follows the stream again,
        says how long the gap was."""
        self.backfill.lost(at)

    def observed(self, facts: Sequence[Fact]) -> None:
        """Facts the live tracker produced: a gap, or a final record a gap left
        unfinished, is looked at soon."""
        self.backfill.observed(facts)
        if any(isinstance(f, Gap) or (isinstance(f, CallRecord) and f.phase is Phase.DONE
                                      and unfinished(f)) for f in facts):
            self._wake.set()

    # -- lifetime ----------------------------------------------------------------------

    async def prepare(self, writer: Writer, now: float) -> None:
        """Start from the last moment the database knows of (a new database: from the
        file's end), remembering the calls stored since a while before it. The time since
        that moment was not followed: the tracker's gap at its first event says until
        when (a new database has nothing before its first connection to backfill)."""
        start = await writer.call(partial(_start, now=now))
        self.backfill.observed(start.calls)
        if start.since is not None:
            self.backfill.lost(start.since)
        since = None if start.since is None else start.since - _BEFORE_S
        try:
            found = await asyncio.to_thread(self.tail.start, since)
        except OSError as error:
            raise UserError(f"cannot read pbx.queue_log {self.path} ({error.strerror}). "
                            f"Check the path, or {_FIX}.") from error
        if found:
            log.info("queue_log.following", path=self.path, since=since)
        else:
            log.warning("queue_log.missing", path=self.path,
                        detail="read from its start once Asterisk creates it")

    async def run(self, writer: Writer, live: Callable[[], Following],
                  seen_until: Callable[[], float], now: Callable[[], float],
                  sinks: FactSink) -> None:
        """Read what Asterisk adds and store what is missing, until cancelled.

        ``live()``: the stints the tracker follows; ``seen_until()``: the time of its latest
        event; ``now()``: the PBX's time now; ``sinks``: where stored calls go.
        """
        while True:
            # a step is not cut short: what it read or decided would be lost (see finish)
            self._step = asyncio.ensure_future(self._once(writer, live, seen_until, now(),
                                                          sinks))
            try:
                await asyncio.shield(self._step)
            except Exception:  # a bug on one odd line must not stop the collector
                log.exception("queue_log.step_failed", path=self.path)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)

    async def finish(self, writer: Writer, now: float, sinks: FactSink) -> None:
        """The live tracker has closed everything: a last step, with nothing followed."""
        if self._step is not None and not self._step.done():
            with contextlib.suppress(Exception):
                await self._step
        await self._once(writer, tuple, lambda: math.inf, now, sinks)

    async def _once(self, writer: Writer, live: Callable[[], Following],
                    seen_until: Callable[[], float], now: float, sinks: FactSink) -> None:
        """Read the lines Asterisk added, and store the calls they complete or add."""
        try:
            lines = await asyncio.to_thread(self.tail.read)
        except OSError as error:
            self._troubled(f"cannot read it ({error.strerror})")
            return
        self._troubled("")
        self.backfill.feed(lines)
        self.backfill.advance(now - _SETTLED_S)
        self._unstored += self.backfill.due(live, seen_until())
        if not self._unstored:
            return
        await writer.flush()  # the live records they complete or stand beside come first
        try:
            stored = await writer.call(partial(_store, calls=self._unstored))
        except sqlite3.Error as error:  # the writer reports it too; kept for the next step
            log.warning("queue_log.store_failed", calls=len(self._unstored), error=str(error))
            return
        self._unstored = []
        self.stored += len(stored)
        records = [_as_stored(call) for call in stored]
        for call, record in zip(stored, records, strict=True):
            log.info("call.backfilled", call_id=record.call_id, queue=record.queue,
                     outcome=record.outcome.value, agent=record.agent,
                     completed=call.completes is not None)
        if records:
            sinks(records)

    def _troubled(self, problem: str) -> None:
        if problem and problem != self._trouble:
            log.warning("queue_log.unreadable", path=self.path, problem=problem, fix=_FIX)
        elif not problem and self._trouble:
            log.info("queue_log.readable", path=self.path)
        self._trouble = problem
