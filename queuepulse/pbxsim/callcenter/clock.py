"""Simulated time: what is due when, run in order.

Happenings are scheduled as a handler and its arguments at a simulated moment; those
due at the same moment run in the order they were scheduled, so a seed always gives the
same run.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class SimClock:
    """The simulated clock of a call center, starting at ``start`` (Unix seconds)."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._due: list[tuple[float, int, Callable[..., None], tuple[object, ...]]] = []
        self._seq = itertools.count()

    def at(self, t: float, handler: Callable[..., None], *args: object) -> None:
        """Run ``handler(*args)`` when the clock reaches ``t``."""
        heapq.heappush(self._due, (t, next(self._seq), handler, args))

    def run_until(self, to_time: float) -> None:
        """Run everything due up to ``to_time``, in order, and move the clock there."""
        due = self._due
        while due and due[0][0] <= to_time:
            t, _, handler, args = heapq.heappop(due)
            self.now = t
            handler(*args)
        self.now = max(self.now, to_time)
