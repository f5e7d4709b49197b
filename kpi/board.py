"""The live KPI board: the facts of the live windows, and snapshots of every KPI.

Pure: the daemon hands it facts as the tracker produces them (and, at start, the facts of
today read back from SQLite), and asks for a snapshot given the tracker's live view; the
snapshot's time is the live view's. It remembers only what the live windows can still
see (since the earlier of local midnight and an hour ago) and computes each figure with
the same definitions the reports use.

It runs for months and holds a whole day, so it holds it compactly: each call without the
text no KPI reads (see :func:`_slim`), names shared rather than repeated, and the agent
intervals older than the hourly window folded into time per agent and state.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from collector.facts import AgentInterval, AgentState, CallRecord, Fact
from collector.live import LiveAgent, LiveView
from kpi.definitions import CallerIndex, CallKpis, KpiSettings, call_kpis, handled_at
from kpi.live_state import QueueLive, queue_live, queue_names
from kpi.occupancy import (
    AgentKpis,
    CenterKpis,
    agent_kpis,
    center_kpis,
    open_intervals,
    overlap,
)
from kpi.windows import LIVE_WINDOWS, Window, live_window


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """The KPIs of one queue (``queue`` ``None``: all queues) over one window."""

    queue: str | None
    window: Window
    calls: CallKpis
    center: CenterKpis | None


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    """One agent's KPIs over one window."""

    window: Window
    kpis: AgentKpis


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """Every KPI, live queue state and agent state at ``at``."""

    at: float
    kpis: tuple[KpiSnapshot, ...]
    queues: tuple[QueueLive, ...]
    agents: tuple[LiveAgent, ...]
    agent_kpis: tuple[AgentSnapshot, ...]


def _name(name: str | None) -> str | None:
    """One shared copy of a name that thousands of facts repeat (queue, agent, reason)."""
    return None if name is None else sys.intern(name)


def _slim(call: CallRecord) -> CallRecord:
    """The call as the board keeps it: what the KPI definitions read, names shared.

    The board keeps every call of the day, so the text no figure reads (channel ids,
    caller name, transfer target) is left out; the full record is in SQLite.
    """
    return replace(call, uniqueid="", caller_name="", transfer_to=None,
                   queue=sys.intern(call.queue), agent=_name(call.agent),
                   agent_interface=_name(call.agent_interface))


def _slim_interval(interval: AgentInterval) -> AgentInterval:
    """The interval with its names shared."""
    return replace(interval, agent=sys.intern(interval.agent),
                   interface=sys.intern(interval.interface), queue=_name(interval.queue),
                   reason=_name(interval.reason))


def _call_times(call: CallRecord) -> tuple[float, ...]:
    """The moments at which a call enters a window's figures."""
    done = handled_at(call)
    return (call.entered_at,) if done is None else (call.entered_at, done)


def _shelf_key(call_id: str, call: CallRecord) -> tuple[float, str]:
    """Where a call sorts on a shelf: by the last moment a window can pick it up."""
    return (max(_call_times(call)), call_id)


@dataclass(frozen=True, slots=True)
class _Cached:
    """A window's KPIs, valid until a call leaves (``leaves``) or enters (``enters``) it."""

    version: int
    start: float
    leaves: float
    enters: float
    kpis: CallKpis


class _CallShelf:
    """Calls sorted by the last moment a window can pick them up."""

    def __init__(self) -> None:
        self.keys: list[tuple[float, str]] = []
        self.calls: dict[str, CallRecord] = {}

    def put(self, key: tuple[float, str], call: CallRecord) -> None:
        """Shelve ``call`` under ``key``: its last moment (see :func:`_shelf_key`) and id."""
        call_id = key[1]
        old = self.calls.get(call_id)
        if old is not None:
            self.keys.remove(_shelf_key(call_id, old))
        self.calls[call_id] = call
        bisect.insort(self.keys, key)

    def since(self, start: float) -> list[CallRecord]:
        first = bisect.bisect_left(self.keys, (start, ""))
        return [self.calls[call_id] for _, call_id in self.keys[first:]]

    def forget_before(self, start: float) -> None:
        first = bisect.bisect_left(self.keys, (start, ""))
        for _, call_id in self.keys[:first]:
            del self.calls[call_id]
        del self.keys[:first]


class KpiBoard:
    """The facts of the live windows, and the KPIs computed from them."""

    def __init__(self, settings: KpiSettings, timezone: str = "UTC") -> None:
        self.settings = settings
        self.timezone = ZoneInfo(timezone)
        self.version = 0
        self._all = _CallShelf()
        self._queues: dict[str, _CallShelf] = {}
        self._callers = CallerIndex()
        self._intervals: dict[tuple[str, float], AgentInterval] = {}
        self._day = Window("today", 0.0, 0.0)
        self._day_totals: dict[_StateKey, float] = {}
        self._cache: dict[tuple[str | None, str], _Cached] = {}
        self._folded: tuple[float, int, list[AgentInterval]] | None = None

    def add(self, facts: Iterable[Fact]) -> None:
        """Take the facts the tracker produced (or those read back from the database)."""
        for fact in facts:
            if isinstance(fact, CallRecord):
                call = _slim(fact)
                # one key for both shelves: the day holds thousands
                key = _shelf_key(fact.call_id, call)
                self._all.put(key, call)
                self._queues.setdefault(call.queue, _CallShelf()).put(key, call)
                self._callers.add(call)
                self.version += 1
            elif isinstance(fact, AgentInterval) and fact.ended_at is not None:
                interval = _slim_interval(fact)
                self._intervals[(interval.interface, interval.started_at)] = interval
                self.version += 1

    def calls(self, queue: str | None = None) -> tuple[CallRecord, ...]:
        """The calls the board remembers, of one queue or all."""
        shelf = self._all if queue is None else self._queues.get(queue, _CallShelf())
        return tuple(shelf.calls.values())

    def _forget(self, at: float) -> None:
        """Drop what no live window reaches at ``at`` any more, and fold the agent
        intervals only ``today`` reaches into its time per agent and state."""
        windows = [live_window(name, at, self.timezone) for name in LIVE_WINDOWS]
        day = next(w for w in windows if w.name == "today")
        rolling = min(w.start for w in windows if w.name != "today")
        earliest = min(day.start, rolling)
        self._all.forget_before(earliest)
        for shelf in self._queues.values():
            shelf.forget_before(earliest)
        self._callers.forget_before(earliest)
        if day.start != self._day.start:
            # what was folded ended over an hour ago: before this day began
            self._day, self._day_totals = day, {}
        old = [k for k, i in self._intervals.items() if i.ended_at and i.ended_at < rolling]
        _add_times(self._day_totals, (self._intervals.pop(k) for k in old), day)

    def snapshot(self, live: LiveView) -> BoardSnapshot:
        """Every KPI of every queue and agent, and the live state, at the live view's time."""
        at = live.at
        self._forget(at)
        windows = [live_window(name, at, self.timezone) for name in LIVE_WINDOWS]
        queues = sorted(set(queue_names(live)) | set(self._queues))
        still_open = open_intervals(live)
        kpis: list[KpiSnapshot] = []
        agents: list[AgentSnapshot] = []
        for window in windows:
            for queue in queues:
                kpis.append(KpiSnapshot(queue, window, self._call_kpis(queue, window), None))
            totals = self._call_kpis(None, window)
            intervals = [*self._closed_intervals(window), *still_open]
            per_agent = agent_kpis(self._all.since(window.start), intervals, window)
            center = center_kpis(per_agent, totals, self.settings)
            kpis.append(KpiSnapshot(None, window, totals, center))
            agents.extend(AgentSnapshot(window, a) for a in per_agent)
        return BoardSnapshot(
            at=at,
            kpis=tuple(kpis),
            queues=tuple(queue_live(live, q) for q in [*queues, None]),
            agents=live.agents,
            agent_kpis=tuple(agents),
        )

    def _closed_intervals(self, window: Window) -> list[AgentInterval]:
        """The closed agent intervals that reach into ``window``; for ``today``, folded.

        Today's are many and change little, so they are kept folded (see :func:`_fold`)
        until an interval is added or the day changes.
        """
        if window.name != "today":
            return [i for i in self._intervals.values()
                    if i.ended_at is not None and i.ended_at > window.start]
        if self._folded is None or self._folded[:2] != (window.start, self.version):
            totals = dict(self._day_totals) if window.start == self._day.start else {}
            _add_times(totals, self._intervals.values(), window)
            self._folded = (window.start, self.version, _fold(totals, window.start))
        return self._folded[2]

    def _call_kpis(self, queue: str | None, window: Window) -> CallKpis:
        """A window's call KPIs, recomputed only when a call has entered or left the window."""
        cached = self._cache.get((queue, window.name))
        if (cached is not None and cached.version == self.version
                and cached.start <= window.start <= cached.leaves
                and window.end <= cached.enters):
            return cached.kpis
        shelf = self._all if queue is None else self._queues.get(queue, _CallShelf())
        calls = shelf.since(window.start)
        kpis = call_kpis(calls, window, self.settings, self._callers)
        times = [t for c in calls for t in _call_times(c)]
        self._cache[(queue, window.name)] = _Cached(
            version=self.version,
            start=window.start,
            leaves=min((t for t in times if t >= window.start), default=float("inf")),
            enters=min((t for t in times if t >= window.end), default=float("inf")),
            kpis=kpis,
        )
        return kpis


_StateKey = tuple[str, str, AgentState, str | None]
"""An agent's interface and name, a state and its reason."""


def _add_times(totals: dict[_StateKey, float], intervals: Iterable[AgentInterval],
               day: Window) -> None:
    """Add the time each closed interval spent in ``day`` (from its start on) to ``totals``."""
    since = Window("since", day.start, float("inf"))
    for interval in intervals:
        seconds = overlap(interval, since)
        if seconds > 0:
            key = (interval.interface, interval.agent, interval.state, interval.reason)
            totals[key] = totals.get(key, 0.0) + seconds


def _fold(totals: dict[_StateKey, float], start: float) -> list[AgentInterval]:
    """Time per agent, state and reason as one closed interval each, end to end.

    The agent KPIs depend only on the time spent per state and reason, so the day's many
    intervals of an agent can be replaced by one interval per state laid end to end from
    ``start``; they still fit in the window, since an agent's intervals do not overlap.
    """
    folded: list[AgentInterval] = []
    cursor: dict[str, float] = {}
    for (interface, agent, state, reason), seconds in totals.items():
        begin = cursor.get(interface, start)
        folded.append(AgentInterval(agent, interface, None, state, reason, begin,
                                    begin + seconds))
        cursor[interface] = begin + seconds
    return folded
