"""The closed agent intervals the live windows reach, and today's time per agent and state.

The board keeps the closed intervals of the last hour as they are, for the rolling
windows, and folds older ones into time per agent, state and reason since local
midnight, for ``today``. ``today`` reads its intervals folded (see :func:`_fold`): an
agent's day is a few intervals, whatever the number of its state changes. The folded
time is kept up to date as intervals come, rather than added up again from every
interval of the hour at each snapshot.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import replace

from collector.facts import AgentInterval, AgentState
from kpi.occupancy import overlap
from kpi.windows import Window

_StateKey = tuple[str, str, AgentState, str | None]
"""An agent's interface and name, a state and its reason."""


def _name(name: str | None) -> str | None:
    """One shared copy of a name that thousands of facts repeat (queue, agent, reason)."""
    return None if name is None else sys.intern(name)


def _slim(interval: AgentInterval) -> AgentInterval:
    """The interval with its names shared."""
    return replace(interval, agent=sys.intern(interval.agent),
                   interface=sys.intern(interval.interface), queue=_name(interval.queue),
                   reason=_name(interval.reason))


class AgentTimes:
    """The closed intervals of the last hour, and what the day's older ones add up to."""

    def __init__(self) -> None:
        self.version = 0
        """Counts changes of the intervals."""
        self._intervals: dict[tuple[str, float], AgentInterval] = {}
        self._day = Window("today", 0.0, 0.0)
        self._day_totals: dict[_StateKey, float] = {}
        self._today: tuple[float, dict[_StateKey, float]] | None = None
        """Since a day's start: the day's totals plus every interval kept."""
        self._folded: tuple[float, int, list[AgentInterval]] | None = None

    @property
    def day(self) -> Window:
        """The day whose older intervals are folded."""
        return self._day

    def add(self, interval: AgentInterval) -> None:
        """Keep a closed interval (in place of the one that started at the same moment)."""
        interval = _slim(interval)
        key = (interval.interface, interval.started_at)
        if key in self._intervals:
            self._today = None  # one replaced: added up again, not taken away
        elif self._today is not None:
            _add_times(self._today[1], (interval,), self._today[0])
        self._intervals[key] = interval
        self.version += 1

    def forget(self, day: Window, rolling: float) -> None:
        """Fold the intervals that ended before ``rolling`` into ``day``'s time; a new
        day starts from nothing (what was folded ended before it began)."""
        if day.start != self._day.start:
            self._day, self._day_totals, self._today = day, {}, None
        old = [k for k, i in self._intervals.items() if i.ended_at and i.ended_at < rolling]
        _add_times(self._day_totals, (self._intervals.pop(k) for k in old), day.start)

    def closed(self, window: Window) -> list[AgentInterval]:
        """The closed intervals that reach into ``window``; for ``today``, folded, and
        folded again only when an interval came or the day changed."""
        if window.name != "today":
            return [i for i in self._intervals.values()
                    if i.ended_at is not None and i.ended_at > window.start]
        if self._folded is None or self._folded[:2] != (window.start, self.version):
            self._folded = (window.start, self.version,
                            _fold(self._since(window.start), window.start))
        return self._folded[2]

    def _since(self, start: float) -> dict[_StateKey, float]:
        """Time per agent, state and reason from ``start`` on, of every interval."""
        if self._today is None or self._today[0] != start:
            totals = dict(self._day_totals) if start == self._day.start else {}
            _add_times(totals, self._intervals.values(), start)
            self._today = (start, totals)
        return self._today[1]


def _add_times(totals: dict[_StateKey, float], intervals: Iterable[AgentInterval],
               start: float) -> None:
    """Add the time each closed interval spent from ``start`` on to ``totals``."""
    since = Window("since", start, float("inf"))
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
