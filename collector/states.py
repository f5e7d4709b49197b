"""Every state machine the call tracker holds, and every move each one may make.

As in h11's ``_state.py``, everything that decides a state lives here: the states, the
tables of moves, the few conditions that split one event type into several inputs, and
the rules that turn the evidence a machine gathered into an outcome. The tracker's
handlers (``collector.tracker``) only route an event to the machine it concerns, ask this
module for the move, and do the bookkeeping that goes with it.

The machines:

* :data:`STINT`, a caller's pass through one queue (keyed by the caller's uniqueid);
* :data:`HOLD`, the hold of a connected stint (part of the stint);
* :data:`ACW`, the after-call work of an agent's last call (keyed by the agent's interface);
* the agent itself is not moved by events but derived, once per event that touched it,
  from what is known about it: its priority table is :data:`collector.agents.PRIORITY`.

A move is keyed by (state, input). An input is an event type of :mod:`collector.events`;
one of the deadlines below, which the tracker schedules and applies when a later event
shows their time has come; one of the internal inputs :class:`Lost` and
:class:`AcwEnded`; or, where the same event type leads to different states depending on
what it carries, an (event type, condition) pair, as h11 keys some of its own moves.

A move that is not in the table is refused: the tracker records an
:class:`~collector.facts.Anomaly` and changes nothing.

``docs/architecture.md`` draws these tables (``collector.diagram`` renders them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeAlias, TypeVar

from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Hangup,
    HoldChange,
    MemberUpdate,
    QueueEntry,
    QueueStatusVar,
    Transfer,
)
from collector.facts import AcwSource, Outcome, span

# -- internal events ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettleDue:
    """A left stint's outcome is to be decided now.

    Due a moment (``settle_s``) after QueueCallerLeave, because Asterisk sends the leave
    *before* the AgentConnect that may follow it; or at once when the evidence is
    conclusive (:func:`settles_now`); or when the stream or the PBX ends.
    """

    uniqueid: str
    at: float


@dataclass(frozen=True, slots=True)
class AcwDue:
    """An agent's after-call work is to be decided: its ACW pause window closed, or the
    queue's wrapuptime ran out."""

    interface: str
    at: float


class Lost:
    """What a machine was following ended where we could not see it: the PBX stopped or
    restarted, a QueueStatus answer no longer lists the caller or its agent, the caller
    turned up in another queue, or the stream ended."""


class AcwEnded:
    """The after-call work of a stint's call ended (its :data:`ACW` machine is done)."""


Input: TypeAlias = type | tuple[type, str]
"""What a move is keyed by, besides the state: an event type, or an event type and the
condition on its data that picks the move."""

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Machine(Generic[S]):
    """One machine: how it starts, and every move from every state."""

    starts: Mapping[Input, S]
    moves: Mapping[S, Mapping[Input, S]]

    def next(self, state: S, cue: Input) -> S | None:
        """The state after ``cue``, or ``None`` when the move is not in the table."""
        return self.moves[state].get(cue)


class HasState(Protocol[S]):
    """Anything that carries a machine's state."""

    state: S


def start(machine: Machine[S], cue: Input) -> S:
    """The state a new instance of ``machine`` starts in, when ``cue`` creates it."""
    return machine.starts[cue]


def move(machine: Machine[S], thing: HasState[S], cue: Input) -> bool:
    """Move ``thing`` as the table says; ``False`` (and ``thing`` untouched) when the
    table has no such move. The only place a machine's state is ever set."""
    target = machine.next(thing.state, cue)
    if target is None:
        return False
    thing.state = target
    return True


# -- the queue stint ---------------------------------------------------------------------


class StintState(StrEnum):
    """Where a caller's pass through one queue stands.

    ``LEFT`` exists because Asterisk sends QueueCallerLeave *before* AgentConnect: when a
    caller leaves the waiting list we do not yet know whether an agent answered.
    ``WRAPUP`` exists because a call's record waits for its after-call work.
    """

    WAITING = "waiting"
    LEFT = "left"
    CONNECTED = "connected"
    WRAPUP = "wrapup"
    ENDED = "ended"


_RING_AND_EVIDENCE: tuple[type, ...] = (
    AgentCalled,
    AgentRingNoAnswer,
    AgentDump,
    CallerAbandon,
    Hangup,
    QueueStatusVar,
    # a QueueStatus answer lists the caller it was already following
    QueueEntry,
)


def _stay(state: S, *cues: Input) -> dict[Input, S]:
    return dict.fromkeys(cues, state)


_W, _L, _C, _R, _E = StintState
STINT: Machine[StintState] = Machine(
    starts={CallerJoin: _W, QueueEntry: _W},
    moves={
        _W: {
            **_stay(_W, *_RING_AND_EVIDENCE),
            CallerLeave: _L,
            # a lost QueueCallerLeave must not lose the answer
            AgentConnect: _C,
            Lost: _E,
        },
        _L: {
            **_stay(_L, *_RING_AND_EVIDENCE),
            AgentConnect: _C,
            SettleDue: _E,
            # the caller joined the queue again before we knew how it left
            CallerJoin: _E,
            Lost: _E,
        },
        _C: {
            **_stay(_C, HoldChange, Transfer, Hangup, QueueEntry),
            AgentComplete: _R,
            CallerJoin: _E,
            Lost: _E,
        },
        _R: {AcwEnded: _E},
        _E: {},
    },
)

REFUSED: Mapping[type, str] = {
    CallerJoin: "duplicate_join",
    CallerAbandon: "abandon_without_waiting_call",
    CallerLeave: "leave_without_waiting_call",
    AgentConnect: "connect_without_waiting_call",
    AgentComplete: "complete_without_connected_call",
    AgentCalled: "ring_for_connected_call",
    AgentRingNoAnswer: "ring_for_connected_call",
    AgentDump: "ring_for_connected_call",
    QueueStatusVar: "exit_status_for_connected_call",
}
"""The anomaly kind of each event type a stint can refuse (or that names no stint)."""


def refused_kind(cue: Input) -> str:
    """The anomaly kind recorded when a machine refuses ``cue``."""
    event = cue[0] if isinstance(cue, tuple) else cue
    return REFUSED.get(event) or f"refused_{event.__name__.lower()}"

EXIT_STATUS: Mapping[str, Outcome] = {
    "TIMEOUT": Outcome.TIMEOUT,
    "LEAVEEMPTY": Outcome.EXIT_EMPTY,
    "LEAVEUNAVAIL": Outcome.EXIT_EMPTY,
    "JOINEMPTY": Outcome.EXIT_EMPTY,
    "JOINUNAVAIL": Outcome.EXIT_EMPTY,
}
"""QUEUESTATUS values that say why app_queue let a caller go."""


def unanswered_outcome(exit_status: str | None, abandoned: bool, hung_up: bool) -> Outcome:
    """How a stint that left without an agent ended, from the evidence it gathered.

    ========================  ==================  =================  ==============
    QUEUESTATUS (VarSet)      QueueCallerAbandon  caller hung up     outcome
    ========================  ==================  =================  ==============
    TIMEOUT                   any                 any                ``timeout``
    LEAVEEMPTY, JOINEMPTY,    any                 any                ``exit_empty``
    LEAVEUNAVAIL, JOINUNAVAIL
    other or none             yes                 yes                ``abandoned``
    other or none             yes                 no                 ``timeout``
    other or none             no                  any                ``exit_key``
    ========================  ==================  =================  ==============

    app_queue sends QueueCallerAbandon for a hang-up *and* for a timeout or an emptied
    queue: only a caller whose channel hung up (Hangup, HangupRequest, SoftHangupRequest)
    has abandoned.
    """
    by_status = EXIT_STATUS.get(exit_status or "")
    if by_status is not None:
        return by_status
    if abandoned:
        return Outcome.ABANDONED if hung_up else Outcome.TIMEOUT
    return Outcome.EXIT_KEY


def settles_now(exit_status: str | None, abandoned: bool, hung_up: bool) -> bool:
    """Whether a left stint's evidence is conclusive, so its outcome need not wait."""
    return exit_status in EXIT_STATUS or (abandoned and hung_up)


# -- hold ----------------------------------------------------------------------------------


class HoldState(StrEnum):
    """Whether a connected call is on hold (on any of its channels)."""

    TALKING = "talking"
    HELD = "held"


HOLD_ON = (HoldChange, "Hold")
UNHOLD = (HoldChange, "Unhold, another leg held or none")
UNHOLD_LAST = (HoldChange, "Unhold of the last held leg")


def hold_cue(on_hold: bool, held_legs: set[str], leg: str) -> Input:
    """What a Hold or Unhold on channel ``leg`` is to a call whose held legs are
    ``held_legs``: holds on both legs of a call overlap and count once."""
    if on_hold:
        return HOLD_ON
    if held_legs == {leg}:
        return UNHOLD_LAST
    return UNHOLD


_T, _H = HoldState
HOLD: Machine[HoldState] = Machine(
    starts={AgentConnect: _T},
    moves={
        _T: {
            HOLD_ON: _H,
            # e.g. the Unhold Asterisk sends during a blind transfer
            UNHOLD: _T,
            AgentComplete: _T,
            Lost: _T,
        },
        _H: {HOLD_ON: _H, UNHOLD: _H, UNHOLD_LAST: _T, AgentComplete: _T, Lost: _T},
    },
)


# -- after-call work -----------------------------------------------------------------------


class AcwState(StrEnum):
    """How the after-call work of an agent's last call is being measured."""

    WINDOW = "window"
    """The call just ended: an ACW pause may still claim the time (``acw_pause_window_s``)."""
    WRAPUPTIME = "wrapuptime"
    """The window closed and the queue's wrapuptime is still running."""
    PAUSED = "paused"
    """An ACW pause claimed it: it lasts until the agent unpauses or moves on."""
    DONE = "done"


PAUSED_DURING_CALL = (AgentComplete, "ACW pause taken during the call")
ACW_PAUSE = (MemberUpdate, "ACW pause")
OTHER_PAUSE = (MemberUpdate, "another pause")
UNPAUSE = (MemberUpdate, "unpause")
REMOVED = (MemberUpdate, "removed from the queue")
WRAPUP_RUNS_ON = (AcwDue, "wrapuptime runs on")
WRAPUP_OVER = (AcwDue, "wrapuptime over")


def pause_cue(paused: bool, acw_reason: bool) -> Input:
    """What a pause change in the call's queue is to its after-call work."""
    if not paused:
        return UNPAUSE
    return ACW_PAUSE if acw_reason else OTHER_PAUSE


def due_cue(started_at: float, wrapup_s: float, at: float) -> Input:
    """What an :class:`AcwDue` at ``at`` is to after-call work that started at
    ``started_at`` in a queue whose wrapuptime is ``wrapup_s``."""
    return WRAPUP_RUNS_ON if wrapup_s > 0 and started_at + wrapup_s > at else WRAPUP_OVER


# the agent moved on: its next call rang, was answered or ended, it paused for another
# reason, or it left the queue
_MOVED_ON: tuple[Input, ...] = (AgentCalled, AgentConnect, AgentComplete, OTHER_PAUSE, REMOVED)

_WI, _WU, _P, _D = AcwState
ACW: Machine[AcwState] = Machine(
    starts={AgentComplete: _WI, PAUSED_DURING_CALL: _P},
    moves={
        _WI: {
            ACW_PAUSE: _P,
            UNPAUSE: _WI,
            WRAPUP_RUNS_ON: _WU,
            WRAPUP_OVER: _D,
            **_stay(_D, *_MOVED_ON, Lost),
        },
        _WU: {
            # too late to claim the time: the wrapuptime goes on
            ACW_PAUSE: _WU,
            UNPAUSE: _WU,
            WRAPUP_OVER: _D,
            **_stay(_D, *_MOVED_ON, Lost),
        },
        _P: {
            ACW_PAUSE: _P,
            UNPAUSE: _D,
            **_stay(_D, *_MOVED_ON, Lost),
        },
        _D: {},
    },
)


@dataclass(frozen=True, slots=True)
class AcwResult:
    """What a call's record says about its after-call work, and when that work ended."""

    seconds: float | None
    source: AcwSource
    ended_at: float


def acw_result(
    state: AcwState, cue: Input, started_at: float, wrapup_s: float, at: float
) -> AcwResult:
    """The after-call work of a call whose ACW machine left ``state`` on ``cue`` at ``at``.

    * taken by an ACW pause: from the call's end to the moment it ended (``pause``);
    * not seen to end (``Lost``): unknown;
    * otherwise the queue's wrapuptime, cut short if the agent moved on sooner
      (``wrapuptime``), or none at all when the queue has none (``none``, zero).
    """
    if cue is Lost:
        source = AcwSource.PAUSE if state is AcwState.PAUSED else AcwSource.NONE
        return AcwResult(None, source, at)
    if state is AcwState.PAUSED:
        return AcwResult(span(started_at, at), AcwSource.PAUSE, at)
    if wrapup_s > 0:
        end = min(at, started_at + wrapup_s)
        return AcwResult(span(started_at, end), AcwSource.WRAPUPTIME, end)
    return AcwResult(0.0, AcwSource.NONE, at)

