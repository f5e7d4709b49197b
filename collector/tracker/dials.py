"""Dials outside any queue: a channel that dials a number, and whether it was answered.

app_queue sends DialBegin and DialEnd too, for every member it rings (and a Local member
dials its phone on the caller's linkedid); those belong to the caller's stint and are
left to the queue events. A dial to a Local channel is a hop
inside the PBX: the dial that Local channel makes in turn (to a trunk, a phone) is the
one that reaches someone, and is the one counted. Any other dial (an agent dialling a
customer from its phone, an AMI Originate through a trunk) becomes a
:class:`~collector.facts.Dial` when it ends: what the callback figures compare with the
callers who gave up.
"""

from __future__ import annotations

from collector.events import DialEnd, DialStart
from collector.facts import Dial, Fact
from collector.tracker.books import Books

UNKNOWN = "unknown"
"""The status of a dial whose end was not seen."""


def start(b: Books, e: DialStart) -> list[Fact]:
    """DialBegin: note a dial, unless it rings a member for a queue's caller (app_queue's
    own dial, or a Local member's dial of its phone, on the caller's linkedid) or only
    reaches a Local channel."""
    if (e.uniqueid in b.stints or e.linkedid in b.stint_linkedids
            or e.dest_channel.startswith("Local/")):
        return []
    b.dials[(e.uniqueid, e.dest_uniqueid)] = e
    return []


def end(b: Books, e: DialEnd) -> list[Fact]:
    """DialEnd: the dial is over, answered or not."""
    begun = b.dials.pop((e.uniqueid, e.dest_uniqueid), None)
    if begun is None:
        return []
    answered = e.status == "ANSWER"
    return [_dial(begun, e.at if answered else None, e.status or UNKNOWN)]


def close_all(b: Books) -> list[Fact]:
    """The dials whose end will not be seen, as dials of unknown status."""
    facts: list[Fact] = [_dial(begun, None, UNKNOWN) for begun in b.dials.values()]
    b.dials.clear()
    return facts


def _dial(begun: DialStart, answered_at: float | None, status: str) -> Dial:
    return Dial(uniqueid=begun.uniqueid, linkedid=begun.linkedid,
                caller_num=begun.caller_num, number=begun.dialled,
                started_at=begun.at, answered_at=answered_at, status=status)
