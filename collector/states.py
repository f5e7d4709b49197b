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
    HangupKind,
    HoldChange,
    MemberUpdate,
    PbxShutdown,
    QueueEntry,
    QueueStatusVar,
    StintResumed,
    Transfer,
)
from collector.facts import AcwSource, EndReason, Outcome, span
from collector.overlap import SAME_STINT_S

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


@dataclass(frozen=True, slots=True)
class GapDue:
    """The stints open when the stream had a gap that nothing has shown alive since are
    to be ended unseen: no QueueStatus answer came to tell (the AMI user may not ask for
    one), and :data:`UNCONFIRMED_S` passed."""

    at: float


GAP_TOLERATED_S = 1.0
"""A gap at most this long hides no more than queue_log's own resolution (whole seconds):
the hold and after-call work that span it are kept, off by at most that much
(``gap_s`` says how much). A longer gap makes them unknown."""

UNCONFIRMED_S = 300.0
"""How long after a gap a stint open before it may go without a sign of life (an event
naming it, or a QueueStatus answer listing it) before it is taken to have ended in the gap.
A caller rung by nobody, or a long call, can be silent that long; a bound it must have."""


class Lost:
    """What a machine was following ended where we could not see it: the PBX stopped or
    restarted, a QueueStatus answer no longer lists the caller or its agent, the caller
    turned up in another queue, nothing showed it alive for long after a gap, or the
    stream ended."""


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


ANSWERED_UNSEEN = (AgentComplete, "of a call answered in a gap")
"""AgentComplete of a caller whose answer fell into a gap of the stream (it joined there,
or was lost there): the call is known from then on, Asterisk's own counters tell the
rest."""

RESUMED_WAITING = (StintResumed, "of a caller waiting")
RESUMED_TALKING = (StintResumed, "of a call talking")
"""A stint the collector's last run left open (it was killed), followed on from its stored
row: the gap since then, and the QueueStatus answer after it, tell the rest."""

_W, _L, _C, _R, _E = StintState
STINT: Machine[StintState] = Machine(
    starts={CallerJoin: _W, QueueEntry: _W, ANSWERED_UNSEEN: _R, RESUMED_WAITING: _W,
            RESUMED_TALKING: _C},
    moves={
        _W: {
            # a Hold on the rung agent's channel can come a millisecond before the answer
            **_stay(_W, *_RING_AND_EVIDENCE, HoldChange),
            CallerLeave: _L,
            # a lost QueueCallerLeave must not lose the answer
            AgentConnect: _C,
            PbxShutdown: _E,
            Lost: _E,
        },
        _L: {
            **_stay(_L, *_RING_AND_EVIDENCE, HoldChange),
            AgentConnect: _C,
            SettleDue: _E,
            # the caller joined the queue again before we knew how it left
            CallerJoin: _E,
            # no agent can answer any more: decided from the evidence so far
            PbxShutdown: _E,
            Lost: _E,
        },
        _C: {
            **_stay(_C, HoldChange, Transfer, Hangup, QueueEntry),
            AgentComplete: _R,
            # Asterisk stopped: the call was cut there (seen), no after-call work follows
            PbxShutdown: _E,
            CallerJoin: _E,
            Lost: _E,
        },
        _R: {AcwEnded: _E},
        _E: {},
    },
)

SAME_JOIN = (CallerJoin, "the same stint again")
"""A QueueCallerJoin of a stint that began already (same caller, queue and entry): the PBX
sent it again. No state has a move for it."""


def join_cue(queue: str, entered_at: float, e: CallerJoin) -> Input:
    """What a QueueCallerJoin is to a stint of the same caller in ``queue``, entered at
    ``entered_at``: the same join again, the caller joining the queue anew, or the caller
    turning up in another queue (it left the first unseen)."""
    if queue != e.queue:
        return Lost
    return SAME_JOIN if abs(entered_at - e.at) <= SAME_STINT_S else CallerJoin


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
    QueueEntry: "entry_of_recorded_call",
}
"""The anomaly kind of each event type a stint can refuse (or that names no stint)."""
REFUSAL_KINDS = frozenset(REFUSED.values())


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

TURNED_AWAY = frozenset({"JOINEMPTY", "JOINUNAVAIL"})
"""QUEUESTATUS values of a caller ``joinempty`` kept out of the queue: it never joined."""


class HungUp(StrEnum):
    """Who hung up a waiting caller's channel before app_queue let go of it."""

    CALLER = "caller"
    """The caller's side (HangupRequest, Hangup), or Asterisk for a reason of its own."""
    SHUTDOWN = "shutdown"
    """Asterisk, shutting down (SoftHangupRequest, Cause 4)."""


SHUTDOWN_CAUSE = 4
"""The ``Cause`` of a SoftHangupRequest Asterisk sends while it shuts down
(``AST_SOFTHANGUP_SHUTDOWN``); the dialplan's own hang-up after Queue() returns says 16."""


def hung_up_by(kind: HangupKind, cause: int | None) -> HungUp:
    """Who a hang-up of a caller's channel came from, by its event and cause."""
    if kind is HangupKind.SOFT_REQUEST and cause == SHUTDOWN_CAUSE:
        return HungUp.SHUTDOWN
    return HungUp.CALLER


@dataclass(frozen=True, slots=True)
class Unanswered:
    """How a stint that no agent answered ended, and whether the PBX ended it."""

    outcome: Outcome
    end_reason: EndReason | None = None


def unanswered_outcome(exit_status: str | None, abandoned: bool, hung_up: HungUp | None,
                       empty: bool) -> Unanswered:
    """How a stint that left without an agent ended, from the evidence it gathered.

    ``hung_up`` counts only a hang-up that came *before* QueueCallerAbandon: app_queue
    sends QueueCallerAbandon for a caller who hung up, for a timeout and for an emptied
    queue alike, and after a timeout or an emptied queue the dialplan hangs the caller up
    itself, a moment later. ``empty`` says no member of the queue could take a call then
    (each paused or unavailable), for the AMI users who see no QUEUESTATUS (VarSet is of
    the dialplan class).

    ========================  ==================  ====================  ===========================
    QUEUESTATUS (VarSet)      QueueCallerAbandon  hang-up before it     outcome
    ========================  ==================  ====================  ===========================
    TIMEOUT                   any                 any                   ``timeout``
    LEAVEEMPTY, JOINEMPTY,    any                 any                   ``exit_empty``
    LEAVEUNAVAIL, JOINUNAVAIL
    other or none             yes                 the caller's          ``abandoned``
    other or none             yes                 Asterisk shutting     ``unknown``, ended by
                                                  down                  ``pbx_restart``
    other or none             yes                 none, queue empty     ``exit_empty``
    other or none             yes                 none                  ``timeout``
    other or none             no                  any                   ``exit_key``
    ========================  ==================  ====================  ===========================
    """
    by_status = EXIT_STATUS.get(exit_status or "")
    if by_status is not None:
        return Unanswered(by_status)
    if not abandoned:
        return Unanswered(Outcome.EXIT_KEY)
    if hung_up is HungUp.SHUTDOWN:
        return Unanswered(Outcome.UNKNOWN, EndReason.PBX_RESTART)
    if hung_up is HungUp.CALLER:
        return Unanswered(Outcome.ABANDONED)
    return Unanswered(Outcome.EXIT_EMPTY if empty else Outcome.TIMEOUT)


def settles_now(exit_status: str | None, abandoned: bool, hung_up: HungUp | None) -> bool:
    """Whether a left stint's evidence is conclusive, so its outcome need not wait."""
    return exit_status in EXIT_STATUS or (abandoned and hung_up is not None)


EXIT_STATUS_WITHIN_S = 0.05
"""How long after QueueCallerLeave an abandoned caller's QUEUESTATUS may still come: app_queue
sets it at once (the recordings: within half a millisecond), so a record need not wait."""


def settle_after(abandoned: bool, settle_s: float) -> float:
    """How long after QueueCallerLeave a stint waits for evidence before it is decided:
    after QueueCallerAbandon no agent can answer, and only the QUEUESTATUS may follow."""
    return EXIT_STATUS_WITHIN_S if abandoned else settle_s


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
    state: AcwState, cue: Input, started_at: float, wrapup_s: float, at: float,
    unseen: bool = False,
) -> AcwResult:
    """The after-call work of a call whose ACW machine left ``state`` on ``cue`` at ``at``.

    * taken by an ACW pause: from the call's end to the moment it ended (``pause``);
    * not seen to end (``Lost``), or ``unseen`` in part (a gap of the stream, where
      whatever ended it may have happened): unknown;
    * otherwise the queue's wrapuptime, cut short if the agent moved on sooner
      (``wrapuptime``), or none at all when the queue has none (``none``, zero).
    """
    if cue is Lost or unseen:
        source = AcwSource.PAUSE if state is AcwState.PAUSED else AcwSource.NONE
        return AcwResult(None, source, at)
    if state is AcwState.PAUSED:
        return AcwResult(span(started_at, at), AcwSource.PAUSE, at)
    if wrapup_s > 0:
        end = min(at, started_at + wrapup_s)
        return AcwResult(span(started_at, end), AcwSource.WRAPUPTIME, end)
    return AcwResult(0.0, AcwSource.NONE, at)

