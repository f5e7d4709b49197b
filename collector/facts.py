"""The facts the call tracker emits: finished call records, agent state intervals, anomalies.

These are the project's public data model. Their field names are the column names of the
SQLite tables ``calls`` and ``agent_states`` and the keys of the MQTT call payload, so a
change here is a schema change (see ``docs/schema.md``).

Times are UTC epoch seconds (float, sub-second); durations are seconds. ``None`` means
"not observed": queuepulse never fills in a timing it did not see.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from operator import attrgetter


class Outcome(StrEnum):
    """How a caller's stint in a queue ended."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    EXIT_KEY = "exit_key"
    EXIT_EMPTY = "exit_empty"
    UNKNOWN = "unknown"
    TURNED_AWAY = "turned_away"
    """``joinempty`` kept the caller out: it never entered the queue (not offered)."""


class AcwSource(StrEnum):
    """Which rule gave a call its after-call work time."""

    PAUSE = "pause"
    WRAPUPTIME = "wrapuptime"
    NONE = "none"


class EndReason(StrEnum):
    """Who ended a connected call, or the stint of a caller the PBX dropped."""

    CALLER = "caller"
    AGENT = "agent"
    TRANSFER = "transfer"
    PBX_RESTART = "pbx_restart"
    """Asterisk shut down or restarted: the call was cut, or the waiting caller dropped."""


class Phase(StrEnum):
    """How far a stint's record has got: each phase's record replaces the one before."""

    TALKING = "talking"
    """Answered, the call goes on: outcome, wait and agent are known."""
    WRAPUP = "wrapup"
    """The call ended (talk and hold known); its after-call work is not decided yet."""
    DONE = "done"
    """Nothing more will change: an unanswered stint's outcome, or an answered one's ACW."""


class TransferKind(StrEnum):
    """How an agent transferred the caller away."""

    BLIND = "blind"
    ATTENDED = "attended"


class AgentState(StrEnum):
    """What an agent is doing during an interval."""

    AVAILABLE = "available"
    RINGING = "ringing"
    TALKING = "talking"
    HOLD = "hold"
    ACW = "acw"
    PAUSED = "paused"
    LOGGED_OUT = "logged_out"
    UNKNOWN = "unknown"
    """The stream had a gap (a lost connection, an Asterisk restart): not seen."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One caller's pass through one queue (a "queue stint"), with its timings."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    answered_at: float | None
    ended_at: float | None
    outcome: Outcome
    agent: str | None
    agent_interface: str | None
    wait_s: float | None
    talk_s: float | None
    hold_s: float | None
    hold_count: int
    acw_s: float | None
    acw_source: AcwSource
    handle_s: float | None
    ring_attempts: int
    ring_noanswer: int
    transferred: int
    transfer_to: str | None
    end_reason: EndReason | None
    position_entered: int | None
    position_left: int | None
    phase: Phase = Phase.DONE
    caller_hold_s: float | None = None
    """Time the caller's side held the call (counted in talk: the agent was on it)."""
    transfer_kind: TransferKind | None = None
    transfer_party: str | None = None
    """Who answered an attended transfer (its caller ID number), when Asterisk tells."""
    gap_s: float = 0.0
    """Seconds of the stint, from entry to the end of its after-call work, that fell into
    a gap of the stream: what was not seen there is ``None`` (or, for talk, counted
    with the hold that could not be told apart)."""

    @property
    def call_id(self) -> str:
        """The stint's stable key: a caller keeps its uniqueid across queues, so add both."""
        return f"{self.uniqueid}@{self.queue}@{self.entered_at:.6f}"

    def as_values(self) -> tuple[object, ...]:
        """The record's column values, in the order of :data:`CALL_COLUMNS`."""
        return (*_call_values(self), self.call_id)

    def as_row(self) -> dict[str, object]:
        """The record as a flat mapping of column name to SQL value."""
        return dict(zip(CALL_COLUMNS, self.as_values(), strict=True))


@dataclass(frozen=True, slots=True)
class AgentInterval:
    """A span of time during which an agent stayed in one state."""

    agent: str
    interface: str
    queue: str | None
    state: AgentState
    reason: str | None
    started_at: float
    ended_at: float | None

    @property
    def duration_s(self) -> float | None:
        """Length of the interval, or ``None`` while it is open."""
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def as_values(self) -> tuple[object, ...]:
        """The interval's column values, in the order of :data:`INTERVAL_COLUMNS`."""
        values: tuple[object, ...] = _interval_values(self)
        return values

    def as_row(self) -> dict[str, object]:
        """The interval as a flat mapping of column name to SQL value."""
        return dict(zip(INTERVAL_COLUMNS, self.as_values(), strict=True))


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    """A caller who entered a queue and waits: no outcome yet. Stored so that a collector
    started again still knows who was waiting (``waiting_callers``)."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    position_entered: int | None


@dataclass(frozen=True, slots=True)
class Anomaly:
    """An event the tracker could not apply: recorded, never fatal, state left unchanged."""

    at: float
    kind: str
    uniqueid: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class RingNoAnswer:
    """A queue member rang for a caller and did not answer in time (Asterisk's RONA)."""

    at: float
    queue: str
    uniqueid: str
    interface: str
    agent: str


@dataclass(frozen=True, slots=True)
class Dial:
    """A call dialled outside any queue (an agent calling a customer back, say): the
    channel that dialled, the number it dialled, and whether the far end answered.

    ``status`` is Asterisk's DialStatus (``ANSWER``, ``NOANSWER``, ``BUSY``, ``CANCEL``,
    ...), or ``unknown`` when the end of the dial was not seen; ``answered_at`` is set
    only for ``ANSWER``.
    """

    uniqueid: str
    linkedid: str
    caller_num: str
    number: str
    started_at: float
    answered_at: float | None
    status: str


@dataclass(frozen=True, slots=True)
class Gap:
    """PBX time the tracker did not see, from ``since`` to ``until``: a lost connection,
    an Asterisk restart while disconnected, the time a collector was not running. What
    happened then is known only from elsewhere (Asterisk's queue_log); the calls open
    across it carry ``gap_s``."""

    since: float
    until: float


Fact = CallRecord | AgentInterval | Anomaly | RingNoAnswer | Dial | WaitingCaller | Gap


def outcome_known(outcome: str, end_reason: str | None) -> bool:
    """Whether a record tells how its stint ended: any outcome but ``unknown``, and a
    caller Asterisk dropped as it shut down (``unknown``, ended by ``pbx_restart``)."""
    return outcome != Outcome.UNKNOWN or end_reason == EndReason.PBX_RESTART


def span(start: float | None, end: float | None) -> float | None:
    """A duration that was observed, or ``None``: never guessed, never negative."""
    if start is None or end is None or end < start:
        return None
    return end - start

# attrgetter reads every field in one C call: rows are built once per fact on the hot path
_CALL_FIELDS = tuple(f.name for f in fields(CallRecord))
_call_values = attrgetter(*_CALL_FIELDS)
CALL_COLUMNS = (*_CALL_FIELDS, "call_id")
"""Column names of a call row, in the order of :meth:`CallRecord.as_values`."""

INTERVAL_COLUMNS = tuple(f.name for f in fields(AgentInterval))
"""Column names of an agent-state row, in the order of :meth:`AgentInterval.as_values`."""
_interval_values = attrgetter(*INTERVAL_COLUMNS)
