"""The PBX's clock, as the frames tell it: every event's time in PBX time, or a reason why not.

Asterisk stamps each event (``Timestamp``, with ``timestampevents = yes``) with its own
clock; some frames carry no stamp at all (QueueStatus answers, FullyBooted), and the
collector only knows when they arrived, on its own clock, which may be seconds off the
PBX's. Mixing the two would move a call's timings by that difference, so every time the
tracker sees is on the PBX's clock:

* the offset between the two clocks is estimated from the frames that carry both (stamp
  minus arrival). The median of the last :data:`SAMPLES` is the yardstick of
  plausibility, so that one odd frame moves nothing; the offset is the largest of the
  plausible ones of the last :data:`LEAST_LATE_WITHIN_S`, the frame that waited least on
  its way (the network and a busy collector only ever make a frame late);
* a stamped frame keeps its stamp, unless the stamp is implausible: not a finite number,
  further ahead of the median than :data:`AHEAD_S`, or further behind than
  :data:`BEHIND_S`. Such a stamp is an anomaly; the frame gets the estimate instead
  (arrival plus offset), so that one bad frame can neither push the tracker's time
  ahead for good nor stop it;
* a frame without a stamp gets the estimate too (the arrival itself until a stamped
  frame has been seen).

Pure: the arrival times are given, never read from a clock.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

SAMPLES = 31
"""How many recent stamped frames the median offset, the yardstick of plausibility, is of."""
LEAST_LATE_WITHIN_S = 60.0
"""The offset is that of the frame that came least late over this much arrival time: long
enough to hold a frame that did not wait behind others, short enough to follow the PBX's
clock when NTP sets it."""
AHEAD_S = 30.0
"""A stamp further ahead of the PBX time the collector expects is implausible: an event
cannot come from the future, and network delay only makes frames late."""
BEHIND_S = 600.0
"""A stamp further behind is implausible too. Frames do come late (a backlog after a
stall, a frame the PBX sends again), so this bound is loose."""


@dataclass(frozen=True, slots=True)
class Dated:
    """An event's time on the PBX's clock; ``problem`` says why its stamp was not used."""

    at: float
    problem: str | None = None


class PbxClock:
    """Estimates the PBX's clock from the frames' stamps and arrival times."""

    def __init__(self) -> None:
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []
        self._least_late: deque[tuple[float, float]] = deque()
        """(arrival, offset) of plausible frames, offsets decreasing: the first is the
        largest offset within the window."""

    @property
    def offset(self) -> float | None:
        """The PBX's clock minus the collector's, as estimated; ``None`` before any stamp."""
        return self._least_late[0][1] if self._least_late else None

    def estimate(self, arrived: float) -> float:
        """The PBX's time when a frame arrived at ``arrived`` (collector time)."""
        offset = self.offset
        return arrived if offset is None else arrived + offset

    def date(self, stamp: float | None, arrived: float) -> Dated:
        """The PBX time of a frame stamped ``stamp`` (``None``: no stamp) that arrived at
        ``arrived``, and why its stamp was not used if it was not."""
        if stamp is None:
            return Dated(self.estimate(arrived))
        if not math.isfinite(stamp):
            return Dated(self.estimate(arrived), f"Timestamp {stamp} is not a finite number")
        offset = stamp - arrived
        median = self._learn(offset)
        if offset > median + AHEAD_S:
            return Dated(self.estimate(arrived), f"Timestamp {stamp:.3f} is "
                         f"{offset - median:.0f}s ahead of the PBX clock")
        if offset < median - BEHIND_S:
            return Dated(self.estimate(arrived), f"Timestamp {stamp:.3f} is "
                         f"{median - offset:.0f}s behind the PBX clock")
        self._least(arrived, offset)
        return Dated(stamp)

    def _learn(self, offset: float) -> float:
        """Take one more offset into the median's samples; the median."""
        self._recent.append(offset)
        insort(self._sorted, offset)
        if len(self._recent) > SAMPLES:
            old = self._recent.popleft()
            del self._sorted[bisect_left(self._sorted, old)]
        # the lower median: of two samples, the one less ahead
        return self._sorted[(len(self._sorted) - 1) // 2]

    def _least(self, arrived: float, offset: float) -> None:
        """Take a plausible frame into the window of the least late one."""
        window = self._least_late
        while window and window[-1][1] <= offset:
            window.pop()
        window.append((arrived, offset))
        while window[0][0] < arrived - LEAST_LATE_WITHIN_S:
            window.popleft()
