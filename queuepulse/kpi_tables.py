"""Keeping the KPI tables: a day's facts read, its rows computed, written in its place.

:mod:`kpi.tables` computes the rows, :mod:`collector.store.kpi_tables` stores them; this
module joins them, with the settings stored in the database
(:mod:`queuepulse.kpi_settings`), for the commands that write facts (``replay``,
``import-queue-log``) or rebuild the tables (``rebuild-kpis``). When the tables were
computed with other settings, or a KPI was added since, every day is computed again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo

import structlog
from sqlite_utils import Database

from collector.facts import AgentInterval, CallRecord
from collector.overlap import Span
from collector.store.kpi_tables import (
    computed_with,
    mark_computed,
    prepare_tables,
    replace_rows,
)
from collector.store.opening import writing
from collector.store.reads import facts_span, longest_interval, read_calls, read_intervals
from kpi.definitions import KpiSettings
from kpi.tables import TABLES, DayRows, day_rows, facts_needed
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


def stale(db: Database, settings: KpiSettings, timezone: str) -> str | None:
    """Make sure the tables exist with their columns; why every row must be computed
    again (``None``: the rows are computed with these settings and columns)."""
    created = prepare_tables(db, TABLES)
    if created:
        return "new tables or columns"
    if computed_with(db, TABLES) != {settings_text(settings, timezone)}:
        return "settings changed"
    return None


def read_day(db: Database, day: dt.date, settings: KpiSettings, timezone: str,
             longest_s: float | None = None) -> DayFacts:
    """The facts a day's rows are computed from (``longest_s``: see
    :func:`~collector.store.reads.read_intervals`)."""
    tz = ZoneInfo(timezone)
    needed, window = facts_needed(day, tz, settings), day_window(day, tz)
    return DayFacts(day, tuple(read_calls(db, needed.start, needed.end)),
                    tuple(read_intervals(db, window.start, window.end, longest_s)))


def compute_day(facts: DayFacts, settings: KpiSettings, timezone: str) -> DayRows:
    """A day's rows from its facts."""
    return day_rows(facts.day, ZoneInfo(timezone), facts.calls, facts.intervals, settings)


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
    stored facts speak of), with the stored settings.

    When the tables were computed with other settings, or their columns changed, every
    day is computed, whatever was asked for.
    """
    began = time.monotonic()
    settings, timezone = stored_kpi_settings(db)
    reason = stale(db, settings, timezone)
    if days is None or reason is not None:
        span = facts_span(db)
        days = [] if span is None else days_of(Span(*span), ZoneInfo(timezone))
    longest = longest_interval(db)
    for day in days:
        write_day(db, compute_day(read_day(db, day, settings, timezone, longest), settings,
                                  timezone))
    if reason is not None:
        computed(db, days, settings, timezone)
    return Rebuilt(len(days), min(days, default=None), max(days, default=None), reason,
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


def refresh_file(path: str, written: Span | None) -> Rebuilt:
    """:func:`refresh_written` on the database file ``path``."""
    with writing(path) as db:
        return refresh_written(db, written)


def refresh_written(db: Database, written: Span | None) -> Rebuilt:
    """Bring the KPI tables up to date after facts speaking of ``written`` were stored
    (``replay``, ``import-queue-log``): the days those facts can change (see
    :func:`kpi.tables.days_touched`), or every day when the tables need it."""
    if written is None:
        return rebuild(db, [])
    settings, timezone = stored_kpi_settings(db)
    touched = Span(written.start - settings.repeat_window_s, written.end)
    return rebuild(db, days_of(touched, ZoneInfo(timezone)))

