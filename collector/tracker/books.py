"""What the tracker keeps between events: its books.

One :class:`Books` holds every stint, after-call work, agent, index and deadline; the
handler modules are plain functions over it. Machine states are only ever set by
:func:`collector.states.move` (and :func:`~collector.states.start`).
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from collector.agents import Roster
from collector.events import DialStart, QueueApp
from collector.facts import Anomaly, EndReason, Fact, TransferKind
from collector.live import LiveQueue
from collector.overlap import SAME_STINT_S
from collector.states import (
    AcwDue,
    AcwState,
    GapDue,
    HoldState,
    HungUp,
    Input,
    SettleDue,
    StintState,
    refused_kind,
)

DEFAULT_ACW_REASONS = frozenset({"acw", "wrapup", "wrap-up"})
RECORDED_KEPT_S = 3600.0
"""How long the stints already recorded are remembered, so that a QueueCallerJoin the PBX
sends again for one of them (a stale join) starts nothing."""


Deadline = SettleDue | AcwDue | GapDue
"""A moment the tracker waits for, to decide something when it comes."""


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """What the tracker cannot learn from AMI.

    ``wrapuptime`` maps a queue to its ``wrapuptime`` in queues.conf: no AMI event or
    answer carries a queue's wrapuptime, so it has to come from our own configuration.
    """

    acw_reasons: frozenset[str] = DEFAULT_ACW_REASONS
    acw_pause_window_s: float = 5.0
    wrapuptime: Mapping[str, float] = field(default_factory=dict)
    settle_s: float = 1.0
    agent_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Hold:
    """The hold of a connected call: on hold while any of its channels is."""

    state: HoldState
    legs: set[str] = field(default_factory=set)
    started_at: float | None = None
    seconds: float = 0.0
    count: int = 0


@dataclass(slots=True)
class Stint:
    """A caller's pass through one queue, as far as it has been seen."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    position_entered: int | None
    state: StintState
    left_at: float | None = None
    position_left: int | None = None
    settle_due: SettleDue | None = None
    # the evidence an unanswered stint's outcome is decided from
    abandoned: bool = False
    hung_up: HungUp | None = None
    hung_up_at: float | None = None
    exit_status: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    interface: str | None = None
    agent: str | None = None
    agent_channel: str | None = None
    hold: Hold | None = None
    """The agent's side's hold: the time the caller waited on hold."""
    caller_hold: Hold | None = None
    """The caller's side's hold: the agent waited (counted in talk)."""
    rung: dict[str, str] = field(default_factory=dict)
    """The channels ringing for this caller, each to its member's interface."""
    rings_ended: set[str] = field(default_factory=set)
    """Members whose ring for this caller ended and that were not rung again since."""
    early_holds: dict[str, float] = field(default_factory=dict)
    """Holds on channels of this caller's conversation before the answer, by channel."""
    ring_attempts: int = 0
    ring_noanswer: int = 0
    transfer_to: str | None = None
    transfer_kind: TransferKind | None = None
    transfer_party: str | None = None
    end_reason: EndReason | None = None
    gap_s: float = 0.0
    """How much of the stint so far fell into gaps of the stream."""
    unseen: bool = False
    """A gap hid part of the connected call: its hold could have been missed."""


@dataclass(slots=True)
class AfterCallWork:
    """The after-call work of the call an agent just finished."""

    stint: Stint
    started_at: float
    wrapup_s: float
    state: AcwState
    due: AcwDue | None = None
    unseen: bool = False
    """A gap hid part of it: when it ended is not known."""


@dataclass(slots=True)
class Snapshot:
    """A QueueStatus answer being read: what it listed so far."""

    started_at: float | None = None
    entries: set[str] = field(default_factory=set)
    members: dict[str, set[str]] = field(default_factory=dict)


class Books:
    """Everything the tracker holds between events."""

    def __init__(self, config: TrackerConfig, revisions: bool = True) -> None:
        self.config = config
        self.revisions = revisions
        """Whether records that are not final, and callers who begin to wait, are put out."""
        self.now = 0.0
        self.roster = Roster(config.agent_names)
        self.stints: dict[str, Stint] = {}
        self.stint_linkedids: Counter[str] = Counter()
        """The linkedids of the open stints: a dial on one rings a member for a caller."""
        self.by_channel: dict[str, str] = {}
        self.by_linkedid: dict[str, str] = {}
        self.ringing: dict[str, set[str]] = {}
        """Uniqueid of a waiting caller to the interfaces it rings."""
        self.acw: dict[str, AfterCallWork] = {}
        self.dials: dict[tuple[str, str], DialStart] = {}
        """Dials outside queues not yet ended, by the dialling and the dialled uniqueid."""
        self.entering: dict[str, QueueApp] = {}
        """Callers the dialplan sent to a queue that have not joined it yet, by uniqueid."""
        self.queues: dict[str, LiveQueue] = {}
        self.snapshot = Snapshot()
        self.boot_at: float | None = None
        self._recorded: dict[tuple[str, str], list[float]] = {}
        """Stints no longer open, by uniqueid and queue: when each entered."""
        self._recorded_order: deque[tuple[str, str, float]] = deque()
        self.lost: dict[tuple[str, str], Stint] = {}
        """Stints ended unseen (in a gap), by uniqueid and queue: a later AgentComplete may
        still tell how they went on."""
        self.gap_until: float | None = None
        """When the stream's last gap ended."""
        self.gap_s = 0.0
        """How long the stream's last gap was."""
        self.unconfirmed: set[str] = set()
        """Stints open at the last gap that nothing has shown alive since."""
        self.confirm_due: GapDue | None = None
        self.deadlines: list[tuple[float, int, Deadline]] = []
        self._scheduled = 0

    def schedule(self, due: Deadline) -> None:
        """Apply ``due`` once an event shows its time has come."""
        self._scheduled += 1
        heapq.heappush(self.deadlines, (due.at, self._scheduled, due))

    def due_until(self, until: float) -> Deadline | None:
        """The next deadline at or before ``until`` that is still awaited, if any."""
        while self.deadlines and self.deadlines[0][0] <= until:
            due = heapq.heappop(self.deadlines)[2]
            if isinstance(due, SettleDue):
                stint = self.stints.get(due.uniqueid)
                if stint is not None and stint.settle_due is due:
                    return due
            elif isinstance(due, AcwDue):
                acw = self.acw.get(due.interface)
                if acw is not None and acw.due is due:
                    return due
            elif self.confirm_due is due:
                return due
        return None

    def stint(self, uniqueid: str, queue: str) -> Stint | None:
        """The open stint of caller ``uniqueid`` in ``queue``."""
        stint = self.stints.get(uniqueid)
        if stint is None or stint.queue != queue:
            return None
        return stint

    def on_call(self, interface: str, queue: str) -> Stint | None:
        """The connected stint of member ``interface`` in ``queue``, if it has one."""
        for stint in self.stints.values():
            if (stint.state is StintState.CONNECTED and stint.interface == interface
                    and stint.queue == queue):
                return stint
        return None

    def connected(self, *uniqueids: str) -> Stint | None:
        """The connected stint one of these channels belongs to (caller's or agent's leg)."""
        for uid in uniqueids:
            key = self.by_channel.get(uid) or (uid if uid in self.stints else None)
            stint = self.stints.get(key) if key else None
            if stint is not None and stint.state is StintState.CONNECTED:
                return stint
        return None

    def forget(self, stint: Stint) -> None:
        """The stint no longer takes events of its own (it ended or waits for its ACW)."""
        if self.stints.pop(stint.uniqueid, None) is not None:
            self.unlink(stint)
        self.unconfirmed.discard(stint.uniqueid)
        self._recorded.setdefault((stint.uniqueid, stint.queue), []).append(stint.entered_at)
        order = self._recorded_order
        order.append((stint.uniqueid, stint.queue, stint.entered_at))
        while order and order[0][2] < self.now - RECORDED_KEPT_S:
            uniqueid, queue, entered_at = order.popleft()
            lost = self.lost.get((uniqueid, queue))
            if lost is not None and lost.entered_at == entered_at:
                del self.lost[(uniqueid, queue)]
            entries = self._recorded[(uniqueid, queue)]
            entries.remove(entered_at)
            if not entries:
                del self._recorded[(uniqueid, queue)]
        if stint.agent_channel:
            self.by_channel.pop(stint.agent_channel, None)
        if self.by_linkedid.get(stint.linkedid) == stint.uniqueid:
            del self.by_linkedid[stint.linkedid]

    def follow(self, stint: Stint) -> Stint:
        """Follow ``stint``, in place of an open one of its caller; its linkedid then marks
        a queue's call."""
        replaced = self.stints.get(stint.uniqueid)
        if replaced is not None:
            self.unlink(replaced)
        self.stint_linkedids[stint.linkedid] += 1
        self.stints[stint.uniqueid] = stint
        return stint

    def unlink(self, stint: Stint) -> None:
        """``stint`` is open no more: its linkedid no longer marks a queue's call."""
        self.stint_linkedids[stint.linkedid] -= 1
        if self.stint_linkedids[stint.linkedid] <= 0:
            del self.stint_linkedids[stint.linkedid]

    def was_recorded(self, uniqueid: str, queue: str, entered_at: float) -> bool:
        """Whether the stint that entered ``queue`` at ``entered_at`` (to
        :data:`~collector.overlap.SAME_STINT_S`) is no longer open: it was recorded."""
        return any(abs(t - entered_at) <= SAME_STINT_S
                   for t in self._recorded.get((uniqueid, queue), ()))

    def stop_ringing(self, stint: Stint, at: float) -> None:
        """No agent rings for this caller any more."""
        # in a fixed order: the agents' intervals come out in the order they are touched
        for interface in sorted(self.ringing.pop(stint.uniqueid, ())):
            agent = self.roster.agents[interface]
            agent.ringing.pop(stint.uniqueid, None)
            self.roster.touch(agent, at)

    def is_acw_pause(self, reason: str) -> bool:
        """Whether a pause reason is one of the configured after-call work reasons."""
        return reason.strip().lower() in self.config.acw_reasons


def anomaly(at: float, kind: str, uniqueid: str | None, detail: str) -> list[Fact]:
    """One anomaly, as the list of facts a handler returns."""
    return [Anomaly(at=at, kind=kind, uniqueid=uniqueid, detail=detail)]


def refusal(
    cue: Input, at: float, uniqueid: str | None, detail: str, state: StrEnum | None = None
) -> list[Fact]:
    """The anomaly of an event a machine refused (in ``state``), or that names no instance
    of the machine it is for: nothing else changes."""
    if state is not None:
        detail = f"{detail} ({state})"
    return anomaly(at, refused_kind(cue), uniqueid, detail)
