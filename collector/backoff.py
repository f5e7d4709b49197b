"""How long to wait before trying again: capped exponential backoff with full jitter.

Every loop that retries (the AMI connection, the MQTT connections, the store's commits)
waits the delays of a :class:`Backoff`. The ceiling doubles with each failure, from
``first_s`` up to ``cap_s``; each delay is drawn uniformly between zero and the ceiling
("full jitter"), so that collectors restarted together, or the clients of a broker that
came back, spread their attempts instead of retrying in step. The loop itself stays
with its owner, a plain ``while`` around ``async with`` (aiomqtt's reconnection pattern).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

Jitter = Callable[[], float]
"""A source of random numbers from 0 to 1: ``random.random``, or a fixed one in tests."""

_MAX_DOUBLINGS = 64
"""Doublings past this change no ceiling any loop uses (2**64 times its first delay is
always past its cap), and ``2.0**1024`` would overflow after a long enough outage."""


@dataclass(slots=True)
class Backoff:
    """The delays of one retry loop: :meth:`next` after each failure, :meth:`reset` after
    a success."""

    cap_s: float
    """The longest delay."""
    first_s: float
    """The ceiling of the first delay."""
    jitter: Jitter = random.random
    attempt: int = 0
    """Failures since the last success."""

    def ceiling(self) -> float:
        """The longest the next delay can be."""
        return min(self.cap_s, self.first_s * 2.0 ** min(self.attempt, _MAX_DOUBLINGS))

    def next(self) -> float:
        """The delay to wait after a failure, in seconds (and one failure more counted)."""
        delay = self.ceiling() * self.jitter()
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the first delay (after a success)."""
        self.attempt = 0
