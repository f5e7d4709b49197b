"""Agents: what each one is doing, derived from what we know, and the intervals it spends.

An agent is a queue member's interface (``Local/agent1@agents/n``, ``PJSIP/201``). Its
state is not stored but derived, in one function, from its memberships, pauses, ringing
calls, current call and after-call work; each time the derived state changes, the
interval that just ended becomes a fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.facts import AgentInterval, AgentState, Fact
from collector.live import LiveAgent, LiveMembership


@dataclass(slots=True)
class Membership:
    """An agent's place in one queue."""

    paused: bool = False
    reason: str = ""
    paused_at: float | None = None
    wrapuptime: float | None = None
    in_call: bool | None = None


@dataclass(slots=True)
class OpenInterval:
    """The interval an agent is in now."""

    state: AgentState
    queue: str | None
    reason: str | None
    started_at: float


@dataclass(slots=True)
class Agent:
    """Everything the tracker knows about one agent."""

    interface: str
    name: str
    memberships: dict[str, Membership] = field(default_factory=dict)
    ringing: dict[str, str] = field(default_factory=dict)
    call_queue: str | None = None
    on_hold: bool = False
    acw_queue: str | None = None
    current: OpenInterval | None = None

    def derived(self, with_acw: bool = True) -> tuple[AgentState, str | None, str | None]:
        """The agent's state, the queue it concerns and the pause reason, right now."""
        if self.call_queue is not None:
            return (AgentState.HOLD if self.on_hold else AgentState.TALKING), self.call_queue, None
        if with_acw and self.acw_queue is not None:
            membership = self.memberships.get(self.acw_queue)
            reason = membership.reason if membership and membership.paused else None
            return AgentState.ACW, self.acw_queue, reason or None
        if self.ringing:
            return AgentState.RINGING, next(iter(self.ringing.values())), None
        if not self.memberships:
            return AgentState.LOGGED_OUT, None, None
        if all(m.paused for m in self.memberships.values()):
            reasons = {m.reason for m in self.memberships.values()}
            return AgentState.PAUSED, None, (reasons.pop() if len(reasons) == 1 else "") or None
        return AgentState.AVAILABLE, None, None


class Roster:
    """All agents seen so far, and the intervals their state changes produce."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = names
        self.agents: dict[str, Agent] = {}

    def get(self, interface: str, member_name: str) -> Agent:
        """The agent behind ``interface``, created on first sight."""
        agent = self.agents.get(interface)
        if agent is None:
            agent = Agent(interface, self._names.get(interface, member_name or interface))
            self.agents[interface] = agent
        return agent

    def find(self, interface: str) -> Agent | None:
        """The agent behind ``interface``, if it has been seen."""
        return self.agents.get(interface)

    @staticmethod
    def refresh(agent: Agent, at: float) -> list[Fact]:
        """Re-derive the agent's state at ``at``; return the interval it closed, if any."""
        state, queue, reason = agent.derived()
        current = agent.current
        if current is None:
            agent.current = OpenInterval(state, queue, reason, at)
            return []
        if (current.state, current.queue, current.reason) == (state, queue, reason):
            return []
        ended = max(at, current.started_at)
        agent.current = OpenInterval(state, queue, reason, ended)
        return [_interval(agent, current, ended)]

    @staticmethod
    def retract_acw(agent: Agent, started_at: float) -> None:
        """After-call work turned out to be zero: relabel the ACW interval it opened."""
        agent.acw_queue = None
        current = agent.current
        if current is not None and current.state is AgentState.ACW and (
            current.started_at >= started_at
        ):
            state, queue, reason = agent.derived(with_acw=False)
            current.state, current.queue, current.reason = state, queue, reason

    def close_all(self) -> list[Fact]:
        """The intervals still open, with no end (the stream ended before they did)."""
        facts: list[Fact] = [
            _interval(agent, agent.current, None)
            for agent in self.agents.values()
            if agent.current is not None
        ]
        for agent in self.agents.values():
            agent.current = None
        return facts

    def live(self) -> tuple[LiveAgent, ...]:
        """A frozen picture of every agent."""
        return tuple(
            LiveAgent(
                interface=a.interface,
                name=a.name,
                state=a.current.state,
                queue=a.current.queue,
                reason=a.current.reason,
                since=a.current.started_at,
                memberships=tuple(
                    LiveMembership(q, m.paused, m.reason) for q, m in sorted(a.memberships.items())
                ),
            )
            for a in self.agents.values()
            if a.current is not None
        )


def _interval(agent: Agent, current: OpenInterval, ended: float | None) -> AgentInterval:
    return AgentInterval(
        agent=agent.name,
        interface=agent.interface,
        queue=current.queue,
        state=current.state,
        reason=current.reason,
        started_at=current.started_at,
        ended_at=ended,
    )
