"""What the AMI stream tells about itself, said in the log.

Read classes the AMI user lacks (Asterisk leaves their events out without a word), bytes
that are not UTF-8, frames dropped for their length. The first two are facts about the
PBX's configuration and said once; the others may come with every read, so each is
logged once at once and then at most once per :data:`REPEATED_WARNING_S`, with the count
since the previous line (and a last line with the rest when the connection ends).
"""

from __future__ import annotations

import structlog

from collector.ami.protocol import Clock, FrameSplitter, PrivilegeCheck
from collector.throttle import Throttle

log = structlog.get_logger("queuepulse.daemon")

REPEATED_WARNING_S = 60.0
"""The shortest time between two lines about the same repeated trouble."""
_CLASS_USE = {
    "agent": "queue events (QueueCallerJoin, AgentConnect, ...): no call can be tracked",
    "call": "hang-ups and holds: abandons look like timeouts and hold time is not measured",
}


def _missing_class(read_class: str, without_it: str) -> None:
    log.warning("ami.read_class_missing", read_class=read_class, without_it=without_it,
                fix=f"add {read_class} to the AMI user's read= line (and to ami.events)")


class StreamHealth:
    """Watches the frames and the byte counters of the AMI connections, one at a time."""

    def __init__(self, monotonic: Clock) -> None:
        self._monotonic = monotonic
        self._privileges = PrivilegeCheck()
        self._system_checked = False
        self._invalid_utf8 = Throttle(REPEATED_WARNING_S)
        self._too_long = Throttle(REPEATED_WARNING_S)
        self._replaced = 0
        self._dropped = 0

    def connected(self) -> None:
        """A new connection: its splitter counts from zero."""
        self._replaced = self._dropped = 0

    def frame(self, text: str) -> None:
        """Look at one frame (its ``Privilege`` header) until the read classes are known."""
        if not self._privileges.done:
            for missing in self._privileges.observe(text):
                _missing_class(missing, _CLASS_USE[missing])

    def snapshot_taken(self, booted_seen: bool) -> None:
        """The first snapshot is complete: without a FullyBooted by then, the user cannot
        read the ``system`` class."""
        if not booted_seen and not self._system_checked:
            _missing_class("system", "no FullyBooted/Shutdown: an Asterisk restart looks "
                                     "like a lost connection")
        self._system_checked = True

    def counted(self, splitter: FrameSplitter, *, final: bool = False) -> None:
        """Log what the splitter replaced and dropped since the last look (``final``: the
        connection ended, so say what is left unsaid)."""
        now = self._monotonic()
        replaced, self._replaced = splitter.replaced - self._replaced, splitter.replaced
        dropped, self._dropped = splitter.dropped - self._dropped, splitter.dropped
        count = self._said(self._invalid_utf8, now, replaced, final)
        if count:
            log.warning("ami.invalid_utf8", replaced=count, total=self._invalid_utf8.total,
                        detail="bytes that were not UTF-8 were replaced by U+FFFD")
        count = self._said(self._too_long, now, dropped, final)
        if count:
            log.warning("ami.frame_too_long", dropped=count, total=self._too_long.total,
                        limit_bytes=splitter.max_frame_bytes,
                        detail="frames longer than the limit were dropped unread")

    @staticmethod
    def _said(throttle: Throttle, now: float, count: int, final: bool) -> int:
        found = throttle.hit(now, count) if count else 0
        return found + throttle.flush(now) if final else found
