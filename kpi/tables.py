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
from zoneinfo import ZoneInfo

from collector.facts import AgentInterval, CallRecord, Dial, Fact
from kpi.callbacks import Callback, callbacks
from kpi.definitions import CallKpis, CallTable, handled_at, table_kpis
from kpi.occupancy import AgentKpis, agents_kpis, handled_by_agent
from kpi.repeat_callers import CallerIndex, caller_key
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


def _day_tables(window: Window, calls: Sequence[CallRecord],
                settings: KpiSettings) -> dict[str, CallTable]:
    """Per queue, the calls that entered or were handled in ``window``."""
    callers = CallerIndex(calls)
    tables: dict[str, CallTable] = {}
    for call in sorted(calls, key=lambda c: c.entered_at):
        done = handled_at(call)
        if call.entered_at not in window and (done is None or done not in window):
            continue
        table = tables.setdefault(call.queue, CallTable(settings))
        row = table.add(call)
        if table.answered(row):
            table.set_again(row, callers.called_again(call, settings.repeat_window_s))
    return dict(sorted(tables.items()))


def _call_rows(periods: Iterable[Window], tables: dict[str, CallTable],
               settings: KpiSettings) -> Iterator[Row]:
    for period in periods:
        parts: list[tuple[str | None, list[CallTable]]] = [
            *((queue, [table]) for queue, table in tables.items()), (None, [*tables.values()])]
        for queue, chosen in parts:
            kpis = table_kpis(chosen, period, settings)
            if kpis.offered or kpis.handled:
                yield (period.name, period.start, period.end, queue,
                       *(_sql_value(v) for v in dataclasses.astuple(kpis)))


def _agent_rows(window: Window, tables: dict[str, CallTable],
                intervals_: Iterable[AgentInterval]) -> Iterator[Row]:
    for agent in agents_kpis(handled_by_agent(tables.values(), window), intervals_, window):
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
    tables = _day_tables(window, calls, settings)
    found = [TableRows(table, tuple(_call_rows(intervals(day, day, tz, PERIODS[table.name]),
                                               tables, settings)))
             for table in CALL_TABLES]
    found.append(TableRows(AGENT_TABLE, tuple(_agent_rows(window, tables, intervals_))))
    abandoned = [c for c in calls if c.entered_at in window]
    found.append(TableRows(CALLBACK_TABLE, tuple(
        tuple(_sql_value(v) for v in dataclasses.astuple(row))
        for row in callbacks(abandoned, calls, dials, settings.callback_window_s))))
    return DayRows(window, tuple(found))


def _days(start: float, end: float, tz: ZoneInfo) -> Iterator[dt.date]:
    day, last = local_date(start, tz), local_date(end, tz)
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def days_touched(facts: Iterable[Fact], tz: ZoneInfo, settings: KpiSettings) -> set[dt.date]:
    """The local days whose KPI rows these new facts can change.

    A call counts on the day it entered and the day it was handled, and, when its caller
    is known, can make the calls of the repeat-caller window before it repeat calls (and
    reach the callers of the callback window before it); an agent interval counts on
    every day it overlaps; a dial can reach the callers of the callback window before it.
    """
    days: set[dt.date] = set()
    for fact in facts:
        if isinstance(fact, Dial):
            days.update(_days(fact.started_at - settings.callback_window_s, fact.started_at,
                              tz))
        elif isinstance(fact, CallRecord):
            first = fact.entered_at
            if caller_key(fact.caller_num) is not None:
                first -= settings.later_s
            days.update(_days(first, fact.entered_at, tz))
            done = handled_at(fact)
            if done is not None:
                days.add(local_date(done, tz))
        elif isinstance(fact, AgentInterval) and fact.ended_at is not None:
            days.update(_days(fact.started_at, fact.ended_at, tz))
    return days
