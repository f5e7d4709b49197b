"""The agent machine: what each agent is doing, derived from what is known about it.

An agent is a queue member's interface (``Local/agent1@agents/n``, ``PJSIP/201``). Events
do not move an agent from state to state; they change what is known about it (its
memberships and pauses, the callers ringing it, its current call, its after-call work).
Once per event, the agents that event touched are derived again by :data:`PRIORITY`, the
first rule that holds wins; each time the derived state changes, the interval that just
ended becomes a fact. Deriving once per event, not once per change, means that an event
that moves an agent through several states at one instant leaves one interval, not a
trail of empty ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from collector.facts import AgentInterval, AgentState, Fact
from collector.live import LiveAgent, LiveMembership

_CANNOT_RING = frozenset({4, 5})
"""Device states (a member's ``Status``) that app_queue cannot ring: invalid, unavailable."""


@dataclass(slots=True)
class Membership:
    """An agent's place in one queue."""

    paused: bool = False
    reason: str = ""
    wrapuptime: float | None = None
    in_call: bool | None = None
    status: int | None = None

    @property
    def can_take_calls(self) -> bool:
        """Whether app_queue could ring the member: not paused, its device reachable."""
        return not self.paused and self.status not in _CANNOT_RING


@dataclass(frozen=True, slots=True)
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
    """The callers ringing this agent: uniqueid to queue."""
    call_queue: str | None = None
    on_hold: bool = False
    acw_queue: str | None = None
    current: OpenInterval | None = None


Concern = tuple[str | None, str | None]
"""The queue an agent's state concerns, and its pause reason."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the priority table: the state, when it holds, and what it concerns."""

    state: AgentState
    when: str
    holds: Callable[[Agent], bool]
    concerns: Callable[[Agent], Concern]


def _on_held_call(agent: Agent) -> bool:
    return agent.call_queue is not None and agent.on_hold


def _on_call(agent: Agent) -> bool:
    return agent.call_queue is not None


def _in_acw(agent: Agent) -> bool:
    return agent.acw_queue is not None


def _rung(agent: Agent) -> bool:
    return bool(agent.ringing)


def _in_no_queue(agent: Agent) -> bool:
    return not agent.memberships


def _paused_everywhere(agent: Agent) -> bool:
    return all(m.paused for m in agent.memberships.values())


def _always(agent: Agent) -> bool:
    return True


def _call(agent: Agent) -> Concern:
    return agent.call_queue, None


def _acw(agent: Agent) -> Concern:
    membership = agent.memberships.get(agent.acw_queue or "")
    reason = membership.reason if membership and membership.paused else None
    return agent.acw_queue, reason or None


def _ringing_queue(agent: Agent) -> Concern:
    return next(iter(agent.ringing.values())), None


def _pause_reason(agent: Agent) -> Concern:
    reasons = {m.reason for m in agent.memberships.values()}
    return None, (reasons.pop() if len(reasons) == 1 else "") or None


def _nothing(agent: Agent) -> Concern:
    return None, None


PRIORITY: tuple[Rule, ...] = (
    Rule(AgentState.HOLD, "if on a call that is on hold", _on_held_call, _call),
    Rule(AgentState.TALKING, "else if on a call", _on_call, _call),
    Rule(AgentState.ACW, "else if in after-call work", _in_acw, _acw),
    Rule(AgentState.RINGING, "else if a caller is ringing it", _rung, _ringing_queue),
    Rule(AgentState.LOGGED_OUT, "else if a member of no queue", _in_no_queue, _nothing),
    Rule(AgentState.PAUSED, "else if paused in every queue", _paused_everywhere, _pause_reason),
    Rule(AgentState.AVAILABLE, "otherwise", _always, _nothing),
)
"""How an agent's state is derived: the first rule that holds wins."""


_RULES = tuple((rule.state, rule.holds, rule.concerns) for rule in PRIORITY)


def derive(agent: Agent) -> tuple[AgentState, str | None, str | None]:
    """The agent's state, the queue it concerns and its pause reason, by :data:`PRIORITY`."""
    for state, holds, concerns in _RULES:
        if holds(agent):
            queue, reason = concerns(agent)
            return state, queue, reason
    raise AssertionError("the last rule always holds")


class Roster:
    """All agents seen so far, which of them an event touched, and their intervals."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = names
        self.agents: dict[str, Agent] = {}
        self.touched: dict[str, float] = {}
        """Agents an event changed, and when: derived once when the event is applied."""

    def get(self, interface: str, member_name: str) -> Agent:
        """The agent behind ``interface``, created on first sight."""
        agent = self.agents.get(interface)
        if agent is None:
            agent = Agent(interface, self._names.get(interface, member_name or interface))
            self.agents[interface] = agent
        return agent

    def find(self, interface: str | None) -> Agent | None:
        """The agent behind ``interface``, if it has been seen."""
        return self.agents.get(interface) if interface is not None else None

    def touch(self, agent: Agent, at: float) -> None:
        """What is known about ``agent`` changed at ``at``: derive it at the end of the event."""
        touched = self.touched.get(agent.interface)
        if touched is None or at > touched:
            self.touched[agent.interface] = at

    def derive_touched(self) -> list[Fact]:
        """Derive every touched agent once; return the intervals that ended."""
        touched, self.touched = self.touched, {}
        facts: list[Fact] = []
        for interface, at in touched.items():
            facts.extend(self._derive(self.agents[interface], at))
        return facts

    def derive_now(self, agent: Agent, at: float) -> list[Fact]:
        """Derive ``agent`` at ``at`` right away, for a change that happened before the
        event being applied; return the interval it closed, if any."""
        return self._derive(agent, at)

    def _derive(self, agent: Agent, at: float) -> list[Fact]:
        state, queue, reason = derive(agent)
        current = agent.current
        if current is None:
            agent.current = OpenInterval(state, queue, reason, at)
            return []
        if current.state is state and current.queue == queue and current.reason == reason:
            return []
        ended = max(at, current.started_at)
        agent.current = OpenInterval(state, queue, reason, ended)
        return [_interval(agent, current, ended)]

    def unseen(self, since: float, until: float) -> list[Fact]:
        """The stream had a gap from ``since`` to ``until``: what each agent did then is
        unknown. Return the intervals that ended at its start; the ``unknown`` ones end
        when the agents are derived again, at ``until``."""
        facts: list[Fact] = []
        for agent in self.agents.values():
            current = agent.current
            if current is None:
                continue
            if current.started_at < since:
                facts.append(_interval(agent, current, since))
            agent.current = OpenInterval(AgentState.UNKNOWN, None, None,
                                         max(since, current.started_at))
            self.touch(agent, until)
        return facts

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
