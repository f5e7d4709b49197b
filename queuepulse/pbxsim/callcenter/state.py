"""What the simulated call center holds: its queues, the callers and their stints, the agents.

Plain mutable records, changed only by the behaviours of the call center
(`queuepulse.pbxsim.callcenter`); a finished stint is turned into the `TrueStint` the
collector must derive.
"""

from __future__ import annotations

import enum

from queuepulse.pbxsim.ami_objects import Bridge, Channel, Member
from queuepulse.pbxsim.frames import Consult, Leg
from queuepulse.pbxsim.scenario import AgentSpec, QueueSpec
from queuepulse.pbxsim.truth import AcwSource, EndReason, Outcome, TrueStint


class CallerState(enum.Enum):
    """Where a caller is: hearing the greeting, in a queue, talking, or gone from it."""

    GREETING = enum.auto()
    WAITING = enum.auto()
    RINGING = enum.auto()
    CONNECTED = enum.auto()
    GONE = enum.auto()


class AgentState(enum.Enum):
    """What an agent does, as far as app_queue's ringing is concerned."""

    OFFLINE = enum.auto()
    IDLE = enum.auto()
    BUSY = enum.auto()
    WRAPUP = enum.auto()
    PAUSED = enum.auto()


class Queue:
    """One queue: its callers waiting in order, its members, and app_queue's counters."""

    __slots__ = (
        "abandoned",
        "agents",
        "completed",
        "holdtime",
        "in_sl",
        "order",
        "rr",
        "spec",
        "talktime",
        "waiting",
    )

    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.waiting: list[Caller] = []
        self.agents: list[Agent] = []
        self.order: dict[Agent, int] = {}
        self.rr = 0
        self.completed = 0
        self.abandoned = 0
        self.in_sl = 0
        self.holdtime = 0
        self.talktime = 0

    def has_members(self) -> bool:
        """Whether any agent is logged in to the queue."""
        return any(self.spec.name in a.members for a in self.agents)


class Stint:
    """A caller's pass through one queue, as the simulation decides it."""

    __slots__ = (
        "agent",
        "answered_at",
        "entered_at",
        "hold_count",
        "hold_s",
        "hold_started",
        "position",
        "queue",
        "ring_noanswer",
        "transfer_to",
    )

    def __init__(self, queue: Queue, entered_at: float, position: int) -> None:
        self.queue = queue
        self.entered_at = entered_at
        self.position = position
        self.ring_noanswer = 0
        self.answered_at: float | None = None
        self.agent: Agent | None = None
        self.hold_s = 0.0
        self.hold_count = 0
        self.hold_started: float | None = None
        self.transfer_to: str | None = None

    def truth(
        self,
        caller: Channel,
        outcome: Outcome,
        left_at: float,
        ended: tuple[float, EndReason] | None,
        acw: tuple[float | None, AcwSource],
    ) -> TrueStint:
        """The stint as a collector should derive it, once it is over.

        ``left_at`` is when the caller left the waiting list; ``ended`` when and by whom
        an answered call ended; ``acw`` its after-call work and the rule that gave it.
        """
        answered = self.answered_at
        agent = self.agent
        end = ended[0] if ended is not None else left_at
        return TrueStint(
            uniqueid=caller.uniqueid,
            linkedid=caller.linkedid,
            queue=self.queue.spec.name,
            caller_num=caller.cid_num,
            caller_name=caller.cid_name,
            entered_at=self.entered_at,
            outcome=outcome,
            wait_s=(answered if answered is not None else left_at) - self.entered_at,
            answered_at=answered,
            ended_at=end,
            agent=agent.spec.name if agent is not None else None,
            talk_s=end - answered - self.hold_s if answered is not None else None,
            hold_s=self.hold_s if answered is not None else None,
            hold_count=self.hold_count,
            acw_s=acw[0],
            acw_source=acw[1],
            end_reason=ended[1] if ended is not None else None,
            transfer_to=self.transfer_to,
            ring_noanswer=self.ring_noanswer,
        )


class Caller:
    """One call from the trunk: its channel, its current stint and the legs ringing for it."""

    __slots__ = ("channel", "legs", "retry_at", "ring_round", "state", "stint", "timeout_at")

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.state = CallerState.GREETING
        self.stint: Stint | None = None
        self.legs: list[tuple[Agent, Member, Leg]] = []
        self.ring_round = 0
        self.retry_at = 0.0
        self.timeout_at = 0.0


class Agent:
    """One agent: its memberships, its call's channels, and what it means to do next."""

    __slots__ = (
        "bridge",
        "consult",
        "last_call_end",
        "leg",
        "members",
        "pending",
        "queues",
        "session",
        "spec",
        "state",
    )

    def __init__(self, spec: AgentSpec, queues: list[Queue]) -> None:
        self.spec = spec
        self.queues = queues
        self.members: dict[str, Member] = {}
        self.state = AgentState.OFFLINE
        self.leg: Leg | None = None
        self.bridge: Bridge | None = None
        self.consult: Consult | None = None
        self.last_call_end = 0.0
        self.pending = ""
        self.session = 0

    def call_members(self, queue: str) -> list[Member]:
        """The agent's memberships with the call's queue last (the order of app_queue's events)."""
        return [m for name, m in self.members.items() if name != queue] + [self.members[queue]]
