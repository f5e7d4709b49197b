"""Normalized AMI events: the only input the call tracker understands.

Each event is a frozen value carrying ``at``, the moment it happened: Asterisk's
``Timestamp`` header when the PBX sends one (``timestampevents = yes``), else the moment
its bytes arrived. Events the tracker does not use have no type here; the parser drops
them after reading their first line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from collector.facts import CallRecord, WaitingCaller


class MemberChange(StrEnum):
    """Which AMI event told us about a queue member."""

    ADDED = "added"
    REMOVED = "removed"
    PAUSE = "pause"
    STATUS = "status"
    PENALTY = "penalty"
    RINGINUSE = "ringinuse"
    SNAPSHOT = "snapshot"


class HangupKind(StrEnum):
    """Which AMI event told us a channel is hanging up, and so who asked."""

    HANGUP = "hangup"
    """Hangup: the channel is gone."""
    REQUEST = "request"
    """HangupRequest: the channel's own side asked (the caller hung up)."""
    SOFT_REQUEST = "soft_request"
    """SoftHangupRequest: Asterisk asked (the dialplan, a transfer, a shutdown)."""


@dataclass(frozen=True, slots=True)
class CallerJoin:
    """QueueCallerJoin: a caller entered a queue."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    position: int | None


@dataclass(frozen=True, slots=True)
class CallerLeave:
    """QueueCallerLeave: a caller left a queue's waiting list (answered or not)."""

    at: float
    queue: str
    uniqueid: str
    position: int | None


@dataclass(frozen=True, slots=True)
class CallerAbandon:
    """QueueCallerAbandon: app_queue gave up on the caller (hang-up, timeout or empty queue)."""

    at: float
    queue: str
    uniqueid: str
    position: int | None


@dataclass(frozen=True, slots=True)
class AgentCalled:
    """AgentCalled: a member's device started ringing for a caller; ``dest_uniqueid`` is
    the channel that rings (``""`` when the frame does not say)."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    dest_uniqueid: str = ""


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer:
    """AgentRingNoAnswer: a member did not answer within the queue's timeout."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class AgentDump:
    """AgentDump: a member hung up before the caller was bridged."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str


@dataclass(frozen=True, slots=True)
class AgentConnect:
    """AgentConnect: caller and member were bridged; ``dest_uniqueid`` is the member's leg."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    dest_uniqueid: str


@dataclass(frozen=True, slots=True)
class AgentComplete:
    """AgentComplete: a connected call ended; ``reason`` is caller, agent or transfer.

    ``wait_reported`` and ``talk_reported`` are Asterisk's HoldTime and TalkTime. When the
    caller's channel is already gone, Asterisk 20 leaves out its fields: ``uniqueid`` is
    then ``""`` and the call is known by the member and ``dest_uniqueid``, the member's
    channel.
    """

    at: float
    queue: str
    uniqueid: str
    interface: str
    member_name: str
    reason: str
    wait_reported: int | None
    talk_reported: int | None
    dest_uniqueid: str = ""


@dataclass(frozen=True, slots=True)
class MemberUpdate:
    """Any QueueMember* event, or a QueueMember line of a QueueStatus answer."""

    at: float
    change: MemberChange
    queue: str
    interface: str
    member_name: str
    paused: bool | None
    reason: str
    in_call: bool | None
    wrapuptime: float | None
    status: int | None = None
    """The member's device state (``Status``: 1 not in use ... 5 unavailable), if told."""


@dataclass(frozen=True, slots=True)
class QueueParams:
    """A QueueParams line of a QueueStatus answer: one queue's settings."""

    at: float
    queue: str
    strategy: str
    service_level: int | None


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A QueueEntry line of a QueueStatus answer: a caller waiting right now."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    wait: int | None


@dataclass(frozen=True, slots=True)
class SnapshotEnd:
    """QueueStatusComplete: the end of a QueueStatus answer."""

    at: float


@dataclass(frozen=True, slots=True)
class HoldChange:
    """Hold or Unhold on any channel; matched to a call by uniqueid or linkedid."""

    at: float
    uniqueid: str
    linkedid: str
    on_hold: bool


@dataclass(frozen=True, slots=True)
class Transfer:
    """BlindTransfer or AttendedTransfer that moved a caller away from an agent.

    ``target`` is the extension dialled (the blind transfer's, the consultation call's);
    ``party`` the caller ID number of who answered it, when Asterisk tells (an attended
    transfer), else ``""``.
    """

    at: float
    success: bool
    transferer_uniqueid: str
    transferer_linkedid: str
    transferee_uniqueid: str
    target: str
    attended: bool = False
    party: str = ""


@dataclass(frozen=True, slots=True)
class Hangup:
    """Hangup, HangupRequest or SoftHangupRequest on a channel; ``cause`` is the frame's
    ``Cause`` (for a SoftHangupRequest, why Asterisk asked: 4 is a shutdown)."""

    at: float
    uniqueid: str
    kind: HangupKind = HangupKind.HANGUP
    cause: int | None = None


@dataclass(frozen=True, slots=True)
class QueueStatusVar:
    """VarSet of QUEUESTATUS: why app_queue let a live caller go (TIMEOUT, LEAVEEMPTY, ...)."""

    at: float
    uniqueid: str
    value: str


@dataclass(frozen=True, slots=True)
class DialStart:
    """DialBegin: a channel dials another (app_dial, an AMI Originate, or app_queue ringing
    a member). ``dialled`` is the number or extension the dial string names."""

    at: float
    uniqueid: str
    linkedid: str
    caller_num: str
    dest_uniqueid: str
    dest_channel: str
    dialled: str


@dataclass(frozen=True, slots=True)
class DialEnd:
    """DialEnd: a dial ended, answered (``status`` ANSWER) or not (NOANSWER, BUSY, CANCEL,
    CONGESTION, CHANUNAVAIL, ...)."""

    at: float
    uniqueid: str
    dest_uniqueid: str
    status: str


@dataclass(frozen=True, slots=True)
class QueueApp:
    """Newexten of the Queue application: the dialplan sends a caller to a queue, which it
    joins or, when ``joinempty`` keeps it out, does not (dialplan class, so not every AMI
    user sees it)."""

    at: float
    queue: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class PbxBooted:
    """FullyBooted: sent at login and after every Asterisk start; ``uptime`` in seconds."""

    at: float
    uptime: float | None


@dataclass(frozen=True, slots=True)
class PbxShutdown:
    """Shutdown: Asterisk is stopping; every channel is about to disappear."""

    at: float


@dataclass(frozen=True, slots=True)
class StreamGap:
    """Made by the connection shell, not Asterisk: events between ``since`` and ``at`` were lost."""

    at: float
    since: float


@dataclass(frozen=True, slots=True)
class StintResumed:
    """Made by the collector starting again: a stint its last run stored as open (a caller
    waiting, or a call talking or in after-call work), to be followed on. ``at`` is the
    last moment that run saw; the time since is a gap (:class:`StreamGap`)."""

    at: float
    stored: CallRecord | WaitingCaller


@dataclass(frozen=True, slots=True)
class Tick:
    """Made by the connection shell: time has reached ``at`` with nothing else to report."""

    at: float


Event = (
    CallerJoin
    | CallerLeave
    | CallerAbandon
    | AgentCalled
    | AgentRingNoAnswer
    | AgentDump
    | AgentConnect
    | AgentComplete
    | MemberUpdate
    | QueueParams
    | QueueEntry
    | SnapshotEnd
    | HoldChange
    | Transfer
    | Hangup
    | QueueStatusVar
    | DialStart
    | DialEnd
    | QueueApp
    | PbxBooted
    | PbxShutdown
    | StreamGap
    | StintResumed
    | Tick
)
