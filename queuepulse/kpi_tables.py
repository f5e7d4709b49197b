"""Keeping the KPI tables: a day's facts read, its rows computed, written in its place.

:mod:`kpi.tables` computes the rows, :mod:`collector.store.kpi_tables` stores them; this
module joins them, with the settings stored in the database
(:mod:`queuepulse.kpi_settings`), for the commands that write facts (``replay``,
``import-queue-log``) or rebuild the tables (``rebuild-kpis``), and for the live daemon
(:class:`KpiTableKeeper`). When the tables were computed with other settings, or a KPI was
added since, every day is computed again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import structlog
from sqlite_utils import Database

from collector.facts import AgentInterval, CallRecord, Dial
from collector.overlap import Span
from collector.store.kpi_tables import (
    Pending,
    clear_pending,
    computed_with,
    mark_computed,
    pending,
    prepare_tables,
    replace_rows,
)
from collector.store.opening import reading, writing
from collector.store.reads import facts_span, read_calls, read_dials, read_intervals
from collector.store.writer import Writer
from kpi.settings import KpiSettings
from kpi.tables import TABLES, DayRows, day_rows, days_pending, facts_needed
from kpi.windows import day_window, local_date
from queuepulse.kpi_settings import settings_text, stored_kpi_settings

log = structlog.get_logger("queuepulse.kpi_tables")

T = TypeVar("T")

_DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What a local day's KPI rows are computed from (see :func:`kpi.tables.day_rows`)."""

    day: dt.date
    calls: tuple[CallRecord, ...]
    intervals: tuple[AgentInterval, ...]
    dials: tuple[Dial, ...] = ()


def stale(db: Database, settings: KpiSettings, timezone: str) -> str | None:
    """Make sure the tables exist with their columns; why every row must be computed
    again (``None``: the rows are computed with these settings and columns)."""
    created = prepare_tables(db, TABLES)
    if created:
        return "new tables or columns"
    if computed_with(db, TABLES) != {settings_text(settings, timezone)}:
        return "settings changed"
    return None


def read_day(db: Database, day: dt.date, settings: KpiSettings, timezone: str) -> DayFacts:
    """The facts a day's rows are computed from."""
    tz = ZoneInfo(timezone)
    needed, window = facts_needed(day, tz, settings), day_window(day, tz)
    return DayFacts(day, tuple(read_calls(db, needed.start, needed.end)),
                    tuple(read_intervals(db, window.start, window.end)),
                    tuple(read_dials(db, needed.start, needed.end)))


def compute_day(facts: DayFacts, settings: KpiSettings, timezone: str) -> DayRows:
    """A day's rows from its facts."""
    return day_rows(facts.day, ZoneInfo(timezone), facts.calls, facts.intervals, settings,
                    facts.dials)


def write_day(db: Database, rows: DayRows) -> None:
    """Put a day's rows in the place of the ones stored for it, in one transaction."""
    with db.atomic():
        for part in rows.tables:
            replace_rows(db, part.table, rows.day.start, rows.day.end, part.rows)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The days ``first`` to ``last``."""
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def days_of(span: Span, tz: ZoneInfo) -> list[dt.date]:
    """The local days a stretch of time touches."""
    return days_between(local_date(span.start, tz), local_date(span.end, tz))


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild computed: how many days, which, why every day if so, how long."""

    days: int
    first: dt.date | None
    last: dt.date | None
    reason: str | None
    seconds: float


def rebuild(db: Database, days: Sequence[dt.date] | None = None) -> Rebuilt:
    """Compute the KPI tables' rows of the local ``days`` (by default every day the
    stored facts speak of), and of the days facts were written for since they were last
    computed (:func:`~collector.store.kpi_tables.pending`), with the stored settings.

    When the tables were computed with other settings, or their columns changed, every
    day is computed, whatever was asked for.
    """
    began = time.monotonic()
    settings, timezone = stored_kpi_settings(db)
    reason = stale(db, settings, timezone)
    tz = ZoneInfo(timezone)
    written = pending(db)
    if days is None or reason is not None:
        span = facts_span(db)
        days = [] if span is None else days_of(Span(*span), tz)
    todo = sorted(set(days) | days_pending(written.spans, tz, settings))
    for day in todo:
        write_day(db, compute_day(read_day(db, day, settings, timezone), settings, timezone))
    if reason is not None:
        computed(db, todo, settings, timezone)
    clear_pending(db, written.last)
    return Rebuilt(len(todo), min(todo, default=None), max(todo, default=None), reason,
                   time.monotonic() - began)


def computed(db: Database, days: Iterable[dt.date], settings: KpiSettings,
             timezone: str) -> None:
    """Record that the tables hold the rows of ``days`` computed with ``settings``, and
    only those: the other rows were computed with other settings."""
    tz = ZoneInfo(timezone)
    mark_computed(db, TABLES, settings_text(settings, timezone),
                  [(window.start, window.end) for window in (day_window(d, tz) for d in days)])


def describe(rebuilt: Rebuilt) -> str:
    """What a rebuild did, in a line for a person."""
    if rebuilt.first is None or rebuilt.last is None:
        return "KPI tables: no day to compute"
    days = (f"{rebuilt.first}" if rebuilt.first == rebuilt.last
            else f"{rebuilt.first} to {rebuilt.last}")
    every = "" if rebuilt.reason is None else f", every day: {rebuilt.reason}"
    return (f"KPI tables: {rebuilt.days} day{'s' if rebuilt.days != 1 else ''} computed "
            f"({days}{every}) in {rebuilt.seconds:.1f} s")


def refresh_file(path: str) -> Rebuilt:
    """Bring the KPI tables of the database file ``path`` up to date after facts were
    stored (``replay``, ``import-queue-log``): the days written for (see :func:`rebuild`),
    or every day when the tables need it."""
    with writing(path) as db:
        return rebuild(db, [])


# -- the live daemon --------------------------------------------------------------------


@dataclass(slots=True)
class KeeperStats:
    """What the daemon's keeping of the KPI tables did and cost."""

    refreshes: int = 0
    """Rounds that computed the days new facts touched."""
    days: int = 0
    """Days computed, rebuilds included."""
    cpu_s: float = 0.0
    """CPU time spent reading, computing and writing them (every thread)."""
    rebuilt_days: int = 0
    """Days computed again at start-up because the settings or the columns changed."""
    rebuilding: bool = False
    """Whether that start-up rebuild is still going on."""


class KpiTableKeeper:
    """The live daemon's KPI tables, at most ``interval_s`` behind the stored calls.

    Every ``interval_s``, once the writer has committed the facts handed to it,
    :meth:`run` computes the days facts were written for since (the writers note them in
    ``kpi_pending``, so a stop or a crash leaves nothing behind), and, when the tables
    were computed with other settings, computes every day again, one day at a time,
    without holding up the facts. A worker thread reads a day's facts (on a read-only
    connection of its own) and computes its rows, and the store's writer thread only
    writes them, so that neither the event loop nor the writer's commits wait for the
    computing.
    """

    def __init__(self, settings: KpiSettings, timezone: str, interval_s: float, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.timezone = timezone
        self.interval_s = interval_s
        self.stats = KeeperStats()
        self._tz = ZoneInfo(timezone)
        self._monotonic = monotonic
        self._reason: str | None = None
        self._span: tuple[float, float] | None = None
        self._backlog: list[dt.date] = []
        self._computed: set[dt.date] = set()
        """The days computed since the rebuild began."""

    async def prepare(self, writer: Writer) -> None:
        """Make the tables ready, and find out whether every day must be computed again:
        they were computed with other settings, or a KPI was added."""
        reason, span = await writer.call(self._start)
        self._reason, self._span = reason, span

    async def run(self, writer: Writer) -> None:
        """Keep the tables until cancelled (after :meth:`prepare`)."""
        reason, span = self._reason, self._span
        if span is not None and reason is not None:
            self._backlog = days_of(Span(*span), self._tz)
            self._computed.clear()
            self.stats.rebuilding = True
            log.info("kpi_tables.rebuilding", days=len(self._backlog),
                     first=str(self._backlog[0]), last=str(self._backlog[-1]), reason=reason)
        began = self._monotonic()
        due = began + self.interval_s
        while True:
            if self._backlog and self._monotonic() < due:
                # the newest days first: they are the ones people look at
                day = self._backlog.pop()
                try:
                    await self._compute(writer, [day])
                except Exception:  # tried again after a round; collecting goes on
                    self._backlog.append(day)
                    log.exception("kpi_tables.refresh_failed", days=[str(day)])
                    await asyncio.sleep(self.interval_s)
                    continue
                self.stats.rebuilt_days += 1
                if not self._backlog:
                    await writer.call(partial(computed, days=self._computed,
                                              settings=self.settings, timezone=self.timezone))
                    self.stats.rebuilding = False
                    log.info("kpi_tables.rebuilt", days=self.stats.rebuilt_days,
                             seconds=round(self._monotonic() - began, 1))
                continue
            await asyncio.sleep(max(0.0, due - self._monotonic()))
            due = self._monotonic() + self.interval_s
            await self.refresh(writer)

    async def refresh(self, writer: Writer) -> None:
        """Compute the days facts were written for, once the facts handed over so far are
        stored; a day a rebuild still has to do is done now, and not again."""
        try:
            await writer.flush()
            written = await asyncio.to_thread(self._pending, writer.path)
            days = sorted(days_pending(written.spans, self._tz, self.settings), reverse=True)
            if not days:
                return
            await self._compute(writer, days)
            self._backlog = [day for day in self._backlog if day not in days]
            await writer.call(partial(clear_pending, last=written.last))
        except Exception:  # the next round tries again; collecting goes on meanwhile
            log.exception("kpi_tables.refresh_failed")
            return
        self.stats.refreshes += 1

    async def finish(self, writer: Writer, timeout_s: float = 10.0) -> None:
        """A last round when the daemon stops, given up after ``timeout_s`` (the days it
        leaves are computed at the next start)."""
        try:
            await asyncio.wait_for(self.refresh(writer), timeout_s)
        except TimeoutError:
            log.warning("kpi_tables.behind", detail="computed when queuepulse starts again")

    def _start(self, db: Database) -> tuple[str | None, tuple[float, float] | None]:
        return stale(db, self.settings, self.timezone), facts_span(db)

    def _pending(self, path: str) -> Pending:
        with reading(path, option="database.path") as db:
            return pending(db)

    async def _compute(self, writer: Writer, days: Sequence[dt.date]) -> None:
        for day in days:
            rows, computing = await asyncio.to_thread(_timed, self._computed_day, writer.path,
                                                      day)
            _, writing = await writer.call(partial(_timed, write_day, rows=rows))
            self.stats.cpu_s += computing + writing
            self.stats.days += 1
            self._computed.add(day)

    def _computed_day(self, path: str, day: dt.date) -> DayRows:
        # a read-only connection of its own: WAL lets it read what the writer committed
        # while the writer goes on committing
        with reading(path, option="database.path") as db:
            facts = read_day(db, day, self.settings, self.timezone)
        return compute_day(facts, self.settings, self.timezone)


def _timed(work: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """What ``work`` returns, and the CPU time the thread running it spent on it."""
    began = time.thread_time()
    result = work(*args, **kwargs)
    return result, time.thread_time() - began
