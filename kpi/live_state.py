"""The live KPIs: who is waiting and what the agents are doing, from the tracker's live view.

An agent counts for a queue when it is a member of it. Its state is the agent's own (an
agent talking to a caller of another queue is busy for every queue it serves), except
that "paused" and "available" follow its pause in that queue, because Asterisk pauses
members per queue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from collector.facts import AgentState
from collector.live import LiveAgent, LiveView


@dataclass(frozen=True, slots=True)
class PauseCount:
    """Agents paused for one reason (``""`` when no reason was given)."""

    reason: str
    agents: int


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """How many agents are in each state."""

    logged_in: int
    available: int
    ringing: int
    talking: int
    on_hold: int
    acw: int
    paused: int
    paused_by_reason: tuple[PauseCount, ...]


@dataclass(frozen=True, slots=True)
class QueueLive:
    """A queue (``queue`` ``None``: all queues) right now."""

    queue: str | None
    at: float
    waiting: int
    longest_wait_s: float | None
    oldest_entered_at: float | None
    connected: int
    agents: AgentCounts


def queue_names(live: LiveView) -> tuple[str, ...]:
    """Every queue the live view knows of: configured, reported, called or served."""
    names = {q.name for q in live.queues} | {c.queue for c in live.calls}
    names |= {m.queue for a in live.agents for m in a.memberships}
    return tuple(sorted(names))


def _state_in(agent: LiveAgent, queue: str | None) -> tuple[AgentState, str | None]:
    """The agent's state as seen from ``queue`` (any queue for ``None``)."""
    if queue is None or agent.state not in (AgentState.AVAILABLE, AgentState.PAUSED):
        return agent.state, agent.reason
    membership = next(m for m in agent.memberships if m.queue == queue)
    if membership.paused:
        return AgentState.PAUSED, membership.reason
    return AgentState.AVAILABLE, None


def agent_counts(live: LiveView, queue: str | None) -> AgentCounts:
    """Agents logged in to ``queue`` (or to any queue), counted by state."""
    agents = [
        a for a in live.agents
        if a.state is not AgentState.LOGGED_OUT
        and (queue is None or any(m.queue == queue for m in a.memberships))
    ]
    states = [_state_in(a, queue) for a in agents]
    count = Counter(state for state, _ in states)
    reasons = Counter(reason or "" for state, reason in states if state is AgentState.PAUSED)
    return AgentCounts(
        logged_in=len(agents),
        available=count[AgentState.AVAILABLE],
        ringing=count[AgentState.RINGING],
        talking=count[AgentState.TALKING],
        on_hold=count[AgentState.HOLD],
        acw=count[AgentState.ACW],
        paused=count[AgentState.PAUSED],
        paused_by_reason=tuple(PauseCount(r, n) for r, n in sorted(reasons.items())),
    )


def queue_live(live: LiveView, queue: str | None) -> QueueLive:
    """Callers waiting (and the longest current wait), calls connected and agents of a queue."""
    waiting = live.waiting(queue)
    oldest = min((c.entered_at for c in waiting), default=None)
    return QueueLive(
        queue=queue,
        at=live.at,
        waiting=len(waiting),
        longest_wait_s=None if oldest is None else max(0.0, live.at - oldest),
        oldest_entered_at=oldest,
        connected=sum(1 for c in live.calls
                      if c.answered_at is not None and (queue is None or c.queue == queue)),
        agents=agent_counts(live, queue),
    )
