"""How the simulated PBX misbehaves towards one client session.

A collector has to survive what real PBXs and networks do: connections that drop,
restarts, half-open sockets that go quiet, frames split across reads at any byte, and
junk on the wire. A `Faults` plan names which of these a session gets; the server hands
each new login the next plan in its queue, so a test can say "the first session drops
after 100 events, the second is healthy".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

GARBAGE: tuple[bytes, ...] = (
    b"this line has no colon\r\n\r\n",
    b"\x00\x01\x02\x7f junk \xfe\xff\x1b[0m\r\n\r\n",
    # invalid UTF-8, including a Hebrew letter cut after its first byte
    b"Event: Newchannel\r\nPrivilege: call,all\r\nCallerIDName: \xd7\xa9\xd7\r\n"
    b"Uniqueid: \xc3\x28\xa0\xa1\r\n\r\n",
    # an event that lacks every field a tracker needs
    b"Event: QueueCallerJoin\r\nPrivilege: agent,all\r\n\r\n",
    b": a value without a key\r\nEvent:\r\n\r\n",
)
"""Malformed frames, each ended by a blank line so that a client can resynchronise."""


class Cut(enum.Enum):
    """What becomes of a session after an event has been queued to it."""

    NONE = "none"
    DROP = "drop"
    SILENCE = "silence"


@dataclass(frozen=True, slots=True)
class Faults:
    """The faults of one session; counts are of stream events queued to that session.

    * ``drop_after``: after this many events, flush them and close the socket (the client
      reads exactly that many events, then EOF).
    * ``silent_after``: after this many events, flush them, then neither send nor answer
      anything (Ping included) while keeping the socket open: a half-open connection.
    * ``split``: write one byte per socket send, so the client's reads split frames at
      every position, multi-byte UTF-8 characters included.
    * ``garbage_every``: after every this many events, write the `GARBAGE` frames.
    * ``pong_delay_s``: answer each Ping this much later (as a Pong stuck behind a burst
      of events would arrive), while events keep flowing.
    """

    drop_after: int | None = None
    silent_after: int | None = None
    split: bool = False
    garbage_every: int | None = None
    pong_delay_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop_after", "silent_after", "garbage_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"Faults.{name} must be at least 1 (or None), not {value}")

    def after_event(self, count: int) -> tuple[tuple[bytes, ...], Cut]:
        """The frames to add after a session's ``count``-th event, and what happens next."""
        extra = GARBAGE if self.garbage_every and count % self.garbage_every == 0 else ()
        if self.drop_after is not None and count >= self.drop_after:
            return extra, Cut.DROP
        if self.silent_after is not None and count >= self.silent_after:
            return extra, Cut.SILENCE
        return extra, Cut.NONE


NO_FAULTS = Faults()
"""A healthy session."""
