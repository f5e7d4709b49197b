"""Reports from SQLite: the live KPIs' definitions, over days or fixed intervals.

:func:`build_report` reads the stored facts back as call records and agent intervals and
hands them to the same functions the live board calls, so a report of today and the
retained MQTT snapshot of today agree. The result is a plain typed value, ready to be
printed as a table, JSON or CSV, or drawn.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from collector.facts import AgentInterval, CallRecord
from collector.store.reads import (
    Holdings,
    read_calls,
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
from kpi.definitions import CallKpis, call_kpis, handled_at
from kpi.occupancy import AgentKpis, CenterKpis, agent_kpis, center_kpis
from kpi.repeat_callers import CallerIndex
from kpi.settings import KpiSettings
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


class _Facts:
    """The calls and intervals of the report's range, found quickly per period."""

    def __init__(self, calls: Sequence[CallRecord], states: Sequence[AgentInterval]) -> None:
        self.by_entry = sorted(calls, key=lambda c: c.entered_at)
        self.entries = [c.entered_at for c in self.by_entry]
        done = sorted(((h, c) for c in calls if (h := handled_at(c)) is not None),
                      key=lambda pair: pair[0])
        self.handled = [h for h, _ in done]
        self.by_handling = [c for _, c in done]
        self.states = sorted(states, key=lambda i: i.started_at)
        self.starts = [i.started_at for i in self.states]
        self.longest = max(((i.ended_at or i.started_at) - i.started_at for i in states),
                           default=0.0)

    def calls(self, period: Window) -> list[CallRecord]:
        """Calls that entered, or were handled, in the period."""
        entered = self.by_entry[bisect.bisect_left(self.entries, period.start):
                                bisect.bisect_left(self.entries, period.end)]
        done = self.by_handling[bisect.bisect_left(self.handled, period.start):
                                bisect.bisect_left(self.handled, period.end)]
        seen = {c.call_id for c in entered}
        return entered + [c for c in done if c.call_id not in seen]

    def intervals(self, period: Window) -> list[AgentInterval]:
        """Intervals that may overlap the period."""
        return self.states[bisect.bisect_left(self.starts, period.start - self.longest):
                           bisect.bisect_left(self.starts, period.end)]


def build_report(db: Database, settings: KpiSettings, timezone: str, first: dt.date,
                 last: dt.date, interval: IntervalSize | None = None,
                 queue: str | None = None, with_agents: bool = False) -> Report:
    """The KPIs of local days ``first`` to ``last``: per interval, or for the whole range.

    With ``queue``, only that queue's rows (and no all-queues row); agents' rows (with
    their ring-no-answers, their calls per queue and their login sessions) are computed
    when ``with_agents`` is set.
    """
    check_range(first, last)
    tz = ZoneInfo(timezone)
    periods = (list(intervals(first, last, tz, interval)) if interval is not None else
               [_whole_range(first, last, tz)])
    start, end = periods[0].start, periods[-1].end
    # later calls decide whether a caller of the range called again, or was called back
    calls = read_calls(db, start, end + settings.later_s)
    facts = _Facts([c for c in calls if c.entered_at < end or _handled_before(c, end)],
                   read_intervals(db, start, end))
    callers = CallerIndex(calls)
    names = tuple(sorted({c.queue for c in facts.by_entry} | {c.queue for c in facts.by_handling}))
    shown: tuple[str | None, ...] = (queue,) if queue is not None else (*names, None)
    rows: list[QueueRow] = []
    center: list[CenterRow] = []
    agents: list[AgentRow] = []
    agent_queues: list[AgentQueueRow] = []
    rings = read_ring_no_answers(db, start, end) if with_agents else []
    for period in periods:
        candidates = facts.calls(period)
        for name in shown:
            mine = [c for c in candidates if name is None or c.queue == name]
            rows.append(QueueRow(period, name, call_kpis(mine, period, settings, callers),
                                 settings.target(name)))
        if queue is None or with_agents:
            per_agent = agent_kpis(candidates, facts.intervals(period), period)
            totals = call_kpis(candidates, period, settings, callers)
            center.append(CenterRow(period, center_kpis(per_agent, totals, settings)))
            if with_agents:
                rona = rona_by_agent(rings, period)
                agents.extend(AgentRow(period, a, rona[a.interface]) for a in per_agent)
                agent_queues.extend(AgentQueueRow(period, a)
                                    for a in agent_queue_kpis(candidates, rings, period))
    return Report(first=first, last=last, timezone=timezone,
                  interval=None if interval is None else interval.label,
                  queues=names if queue is None else (queue,), rows=tuple(rows),
                  center=tuple(center), agents=tuple(agents),
                  agent_queues=tuple(agent_queues),
                  callbacks=callbacks(
                      [c for c in facts.by_entry if c.entered_at >= start
                       and (queue is None or c.queue == queue)], calls,
                      read_dials(db, start, end + settings.callback_window_s),
                      settings.callback_window_s),
                  sessions=login_sessions(facts.states) if with_agents else ())


def _handled_before(call: CallRecord, end: float) -> bool:
    done = handled_at(call)
    return done is not None and done < end


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
