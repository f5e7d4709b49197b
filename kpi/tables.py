"""The KPI tables: the call KPIs per local day and interval, the agent KPIs per day, as rows.

SQL users (Datasette, Grafana, a spreadsheet) read the KPIs from tables rather than from
SQL that restates their definitions: :func:`day_rows` turns the facts of one local day
into the rows of every table with the functions the reports and the live board call, so
there is one definition of each KPI. A table's columns are the keys of a period followed
by the fields of :class:`~kpi.definitions.CallKpis` or
:class:`~kpi.occupancy.AgentKpis`, in order: a new KPI is a new column, with no change
here. Pure: the store writes the rows, the wiring reads the facts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import cast
from zoneinfo import ZoneInfo

from collector.facts import AgentInterval, CallRecord, Dial
from kpi.callbacks import Callback, callbacks
from kpi.definitions import CallKpis
from kpi.occupancy import AgentKpis
from kpi.queue_calls import QueueCalls, queue_calls
from kpi.settings import KpiSettings
from kpi.windows import INTERVALS, IntervalSize, Window, day_window, intervals, local_date

Row = tuple[object, ...]

_SQL_TYPES: dict[object, str] = {int: "INTEGER", bool: "INTEGER", float: "REAL", str: "TEXT"}


def _sql_type(hint: object) -> str:
    """A field's SQLite type; a field that is not one number or text is JSON text."""
    if isinstance(hint, types.UnionType):
        kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)]
        hint = kinds[0] if len(kinds) == 1 else None
    return _SQL_TYPES.get(hint, "TEXT")


def kpi_columns(kind: type, leave_out: Iterable[str] = ()) -> tuple[tuple[str, str], ...]:
    """Each field of the KPI dataclass ``kind`` (but ``leave_out``) as a column: its name
    and SQLite type."""
    hints = typing.get_type_hints(kind)
    left_out = set(leave_out)
    return tuple((f.name, _sql_type(hints[f.name])) for f in dataclasses.fields(kind)
                 if f.name not in left_out)


def _sql_value(value: object) -> object:
    if isinstance(value, tuple):
        return json.dumps([dataclasses.asdict(item) for item in value])
    return value


@dataclass(frozen=True, slots=True)
class KpiTable:
    """One KPI table: its name, its columns (name and SQLite type, the keys first) and the
    key column holding when a row's period starts (a day's rows start within it)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    start: str

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns' names, in order."""
        return tuple(name for name, _ in self.columns)


PERIOD_KEYS = (("period", "TEXT"), ("period_start", "REAL"), ("period_end", "REAL"),
               ("queue", "TEXT"))
"""The keys of a row of call KPIs: the period as shown (the local day, or its local start
time), its UTC bounds, and the queue (NULL: all queues together)."""
AGENT_KEYS = (("day", "TEXT"), ("day_start", "REAL"), ("day_end", "REAL"),
              ("interface", "TEXT"), ("agent", "TEXT"))
"""The keys of a row of agent KPIs: the local day, its UTC bounds, the agent's interface
and name (the :class:`AgentKpis` fields ``interface`` and ``name``)."""
_AGENT_NAMES = ("interface", "name")

PERIODS: dict[str, IntervalSize] = {
    "kpi_daily": INTERVALS["1d"],
    "kpi_interval_15m": INTERVALS["15m"],
    "kpi_interval_30m": INTERVALS["30m"],
    "kpi_interval_60m": INTERVALS["1h"],
}
"""Each table of call KPIs and the periods its rows cover."""
CALL_TABLES = tuple(KpiTable(name, PERIOD_KEYS + kpi_columns(CallKpis), "period_start")
                    for name in PERIODS)
AGENT_TABLE = KpiTable("kpi_agent_daily", AGENT_KEYS + kpi_columns(AgentKpis, _AGENT_NAMES),
                       "day_start")
CALLBACK_TABLE = KpiTable("kpi_callbacks", kpi_columns(Callback), "entered_at")
"""One row per abandoned call: whether the caller was reached again (:mod:`kpi.callbacks`)."""
TABLES = (*CALL_TABLES, AGENT_TABLE, CALLBACK_TABLE)
"""Every KPI table."""


def call_table(size: IntervalSize) -> KpiTable:
    """The table of the call KPIs of periods of ``size``."""
    return next(table for table in CALL_TABLES if PERIODS[table.name] == size)


@dataclass(frozen=True, slots=True)
class TableRows:
    """The rows of one table for one day, values in the order of its columns."""

    table: KpiTable
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class DayRows:
    """Every KPI table's rows for one local day (its UTC bounds: ``day``)."""

    day: Window
    tables: tuple[TableRows, ...]


def facts_needed(day: dt.date, tz: ZoneInfo, settings: KpiSettings) -> Window:
    """The span of time whose facts :func:`day_rows` needs for ``day``: the day itself
    and, after it, the repeat-caller and callback windows (whether a caller of the day
    called again, or was called back)."""
    window = day_window(day, tz)
    return Window(window.name, window.start, window.end + settings.later_s)


def _call_rows(periods: Iterable[Window], calls: QueueCalls) -> Iterator[Row]:
    for period in periods:
        for queue in (*calls.queues, None):
            kpis = calls.call_kpis(period, queue)
            if kpis.offered or kpis.handled:
                yield (period.name, period.start, period.end, queue,
                       *(_sql_value(v) for v in dataclasses.astuple(kpis)))


def _agent_rows(window: Window, calls: QueueCalls,
                intervals_: Iterable[AgentInterval]) -> Iterator[Row]:
    for agent in calls.agent_kpis(window, intervals_):
        values = (_sql_value(getattr(agent, name)) for name in AGENT_TABLE.column_names[5:])
        yield (window.name, window.start, window.end, agent.interface, agent.name, *values)


def day_rows(day: dt.date, tz: ZoneInfo, calls: Sequence[CallRecord],
             intervals_: Iterable[AgentInterval], settings: KpiSettings,
             dials: Sequence[Dial] = ()) -> DayRows:
    """The rows of every KPI table for the local ``day``.

    ``calls`` must hold the calls of :func:`facts_needed` (those entered or handled in
    the day, and those entering in the repeat-caller window after it), ``intervals_`` the
    agent intervals overlapping the day; others are left out. A period has a row per
    queue with calls in it and one for all queues (``queue`` ``None``), when calls
    entered or were handled in it; an agent has a row when it was logged in or handled a
    call that day.
    """
    window = day_window(day, tz)
    found_calls = queue_calls(window, sorted(calls, key=attrgetter("entered_at")), settings)
    found = [TableRows(table, tuple(_call_rows(intervals(day, day, tz, PERIODS[table.name]),
                                               found_calls)))
             for table in CALL_TABLES]
    found.append(TableRows(AGENT_TABLE, tuple(_agent_rows(window, found_calls, intervals_))))
    abandoned = [c for c in calls if c.entered_at in window]
    found.append(TableRows(CALLBACK_TABLE, tuple(
        tuple(_sql_value(v) for v in dataclasses.astuple(row))
        for row in callbacks(abandoned, calls, dials, settings.callback_window_s))))
    return DayRows(window, tuple(found))


def days_pending(spans: Iterable[tuple[float, float]], tz: ZoneInfo,
                 settings: KpiSettings) -> set[dt.date]:
    """The local days whose KPI rows facts written about ``spans`` (each the first and
    the last moment they speak of) can change: those the spans touch, and those of the
    repeat-caller and callback windows before, whose callers may have called again or
    been called back."""
    days: set[dt.date] = set()
    for start, end in spans:
        day, last = local_date(start - settings.later_s, tz), local_date(end, tz)
        while day <= last:
            days.add(day)
            day += dt.timedelta(days=1)
    return days


def stored_call_kpis(row: Sequence[object]) -> tuple[float, str | None, CallKpis]:
    """When the period of a row of a call KPI table starts, its queue and its call KPIs
    (see :data:`PERIOD_KEYS`)."""
    _, start, _, queue, *kpis = row
    return (float(cast(float, start)), None if queue is None else str(queue),
            CallKpis(*kpis))  # type: ignore[arg-type]


def stored_callback(row: Sequence[object]) -> Callback:
    """A row of the callback table as the record it holds."""
    return Callback(*row)  # type: ignore[arg-type]
