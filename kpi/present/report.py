"""Reports from SQLite: the live KPIs' definitions, over days or fixed intervals.

:func:`build_report` reads the stored facts back as call records and agent intervals and
hands them to the same functions the live board calls, so a report of today and the
retained MQTT snapshot of today agree. The result is a plain typed value, ready to be
printed as a table, JSON or CSV, or drawn.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from collector.facts import AgentInterval, CallRecord, Outcome
from collector.store.kpi_tables import pending, read_rows
from collector.store.reads import (
    Holdings,
    caller_entries,
    calls_entered,
    calls_handled,
    intervals_overlapping,
    read_dials,
    read_intervals,
    read_ring_no_answers,
)
from kpi.callbacks import Callback, callbacks
from kpi.coaching import (
    AgentQueueKpis,
    LoginSession,
    agent_queue_kpis,
    login_sessions,
    rona_by_agent,
)
from kpi.definitions import CallKpis, table_kpis
from kpi.occupancy import AgentKpis, CenterKpis, agents_kpis, center_kpis
from kpi.queue_calls import QueueCalls
from kpi.repeat_callers import repeat_verdicts
from kpi.settings import KpiSettings
from kpi.tables import (
    CALLBACK_TABLE,
    call_table,
    days_pending,
    stored_call_kpis,
    stored_callback,
)
from kpi.windows import IntervalSize, Window, check_range, day_window, intervals, local_date

_QUEUES_NAMED = 12
"""Queues named in a message about what a database holds; more are counted."""


@dataclass(frozen=True, slots=True)
class QueueRow:
    """The call KPIs of one queue (``queue`` ``None``: all queues) in one period, and the
    service level aimed at there."""

    period: Window
    queue: str | None
    kpis: CallKpis
    service_level_target: float


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent's KPIs in one period, and the rings it let go unanswered."""

    period: Window
    kpis: AgentKpis
    rona: int = 0


@dataclass(frozen=True, slots=True)
class AgentQueueRow:
    """One agent's calls from one queue in one period."""

    period: Window
    kpis: AgentQueueKpis


@dataclass(frozen=True, slots=True)
class CenterRow:
    """All agents' occupancy and the cost per call in one period."""

    period: Window
    kpis: CenterKpis


@dataclass(frozen=True, slots=True)
class Report:
    """A report: its range and settings, and one row per period and queue (and agent)."""

    first: dt.date
    last: dt.date
    timezone: str
    interval: str | None
    queues: tuple[str, ...]
    rows: tuple[QueueRow, ...]
    center: tuple[CenterRow, ...]
    agents: tuple[AgentRow, ...]
    agent_queues: tuple[AgentQueueRow, ...] = ()
    sessions: tuple[LoginSession, ...] = ()
    callbacks: tuple[Callback, ...] = ()
    """Each abandoned call of the range, and whether its caller was reached again."""


def _spans(periods: list[Window], interval: IntervalSize | None,
           tz: ZoneInfo) -> list[list[Window]]:
    """The report's periods in groups whose calls are held together: the periods of a
    local day when they are shorter, each period on its own otherwise."""
    if interval is None or interval.whole_days:
        return [[period] for period in periods]
    days: dict[dt.date, list[Window]] = {}
    for period in periods:
        days.setdefault(local_date(period.start, tz), []).append(period)
    return list(days.values())


def _by_period(intervals_: Iterable[AgentInterval], periods: list[Window],
               ) -> list[list[AgentInterval]]:
    """The intervals overlapping each of ``periods`` (consecutive, in order)."""
    starts, ends = [p.start for p in periods], [p.end for p in periods]
    found: list[list[AgentInterval]] = [[] for _ in periods]
    for interval in intervals_:
        last = interval.started_at if interval.ended_at is None else interval.ended_at
        for index in range(bisect.bisect_right(ends, interval.started_at),
                           bisect.bisect_left(starts, last)):
            found[index].append(interval)
    return found


class _StoredKpis:
    """The call KPIs the KPI tables hold for a report's periods, for the days no write
    since they were computed can have changed."""

    def __init__(self, db: Database, settings: KpiSettings, tz: ZoneInfo,
                 interval: IntervalSize, start: float, end: float) -> None:
        self._db = db
        self._tz = tz
        self._settings = settings
        self._pending = days_pending(pending(db).spans, tz, settings)
        self._rows: dict[float, dict[str | None, CallKpis]] = {}
        for row in read_rows(db, call_table(interval), start, end):
            start_at, queue, kpis = stored_call_kpis(row)
            self._rows.setdefault(start_at, {})[queue] = kpis

    def covers(self, span: Window) -> bool:
        """Whether the rows of the periods of ``span`` (within a local day) are up to date."""
        return local_date(span.start, self._tz) not in self._pending

    def callbacks(self, span: Window, queue: str | None) -> list[Callback]:
        """The callbacks the table holds for the calls abandoned in ``span``."""
        rows = map(stored_callback, read_rows(self._db, CALLBACK_TABLE, span.start, span.end))
        return [row for row in rows if queue is None or row.queue == queue]

    def call_kpis(self, period: Window, queue: str | None) -> dict[str | None, CallKpis]:
        """The period's call KPIs of each queue with calls (only ``queue``'s, when given),
        and of all queues together (``None``)."""
        stored = self._rows.get(period.start, {})
        if queue is not None:
            stored = {name: kpis for name, kpis in stored.items() if name in (queue, None)}
        return {**stored, None: stored.get(None) or table_kpis([], period, self._settings)}


def _calls_of(db: Database, span: Window, settings: KpiSettings) -> QueueCalls:
    """The calls a KPI of a period within ``span`` can count, with their repeat callers."""
    found = QueueCalls(settings)
    for early in calls_handled(db, span.start, span.end):
        found.add(early)
    window = settings.repeat_window_s
    for call, again in repeat_verdicts(calls_entered(db, span.start, span.end), window,
                                       caller_entries(db, span.end, span.end + window)):
        found.add(call, again)
    return found


def build_report(db: Database, settings: KpiSettings, timezone: str, first: dt.date,
                 last: dt.date, interval: IntervalSize | None = None,
                 queue: str | None = None, with_agents: bool = False,
                 kpi_tables: bool = False) -> Report:
    """The KPIs of local days ``first`` to ``last``: per interval, or for the whole range.

    With ``queue``, only that queue's rows (and no all-queues row); agents' rows (with
    their ring-no-answers, their calls per queue and their login sessions) are computed
    when ``with_agents`` is set. The stored facts are read a day (or a period) at a time,
    each once: the cost follows the range asked for, not the history, and a year of calls
    is never all in memory. ``kpi_tables``: the KPI tables were computed with these
    settings and time zone (:mod:`kpi.tables`), so the call KPIs and the callbacks of the
    periods of days no write has changed since are read from them; the agents' figures
    are always computed.
    """
    check_range(first, last)
    tz = ZoneInfo(timezone)
    periods = (list(intervals(first, last, tz, interval)) if interval is not None else
               [_whole_range(first, last, tz)])
    stored = (_StoredKpis(db, settings, tz, interval, periods[0].start, periods[-1].end)
              if kpi_tables and interval is not None and not with_agents else None)
    call_rows: list[dict[str | None, CallKpis]] = []
    center: list[CenterRow] = []
    agents: list[AgentRow] = []
    agent_queues: list[AgentQueueRow] = []
    reached: list[Callback] = []
    for group in _spans(periods, interval, tz):
        span = Window("", group[0].start, group[-1].end)
        found = None if stored is not None and stored.covers(span) else _calls_of(
            db, span, settings)
        for period in group:
            if found is None:
                assert stored is not None
                call_rows.append(stored.call_kpis(period, queue))
            else:
                shown = found.queues if queue is None else (queue,)
                call_rows.append({name: found.call_kpis(period, name)
                                  for name in (*shown, None)})
        if found is None:
            assert stored is not None
            reached += stored.callbacks(span, queue)
        else:
            reached += _callbacks(db, span, found.calls, queue, settings)
        if queue is not None and not with_agents:
            continue
        states = (_by_period(read_intervals(db, span.start, span.end), group) if len(group) > 1
                  else [intervals_overlapping(db, span.start, span.end)])
        rings = read_ring_no_answers(db, span.start, span.end) if with_agents else []
        for period, overlapping, kpis in zip(group, states, call_rows[-len(group):],
                                             strict=True):
            # the center's figures read no agent's calls: only its time
            per_agent = (agents_kpis({}, overlapping, period) if found is None
                         else found.agent_kpis(period, overlapping))
            center.append(CenterRow(period, center_kpis(per_agent, kpis[None], settings)))
            if with_agents and found is not None:
                rona = rona_by_agent(rings, period)
                agents.extend(AgentRow(period, a, rona[a.interface]) for a in per_agent)
                agent_queues.extend(AgentQueueRow(period, a)
                                    for a in agent_queue_kpis(found.calls, rings, period))
    queues = ((queue,) if queue is not None else
              tuple(sorted({name for kpis in call_rows for name in kpis if name is not None})))
    shown_rows = (*queues, None) if queue is None else queues
    rows = tuple(QueueRow(period, name, kpis.get(name) or table_kpis([], period, settings),
                          settings.target(name))
                 for period, kpis in zip(periods, call_rows, strict=True) for name in shown_rows)
    sessions = (login_sessions(read_intervals(db, periods[0].start, periods[-1].end))
                if with_agents else ())
    return Report(first=first, last=last, timezone=timezone,
                  interval=None if interval is None else interval.label,
                  queues=queues, rows=rows, center=tuple(center), agents=tuple(agents),
                  agent_queues=tuple(agent_queues), sessions=sessions,
                  callbacks=tuple(reached))


def _callbacks(db: Database, span: Window, calls: Sequence[CallRecord], queue: str | None,
               settings: KpiSettings) -> list[Callback]:
    """The callbacks of the calls abandoned in ``span`` (of ``queue``, when given), from
    the span's ``calls`` and the calls and dials of the callback window after it."""
    abandoned = [c for c in calls if c.outcome is Outcome.ABANDONED and c.entered_at in span
                 and (queue is None or c.queue == queue)]
    if not abandoned:
        return []
    window = settings.callback_window_s
    later = [*calls, *calls_entered(db, span.end, span.end + window)]
    return list(callbacks(abandoned, later, read_dials(db, span.start, span.end + window),
                          window))


def _whole_range(first: dt.date, last: dt.date, tz: ZoneInfo) -> Window:
    start, end = day_window(first, tz), day_window(last, tz)
    name = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    return Window(name, start.start, end.end)


def describe_holdings(held: Holdings, timezone: ZoneInfo) -> str:
    """What a database holds in words, days local to ``timezone`` (for an error message)."""
    if held.first_at is None or held.last_at is None:
        return "it holds no calls yet"
    first, last = local_date(held.first_at, timezone), local_date(held.last_at, timezone)
    days = f"on {first}" if first == last else f"from {first} to {last}"
    shown = ", ".join(held.queues[:_QUEUES_NAMED])
    if len(held.queues) > _QUEUES_NAMED:
        shown += f" and {len(held.queues) - _QUEUES_NAMED} more"
    return f"it holds {held.calls:,} calls of the queues {shown} {days} ({timezone.key})"
