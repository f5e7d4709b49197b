"""Every state a queue call can be in, and every move between them, in one table.

A caller's stint in a queue moves through these states::

    WAITING --leave--> LEFT --connect--> CONNECTED --complete--> WRAPUP --acw_end--> (record)
       |                 |
       +----connect------+--settle--> (record: abandoned, timeout, exit_key, exit_empty)

``LEFT`` exists because Asterisk sends QueueCallerLeave *before* AgentConnect: at the
moment a caller leaves the waiting list we do not yet know whether an agent answered.
``WRAPUP`` exists because a call's after-call work is only known once the agent's next
move (an ACW pause and its end, the queue's wrapuptime running out, the next call) is seen.

An input that has no entry for the current state is impossible: the tracker records it as
an anomaly and leaves the call as it was.
"""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    """Where a queue stint stands."""

    WAITING = "waiting"
    LEFT = "left"
    CONNECTED = "connected"
    WRAPUP = "wrapup"
    ENDED = "ended"


class CallInput(StrEnum):
    """What can happen to a queue stint."""

    RING = "ring"
    ABANDON = "abandon"
    HANGUP = "hangup"
    EXIT_STATUS = "exit_status"
    LEAVE = "leave"
    CONNECT = "connect"
    SETTLE = "settle"
    HOLD = "hold"
    TRANSFER = "transfer"
    COMPLETE = "complete"
    ACW_END = "acw_end"


_W, _L, _C, _R, _E = (
    CallState.WAITING,
    CallState.LEFT,
    CallState.CONNECTED,
    CallState.WRAPUP,
    CallState.ENDED,
)

TRANSITIONS: dict[tuple[CallState, CallInput], CallState] = {
    (_W, CallInput.RING): _W,
    (_W, CallInput.ABANDON): _W,
    (_W, CallInput.HANGUP): _W,
    (_W, CallInput.EXIT_STATUS): _W,
    (_W, CallInput.LEAVE): _L,
    # a lost QueueCallerLeave must not lose the answer
    (_W, CallInput.CONNECT): _C,
    (_L, CallInput.RING): _L,
    (_L, CallInput.ABANDON): _L,
    (_L, CallInput.HANGUP): _L,
    (_L, CallInput.EXIT_STATUS): _L,
    (_L, CallInput.CONNECT): _C,
    (_L, CallInput.SETTLE): _E,
    (_C, CallInput.HOLD): _C,
    (_C, CallInput.HANGUP): _C,
    (_C, CallInput.TRANSFER): _C,
    (_C, CallInput.COMPLETE): _R,
    (_R, CallInput.ACW_END): _E,
}


def next_state(state: CallState, move: CallInput) -> CallState | None:
    """The state after ``move``, or ``None`` when the move is impossible from ``state``."""
    return TRANSITIONS.get((state, move))
