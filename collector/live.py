"""A read-only picture of the call center right now, taken from the tracker.

The KPI publisher, the terminal wallboard and the reports read these values; none of
them reach into the tracker's own bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.facts import AgentState


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A caller still in a queue: waiting, or talking to an agent."""

    uniqueid: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    answered_at: float | None
    agent: str | None
    on_hold: bool


@dataclass(frozen=True, slots=True)
class LiveMembership:
    """An agent's membership of one queue."""

    queue: str
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class LiveAgent:
    """An agent's current state and how long it has lasted."""

    interface: str
    name: str
    state: AgentState
    queue: str | None
    reason: str | None
    since: float
    memberships: tuple[LiveMembership, ...]


@dataclass(frozen=True, slots=True)
class LiveQueue:
    """A queue's settings as the PBX reported them (and the config completed them)."""

    name: str
    strategy: str
    service_level_s: int | None
    wrapuptime_s: float


@dataclass(frozen=True, slots=True)
class LiveView:
    """Everything that is going on at ``at``."""

    at: float
    calls: tuple[LiveCall, ...]
    agents: tuple[LiveAgent, ...]
    queues: tuple[LiveQueue, ...]

    def waiting(self, queue: str | None = None) -> tuple[LiveCall, ...]:
        """Callers not yet answered, in one queue or in all."""
        return tuple(
            c
            for c in self.calls
            if c.answered_at is None and (queue is None or c.queue == queue)
        )
