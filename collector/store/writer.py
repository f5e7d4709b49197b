"""The store's single writer: one thread owns the SQLite connection, fed by a queue.

The event loop never waits for SQLite: it hands facts, raw events and reference rows to
:class:`Writer`, which gathers them in the event loop for :data:`HAND_OVER_S` (one
hand-over to the thread, not one per socket read: each wakes the thread, which then
takes the interpreter from the reader) and commits them from its own thread in batches,
so that every fact is on disk within ``commit_interval_s`` of being handed over. When a
commit fails (the file is locked by another program, read-only, or the disk is full) the
batch stays in memory, the error is logged with its fix, and the commit is retried after a
:class:`~collector.backoff.Backoff` delay until it succeeds: a fact is never dropped,
and the daemon carries on meanwhile.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import structlog
from sqlite_utils import Database

from collector.backoff import Backoff
from collector.errors import UserError
from collector.facts import Fact
from collector.store.opening import advice, open_database, unusable
from collector.store.writes import (
    EventRow,
    Reference,
    insert_events,
    write_facts,
    write_reference,
)

log = structlog.get_logger("collector.store.writer")

T = TypeVar("T")

HAND_OVER_S = 0.05
"""How long the event loop gathers facts and raw events before it hands them to the
writer thread; counted in the commit interval."""
_MAX_PENDING_EVENTS = 200_000
"""Raw frames kept in memory while the database cannot be written (facts are all kept)."""
BACKLOG_HIGH = 12_000
"""Facts and raw frames handed over but not committed past which the writer is *behind*:
the daemon then stops reading the AMI until it is down to :data:`BACKLOG_LOW`, so that a
PBX faster than the disk costs a bounded amount of memory (some 10 MB of frames), not a
queue that grows for as long as the burst lasts."""
BACKLOG_LOW = 6_000
_BACKLOG_POLL_S = 0.01
_STILL_FAILING_EVERY_S = 60.0
_FIRST_RETRY_S = 0.05
_RETRY_MAX_S = 5.0
"""Failed commits are retried within 50 ms at first, then with the ceiling doubling up to
5 s: a lock another program holds briefly costs no more than that, and once a full disk
or a read-only file is fixed the facts are on disk within 5 s. A failed attempt costs one
local transaction and nothing on the PBX, so there is nothing for a setting to tune."""
_BUSY_TIMEOUT_MS = 1000
"""How long one commit waits for another program's lock before it fails and is retried:
long enough for a reader's transaction, short enough that a lock held on is logged."""
_STOP_TIMEOUT_S = 10.0
"""How long stopping waits for the last commit, then for the thread: both together stay
under the systemd unit's TimeoutStopSec=30s, so that an unwritable database is reported
(``store.unsaved``) rather than the process killed."""


class StoreError(UserError):
    """The database could not be opened at start-up."""


@dataclass(slots=True)
class WriterStats:
    """What the writer did; ``max_lag_s`` is the longest wait from hand-over to commit."""

    commits: int = 0
    facts: int = 0
    events: int = 0
    failures: int = 0
    events_dropped: int = 0
    max_lag_s: float = 0.0
    last_error: str = ""


@dataclass(slots=True)
class _Batch:
    facts: list[Fact] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    reference: Reference | None = None
    since: float | None = None
    """When the oldest uncommitted item was handed over (monotonic clock)."""
    waiters: list[Future[None]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.facts or self.events or self.reference)


@dataclass(frozen=True, slots=True)
class _Handed:
    """Work for the next commit, stamped with the moment it was handed over."""

    at: float
    facts: tuple[Fact, ...] = ()
    events: tuple[EventRow, ...] = ()
    reference: Reference | None = None


@dataclass(slots=True)
class _Gathered:
    """Work gathered in the event loop for the next hand-over, since ``at`` (monotonic)."""

    facts: list[Fact] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    reference: Reference | None = None
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class _Call:
    fn: Callable[[Database], Any]
    result: Future[Any]


_STOP = object()


def _settle(future: Future[Any], result: object = None,
            error: BaseException | None = None) -> None:
    """Resolve a future the event loop may have given up on (a cancelled wait)."""
    if future.set_running_or_notify_cancel():
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _forget_failed_probe(db: Database) -> None:
    # sqlite-utils finds out whether SQLite supports ON CONFLICT by creating a table, once.
    # On a read-only or full database that fails and it falls back for good to an upsert
    # (INSERT OR IGNORE, then UPDATE) that silently inserts nothing into tables with
    # NOT NULL columns such as ``calls``: make it probe again at the next write.
    if getattr(db, "_supports_on_conflict", True) is False:
        del db._supports_on_conflict


class Writer:
    """``async with Writer(path, ...) as writer``: the thread that writes the database.

    ``add_*`` only queue work and never block; :meth:`flush` waits until everything handed
    over so far is committed; :meth:`call` runs a function on the writer's connection.
    """

    def __init__(
        self,
        path: str,
        *,
        commit_interval_s: float,
        source: str = "live",
        retry_max_s: float = _RETRY_MAX_S,
    ) -> None:
        self.path = path
        self.source = source
        self.stats = WriterStats()
        # half the interval for gathering leaves the other half for the commit itself
        self._window = commit_interval_s / 2
        self._retry_max = retry_max_s
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="queuepulse-writer", daemon=True)
        self._opened: Future[None] = Future()
        self._backlog = 0
        self._backlog_lock = threading.Lock()
        self._failing = False
        self._gathered = _Gathered()
        self._hand_over: asyncio.TimerHandle | None = None

    @property
    def alive(self) -> bool:
        """Whether the writer thread is running."""
        return self._thread.is_alive()

    @property
    def backlog(self) -> int:
        """Facts and raw frames handed over and not committed yet."""
        return self._backlog

    @property
    def behind(self) -> bool:
        """Whether the backlog is past :data:`BACKLOG_HIGH` while commits succeed (a
        database that cannot be written is waited out in memory instead, see above)."""
        return self._backlog > BACKLOG_HIGH and not self._failing

    async def caught_up(self) -> None:
        """Wait until the backlog is down to :data:`BACKLOG_LOW` (or commits fail)."""
        while self._backlog > BACKLOG_LOW and not self._failing and self.alive:
            await asyncio.sleep(_BACKLOG_POLL_S)

    def _count(self, rows: int) -> None:
        with self._backlog_lock:
            self._backlog += rows

    async def __aenter__(self) -> Writer:
        self._thread.start()
        await asyncio.wrap_future(self._opened)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await asyncio.wait_for(self.flush(), _STOP_TIMEOUT_S)
        except TimeoutError:
            log.error("store.unsaved", path=self.path, facts=self.stats.facts,
                      error=self.stats.last_error,
                      fix="the database stayed unwritable while stopping; the facts listed "
                          "as pending were not stored")
        self._hand()
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join, _STOP_TIMEOUT_S)

    def add_facts(self, facts: Sequence[Fact]) -> None:
        """Queue facts for the next commit (from the event loop)."""
        self._count(len(facts))
        self._gathering().facts.extend(facts)

    def add_events(self, rows: Sequence[EventRow]) -> None:
        """Queue raw event rows for the next commit (from the event loop)."""
        self._count(len(rows))
        self._gathering().events.extend(rows)

    def add_reference(self, reference: Reference) -> None:
        """Queue the current queues and agents for the next commit (from the event loop)."""
        self._gathering().reference = reference

    def _gathering(self) -> _Gathered:
        """What the next hand-over takes; the first addition sets its timer."""
        if self._hand_over is None:
            self._gathered.at = time.monotonic()
            self._hand_over = asyncio.get_running_loop().call_later(HAND_OVER_S,
                                                                    self._hand)
        return self._gathered

    def _hand(self) -> None:
        """Hand what was gathered to the writer thread."""
        if self._hand_over is not None:
            self._hand_over.cancel()
            self._hand_over = None
        gathered, self._gathered = self._gathered, _Gathered()
        if gathered.facts or gathered.events or gathered.reference is not None:
            self._queue.put(_Handed(gathered.at, tuple(gathered.facts),
                                    tuple(gathered.events), gathered.reference))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        done: Future[None] = Future()
        self._hand()
        self._queue.put(done)
        await asyncio.wrap_future(done)

    async def call(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn`` with the writer's connection, in the writer's thread, after what was
        queued before; return its result."""
        result: Future[T] = Future()
        self._hand()
        self._queue.put(_Call(fn, result))
        return await asyncio.wrap_future(result)

    # -- the thread ---------------------------------------------------------------

    def _open(self) -> Database | None:
        try:
            db = open_database(self.path, option="database.path")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        except sqlite3.Error as error:
            _settle(self._opened, error=StoreError(str(unusable(self.path, error,
                                                                "database.path"))))
            return None
        except UserError as error:
            _settle(self._opened, error=StoreError(str(error)))
            return None
        _settle(self._opened, None)
        return db

    def _run(self) -> None:
        db = self._open()
        if db is None:
            return
        batch = _Batch()
        retry_at = 0.0
        backoff = Backoff(cap_s=self._retry_max, first_s=_FIRST_RETRY_S)
        failing_since: float | None = None
        last_report = 0.0
        while True:
            now = time.monotonic()
            due = max(retry_at, (batch.since or now) + self._window)
            timeout = None if batch.empty() else max(0.0, due - now)
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            stop = False
            while item is not None:
                stop = stop or self._take(db, item, batch)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            forced = bool(batch.waiters) or stop
            if batch.empty():
                self._release(batch)
            elif now >= retry_at and (forced or now >= (batch.since or now) + self._window):
                try:
                    self._commit(db, batch)
                except sqlite3.Error as error:
                    _forget_failed_probe(db)
                    self.stats.failures += 1
                    self.stats.last_error = str(error)
                    delay = backoff.next()
                    if failing_since is None or now - last_report >= _STILL_FAILING_EVERY_S:
                        log.error("store.write_failed", path=self.path, error=str(error),
                                  fix=advice(error, self.path), pending_facts=len(batch.facts),
                                  pending_events=len(batch.events), retry_in_s=round(delay, 2))
                        last_report = now
                    failing_since = failing_since or now
                    self._failing = True
                    self._bound_events(batch)
                    retry_at = now + delay
                else:
                    if failing_since is not None:
                        log.info("store.write_recovered", path=self.path,
                                 failed_for_s=round(now - failing_since, 2))
                    backoff.reset()
                    failing_since, retry_at = None, 0.0
                    self._failing = False
            if stop and batch.empty():
                db.close()
                return

    def _take(self, db: Database, item: object, batch: _Batch) -> bool:
        if item is _STOP:
            return True
        if isinstance(item, _Call):
            try:
                _settle(item.result, item.fn(db))
            except Exception as error:  # handed back to the caller
                _settle(item.result, error=error)
            return False
        if isinstance(item, Future):
            batch.waiters.append(item)
            return False
        if isinstance(item, _Handed):
            batch.facts.extend(item.facts)
            batch.events.extend(item.events)
            batch.reference = item.reference or batch.reference
            if batch.since is None:
                batch.since = item.at
        return False

    def _bound_events(self, batch: _Batch) -> None:
        # raw frames are history, not facts: under a long outage the oldest give way
        excess = len(batch.events) - _MAX_PENDING_EVENTS
        if excess > 0:
            del batch.events[:excess]
            self._count(-excess)
            self.stats.events_dropped += excess
            log.warning("store.events_dropped", path=self.path, dropped=excess,
                        total=self.stats.events_dropped,
                        detail="raw AMI frames for the events table; no call or agent fact")

    def _commit(self, db: Database, batch: _Batch) -> None:
        with db.atomic():
            write_facts(db, batch.facts, self.source)
            insert_events(db, batch.events)
            if batch.reference is not None:
                write_reference(db, batch.reference)
        done = time.monotonic()
        self._count(-len(batch.facts) - len(batch.events))
        self.stats.commits += 1
        self.stats.facts += len(batch.facts)
        self.stats.events += len(batch.events)
        if batch.since is not None:
            self.stats.max_lag_s = max(self.stats.max_lag_s, done - batch.since)
        batch.facts, batch.events, batch.reference, batch.since = [], [], None, None
        self._release(batch)

    @staticmethod
    def _release(batch: _Batch) -> None:
        for waiter in batch.waiters:
            _settle(waiter, None)
        batch.waiters.clear()
