"""Asterisk's shutdowns in queue_log, told by the QUEUESTART that follows them.

Asterisk logs no line when it stops. Stopping, it hangs up every channel, and app_queue
logs the ends of the calls it was handling as if they had happened then: ``ABANDON`` for
a caller still waiting, though the caller did not give up, and ``COMPLETEAGENT`` or
``COMPLETECALLER`` for a call in progress, all in the same moment. Started again, it logs
``QUEUESTART``. So the ends logged in the last second before a ``QUEUESTART`` are the
shutdown's, when the ``QUEUESTART`` comes soon enough after them
(:data:`RESTART_WITHIN_S`) to be the same restart.

Pure: lines in, lines out. :class:`ShutdownLookahead` holds the lines that could be a
shutdown's until a later line tells whether they were, and hands each on marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.queue_log import QueueLogLine

QUEUESTART = "QUEUESTART"
ENDED_BY_SHUTDOWN = frozenset({"ABANDON", "COMPLETEAGENT", "COMPLETECALLER"})
"""The lines app_queue logs for the calls a shutdown ends: the caller still waiting, the
call in progress."""
MOMENT_S = 1.0
"""A shutdown hangs every channel up within milliseconds; queue_log's times are whole
seconds: its lines share the second of the last line before the restart."""
RESTART_WITHIN_S = 120.0
"""How long after the last line a ``QUEUESTART`` still tells that those lines were a
shutdown's: Asterisk starts again within seconds (a minute on a large FreePBX). One that
comes later does not tell when Asterisk stopped (it may have crashed in a quiet spell,
logging nothing), and the lines before it are taken as they are."""

Released = tuple[QueueLogLine, bool]
"""A line handed on, and whether it is the end of a call that a shutdown ended."""


@dataclass(slots=True)
class ShutdownLookahead:
    """Holds the call ends of the latest second, and the lines after them, until a later
    line tells whether a shutdown logged them. Lines come out in the order they went in."""

    _held: list[QueueLogLine] = field(default_factory=list)

    @property
    def held_since(self) -> float | None:
        """The time of the earliest line held, ``None`` when none is."""
        return min(line.at for line in self._held) if self._held else None

    def push(self, line: QueueLogLine) -> list[Released]:
        """A line other than ``QUEUESTART``: the lines it shows no shutdown logged."""
        held = self._held
        if not held:  # most lines: a log of millions goes through here
            if line.event in ENDED_BY_SHUTDOWN:
                held.append(line)
                return []
            return [(line, False)]
        released = self._before(line.at)
        if held or line.event in ENDED_BY_SHUTDOWN:
            held.append(line)
        else:
            released.append((line, False))
        return released

    def restart(self, at: float) -> tuple[list[Released], float | None]:
        """A ``QUEUESTART`` at ``at``: the lines held, the shutdown's ends marked, and when
        Asterisk stopped (the moment of those ends; ``None`` when no line says)."""
        last = self._last()
        held, self._held = self._held, []
        if last is None or at - last > RESTART_WITHIN_S:
            return [(line, False) for line in held], None
        released = [(line, line.event in ENDED_BY_SHUTDOWN and last - line.at < MOMENT_S)
                    for line in held]
        return released, last if any(cut for _, cut in released) else None

    def expire(self, at: float) -> list[Released]:
        """No line dated before ``at`` is still to come: the lines held that no
        ``QUEUESTART`` from then on can tell were a shutdown's."""
        last = self._last()
        if last is not None and at - last > RESTART_WITHIN_S:
            return self.flush()
        return []

    def flush(self) -> list[Released]:
        """The input has ended: every line held, as it is."""
        held, self._held = self._held, []
        return [(line, False) for line in held]

    def _last(self) -> float | None:
        """The latest time of the lines held: the moment a shutdown would have logged them."""
        return max(line.at for line in self._held) if self._held else None

    def _before(self, at: float) -> list[Released]:
        """Hand on the lines held from the front that a line at ``at`` or later shows were
        no shutdown's: those a second or more before it, and the lines that end no call."""
        held = self._held
        count = 0
        while count < len(held) and (held[count].at <= at - MOMENT_S
                                      or held[count].event not in ENDED_BY_SHUTDOWN):
            count += 1
        released = [(line, False) for line in held[:count]]
        del held[:count]
        return released
