"""A stream roughed up the way networks and PBXs rough it up, reproducibly.

:class:`Fuzzer` passes most frames through and, for a share of them, does one of what
collectors meet in the field: sends a frame twice, swaps it with the next one, drops one
of its header lines, or cuts it short. Together with the simulated PBX's garbage frames
(bytes that are not UTF-8, lines without a colon, events without their fields) it makes
the soak's "fuzzed stream". The frames it returns are what is sent, so a replay of them
is still the truth the daemon is held to.
"""

from __future__ import annotations

import random


class Fuzzer:
    """Roughs up ``share`` of the frames handed to :meth:`frames`, with a seeded RNG."""

    def __init__(self, share: float, seed: int = 1) -> None:
        self.share = share
        self.touched = 0
        self._rng = random.Random(seed)
        self._held: str | None = None

    def frames(self, frame: str) -> list[str]:
        """What to send in place of ``frame`` (nothing while it waits to be swapped)."""
        out = [] if self._held is None else [frame, self._held]
        if self._held is not None:
            self._held = None
            return out
        draw = self._rng.random() / self.share if self.share > 0 else 1.0
        if draw >= 1.0:
            return [frame]
        self.touched += 1
        if draw < 0.25:
            return [frame, frame]
        if draw < 0.5:
            self._held = frame
            return []
        lines = frame.split("\r\n")
        if draw < 0.75 and len(lines) > 2:
            del lines[self._rng.randrange(1, len(lines))]
            return ["\r\n".join(lines)]
        return [frame[: self._rng.randrange(1, max(2, len(frame)))]]
