"""How often a repeated warning is said: once at once, then at most once per interval.

A PBX that sends bad bytes does so on every read, a broker that refuses a topic on every
cycle: a log line each time would bury the log (and the disk under it). A
:class:`Throttle` counts every occurrence and lets one line through per interval, with
the count of occurrences since the previous line. Pure: the caller passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Throttle:
    """Counts occurrences of one kind of trouble; says when one line should report them."""

    every_s: float
    """At most one line per this many seconds."""
    total: int = 0
    """Occurrences ever counted."""
    _unreported: int = 0
    _last: float | None = None

    def hit(self, now: float, count: int = 1) -> int:
        """Count ``count`` occurrences at ``now``; return how many a line should report now
        (those since the previous line), or 0 when this interval has had its line."""
        self.total += count
        self._unreported += count
        if self._last is not None and now - self._last < self.every_s:
            return 0
        return self._report(now)

    def flush(self, now: float) -> int:
        """The occurrences not reported yet (for a last line when the trouble's source
        goes away); 0 when there are none."""
        return self._report(now) if self._unreported else 0

    def _report(self, now: float) -> int:
        count, self._unreported, self._last = self._unreported, 0, now
        return count
