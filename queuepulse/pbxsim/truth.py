"""What the simulation decided about each queue stint: the truth a collector must derive.

The simulator's own types, with the values of the collector's (``answered``, ``pause``,
``agent``, ...) but not shared with it: the simulator is the independent oracle the
tracker is checked against, so a test that compares the two converts explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """How a caller's stint in a queue ended."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    EXIT_KEY = "exit_key"
    EXIT_EMPTY = "exit_empty"


class AcwSource(StrEnum):
    """Which rule gave a call its after-call work."""

    PAUSE = "pause"
    WRAPUPTIME = "wrapuptime"
    NONE = "none"


class EndReason(StrEnum):
    """Who ended a connected call."""

    CALLER = "caller"
    AGENT = "agent"
    TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class TrueStint:
    """One caller's pass through one queue, as the simulation decided it.

    Timings are what a collector should derive from the frames: ``wait_s`` from joining
    the queue to being answered or leaving it; ``talk_s`` the connected time without
    ``hold_s``; ``acw_s`` the after-call work that ``acw_source`` explains (an ACW pause,
    the queue's wrapuptime, or none at all).
    """

    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    outcome: Outcome
    wait_s: float
    answered_at: float | None
    ended_at: float
    agent: str | None
    talk_s: float | None
    hold_s: float | None
    hold_count: int
    acw_s: float | None
    acw_source: AcwSource
    end_reason: EndReason | None
    transfer_to: str | None
    ring_noanswer: int
