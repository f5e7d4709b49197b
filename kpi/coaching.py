"""Coaching figures: each agent's calls per queue, its rings let go unanswered, its
login sessions.

Pure functions over call records, ring-no-answers and agent state intervals, for the
agents' part of a report. A call counts for the agent that answered it, in the queue it
came from, when its after-call work ended in the window (as the agent KPIs count it); a
ring-no-answer counts when the ring ended in the window.

A login session runs from an agent's first state other than logged out to its next
``logged_out`` state. Where the agent's states stop without a logout (the stream was
lost, the daemon stopped) the session's end was not seen: ``logged_out_at`` is ``None``
and ``last_seen_at`` says how far it was followed; nothing is guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from collector.facts import AgentInterval, AgentState, CallRecord, RingNoAnswer
from kpi.definitions import handled_at, mean
from kpi.windows import Window

SAME_SESSION_GAP_S = 1.0
"""Agent states this close together follow each other; a longer gap in the record is a
stretch that was not observed, and ends a session there."""


@dataclass(frozen=True, slots=True)
class AgentQueueKpis:
    """One agent's calls from one queue in a window, and the rings it let go there."""

    interface: str
    name: str
    queue: str
    handled: int
    talk_s: float
    hold_s: float
    acw_s: float
    aht_s: float | None
    rona: int


@dataclass(frozen=True, slots=True)
class LoginSession:
    """One stretch an agent was logged in."""

    interface: str
    name: str
    logged_in_at: float
    logged_out_at: float | None
    last_seen_at: float

    @property
    def duration_s(self) -> float:
        """How long it lasted (as far as it was seen)."""
        return (self.logged_out_at or self.last_seen_at) - self.logged_in_at


def rona_by_agent(rings: Iterable[RingNoAnswer], window: Window) -> Counter[str]:
    """The rings each agent (by interface) let go unanswered in ``window``."""
    return Counter(r.interface for r in rings if r.at in window)


def agent_queue_kpis(calls: Iterable[CallRecord], rings: Iterable[RingNoAnswer],
                     window: Window) -> tuple[AgentQueueKpis, ...]:
    """Each agent's figures per queue over ``window``, ordered by agent and queue."""
    handled: dict[tuple[str, str], list[CallRecord]] = {}
    names: dict[str, str] = {}
    for call in calls:
        done = handled_at(call)
        if call.agent_interface is None or done is None or done not in window:
            continue
        handled.setdefault((call.agent_interface, call.queue), []).append(call)
        names.setdefault(call.agent_interface, call.agent or call.agent_interface)
    missed: Counter[tuple[str, str]] = Counter()
    for ring in rings:
        if ring.at in window:
            missed[(ring.interface, ring.queue)] += 1
            names.setdefault(ring.interface, ring.agent)
    rows = []
    for key in handled.keys() | missed.keys():
        mine = handled.get(key, [])
        rows.append(AgentQueueKpis(
            interface=key[0], name=names[key[0]], queue=key[1], handled=len(mine),
            talk_s=math.fsum(_seen(c.talk_s for c in mine)),
            hold_s=math.fsum(_seen(c.hold_s for c in mine)),
            acw_s=math.fsum(_seen(c.acw_s for c in mine)),
            aht_s=mean(_seen(c.handle_s for c in mine)), rona=missed[key]))
    return tuple(sorted(rows, key=lambda r: (r.name, r.interface, r.queue)))


def _seen(values: Iterable[float | None]) -> list[float]:
    """The durations that were observed."""
    return [v for v in values if v is not None]


def login_sessions(intervals: Iterable[AgentInterval]) -> tuple[LoginSession, ...]:
    """Every login session the intervals show, ordered by agent and start."""
    by_agent: dict[str, list[AgentInterval]] = {}
    for interval in intervals:
        by_agent.setdefault(interval.interface, []).append(interval)
    sessions: list[LoginSession] = []
    for mine in by_agent.values():
        sessions += _sessions(sorted(mine, key=lambda i: i.started_at))
    return tuple(sorted(sessions, key=lambda s: (s.name, s.interface, s.logged_in_at)))


def _sessions(ordered: Sequence[AgentInterval]) -> list[LoginSession]:
    sessions: list[LoginSession] = []
    start: AgentInterval | None = None
    seen = -math.inf
    for interval in ordered:
        if start is not None and interval.started_at - seen > SAME_SESSION_GAP_S:
            sessions.append(_session(start, None, seen))  # its end was not observed
            start = None
        if interval.state is AgentState.LOGGED_OUT:
            if start is not None:
                sessions.append(_session(start, interval.started_at, interval.started_at))
                start = None
        elif start is None:
            start = interval
        seen = interval.ended_at if interval.ended_at is not None else interval.started_at
        if interval.ended_at is None and start is not None:
            sessions.append(_session(start, None, seen))
            start = None
    if start is not None:
        sessions.append(_session(start, None, seen))
    return sessions


def _session(first: AgentInterval, logged_out_at: float | None,
             last_seen_at: float) -> LoginSession:
    return LoginSession(first.interface, first.agent, first.started_at, logged_out_at,
                        last_seen_at)
