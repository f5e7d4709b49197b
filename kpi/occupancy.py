"""The agent KPIs: time in each state, occupancy, per-agent handling and cost per call.

Pure functions over agent state intervals and call records, used by the live board and
the reports alike. Occupancy is busy time over the time an agent could take calls:

    occupancy = (talk + hold + ACW time) / (logged-in time - paused time)

where each time is the overlap of the agent's state intervals with the window. An
interval whose end was not observed (``ended_at`` NULL: the stream stopped) adds nothing;
the live board closes the intervals still open at "now" with :func:`open_intervals`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from collector.facts import AgentInterval, AgentState, CallRecord
from collector.live import LiveView
from kpi.definitions import CallKpis, CallTable, mean, observed, ratio
from kpi.settings import KpiSettings
from kpi.windows import Window

BUSY_STATES = frozenset({AgentState.TALKING, AgentState.HOLD, AgentState.ACW})
NOT_LOGGED_IN = frozenset({AgentState.LOGGED_OUT, AgentState.UNKNOWN})
"""Time not counted as logged in: logged out, or not seen (a gap in the AMI stream)."""


@dataclass(frozen=True, slots=True)
class HandledCalls:
    """The calls one agent handled in a window: what the agent KPIs read of them."""

    name: str
    count: int
    talk_s: Sequence[float]
    hold_s: Sequence[float]
    acw_s: Sequence[float]
    handle_s: Sequence[float]
    """Each duration that was observed (a call's unobserved ones add nothing)."""


def handled_by_agent(tables: Iterable[CallTable], window: Window) -> dict[str, HandledCalls]:
    """The calls each agent (by interface) handled in ``window``, of the calls of ``tables``."""
    names: dict[str, str] = {}
    rows: dict[str, list[tuple[CallTable, list[int]]]] = {}
    for table in tables:
        mine: dict[int, list[int]] = {}
        for row in table.handled_in(window):
            mine.setdefault(table.agent[row], []).append(row)
        for agent, agent_rows in mine.items():
            interface, name = table.agents[agent]
            if interface is not None:
                names.setdefault(interface, name or interface)
                rows.setdefault(interface, []).append((table, agent_rows))
    return {
        interface: HandledCalls(
            name=names[interface],
            count=sum(len(r) for _, r in parts),
            talk_s=observed(v for t, r in parts for v in map(t.talk.__getitem__, r)),
            hold_s=observed(v for t, r in parts for v in map(t.hold.__getitem__, r)),
            acw_s=observed(v for t, r in parts for v in map(t.acw.__getitem__, r)),
            handle_s=observed(v for t, r in parts for v in map(t.handle.__getitem__, r)),
        )
        for interface, parts in rows.items()
    }



@dataclass(frozen=True, slots=True)
class PauseTime:
    """Time spent paused for one reason (``""`` when no reason was given)."""

    reason: str
    seconds: float


@dataclass(frozen=True, slots=True)
class AgentKpis:
    """One agent's figures over a window."""

    interface: str
    name: str
    handled: int
    talk_s: float
    hold_s: float
    acw_s: float
    aht_s: float | None
    logged_in_s: float
    paused_s: float
    busy_s: float
    occupancy: float | None
    pauses: tuple[PauseTime, ...]


@dataclass(frozen=True, slots=True)
class CenterKpis:
    """The whole call center's agent figures over a window, and the cost per call."""

    agents: int
    logged_in_s: float
    paused_s: float
    busy_s: float
    occupancy: float | None
    handled: int
    trunk_minutes: float
    cost_per_call: float | None


def overlap(interval: AgentInterval, window: Window) -> float:
    """Seconds of ``interval`` inside ``window``; 0 when its end was not observed."""
    if interval.ended_at is None:
        return 0.0
    return max(0.0, min(interval.ended_at, window.end) - max(interval.started_at, window.start))


def open_intervals(live: LiveView) -> tuple[AgentInterval, ...]:
    """The intervals agents are in right now, closed at the live view's time."""
    return tuple(
        AgentInterval(agent=a.name, interface=a.interface, queue=a.queue, state=a.state,
                      reason=a.reason, started_at=a.since, ended_at=max(a.since, live.at))
        for a in live.agents
    )


def occupancy(busy_s: float, logged_in_s: float, paused_s: float) -> float | None:
    """Busy time over available time (logged in, not paused); ``None`` with none available."""
    return ratio(busy_s, logged_in_s - paused_s)


def cost_per_call(logged_in_s: float, trunk_minutes: float, handled: int,
                  settings: KpiSettings) -> float | None:
    """(Agent logged-in hours x hourly cost + trunk minutes x per-minute cost) / handled calls.

    ``None`` when no rate is configured or no call was handled.
    """
    if not settings.costed:
        return None
    cost = logged_in_s / 3600.0 * settings.agent_hourly + trunk_minutes * settings.trunk_per_minute
    return ratio(cost, handled)


def agent_kpis(calls: Iterable[CallRecord], intervals: Iterable[AgentInterval],
               window: Window) -> tuple[AgentKpis, ...]:
    """Each agent's figures over ``window``, ordered by name.

    Calls count for the agent that answered them, when their after-call work ended in the
    window; time counts from the intervals overlapping the window.
    """
    table = CallTable(KpiSettings())
    for call in calls:
        table.add(call)
    return agents_kpis(handled_by_agent([table], window), intervals, window)


def agents_kpis(handled: Mapping[str, HandledCalls], intervals: Iterable[AgentInterval],
                window: Window) -> tuple[AgentKpis, ...]:
    """:func:`agent_kpis`, with the calls each agent handled in ``window`` already sorted out."""
    names: dict[str, str] = {}
    state_s: dict[str, dict[AgentState, float]] = {}
    pause_s: dict[str, dict[str, float]] = {}
    paused = AgentState.PAUSED
    for interval in intervals:
        seconds = overlap(interval, window)
        if seconds <= 0:
            continue
        interface, state = interval.interface, interval.state
        states = state_s.get(interface)
        if states is None:
            names.setdefault(interface, interval.agent)
            states = state_s[interface] = {}
        states[state] = states.get(state, 0.0) + seconds
        if state is paused:
            pauses = pause_s.setdefault(interface, {})
            reason = interval.reason or ""
            pauses[reason] = pauses.get(reason, 0.0) + seconds
    for interface, calls in handled.items():
        names.setdefault(interface, calls.name)
    none = HandledCalls("", 0, (), (), (), ())
    result = [
        _one_agent(interface, name, state_s.get(interface, {}), pause_s.get(interface, {}),
                   handled.get(interface, none))
        for interface, name in names.items()
    ]
    return tuple(sorted(result, key=lambda a: (a.name, a.interface)))


def _one_agent(interface: str, name: str, states: dict[AgentState, float],
               pauses: dict[str, float], calls: HandledCalls) -> AgentKpis:
    logged_in = math.fsum(s for state, s in states.items() if state not in NOT_LOGGED_IN)
    paused = states.get(AgentState.PAUSED, 0.0)
    busy = math.fsum(states.get(state, 0.0) for state in BUSY_STATES)
    return AgentKpis(
        interface=interface,
        name=name,
        handled=calls.count,
        talk_s=math.fsum(calls.talk_s),
        hold_s=math.fsum(calls.hold_s),
        acw_s=math.fsum(calls.acw_s),
        aht_s=mean(calls.handle_s),
        logged_in_s=logged_in,
        paused_s=paused,
        busy_s=busy,
        occupancy=occupancy(busy, logged_in, paused),
        pauses=tuple(PauseTime(r, s) for r, s in sorted(pauses.items())),
    )


def center_kpis(agents: Sequence[AgentKpis], totals: CallKpis,
                settings: KpiSettings) -> CenterKpis:
    """All agents together: overall occupancy, and cost per call handled.

    ``totals`` are the call KPIs of every queue over the same window.
    """
    logged_in = math.fsum(a.logged_in_s for a in agents)
    paused = math.fsum(a.paused_s for a in agents)
    busy = math.fsum(a.busy_s for a in agents)
    return CenterKpis(
        agents=sum(1 for a in agents if a.logged_in_s > 0),
        logged_in_s=logged_in,
        paused_s=paused,
        busy_s=busy,
        occupancy=occupancy(busy, logged_in, paused),
        handled=totals.handled,
        trunk_minutes=totals.trunk_minutes,
        cost_per_call=cost_per_call(logged_in, totals.trunk_minutes, totals.handled, settings),
    )
