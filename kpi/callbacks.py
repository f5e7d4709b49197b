"""Abandoned callers and callbacks: was a caller who gave up reached again, and how soon?

For each abandoned call, within ``callback_window_s`` after the caller gave up:

* the caller **called again**: a later queue call from the same number (any queue);
* the caller **was called back**: a dial outside the queues to the number
  (:class:`~collector.facts.Dial`, an agent calling from its phone or an Originate);
* the caller was **reached**: the first of those that was answered (the caller's later
  call answered by an agent, or the dial answered by the caller), at ``reached_at``.

Numbers are compared by their digits alone, on the last :data:`MATCH_DIGITS` of them
when both have that many, so that ``+15550000002``, ``0015550000002`` and ``5550000002``
are one caller, whatever prefix the trunk wants dialled. A caller without digits in its
number (anonymous) cannot be called back and is left out.

Pure: :func:`callbacks` computes the record of each abandoned call for the reports and
the ``kpi_callbacks`` table; :class:`PendingCallbacks` keeps the live count of callers
not reached yet for MQTT, the web page and Prometheus.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from collector.facts import CallRecord, Dial, Fact, Outcome

MATCH_DIGITS = 8
"""Numbers are one caller when their last this many digits agree (all of them, when
either is shorter)."""
CALLER = "caller"
AGENT = "agent"
_NOT_DIGIT = re.compile(r"\D")


def number_key(number: str) -> str | None:
    """The digits a number is matched by (``None``: it identifies nobody)."""
    digits = _NOT_DIGIT.sub("", number)
    return digits[-MATCH_DIGITS:] if digits else None


def abandoned_at(call: CallRecord) -> float:
    """When the caller gave up: the end of the call, else the end of its wait."""
    if call.ended_at is not None:
        return call.ended_at
    return call.entered_at + (call.wait_s or 0.0)


@dataclass(frozen=True, slots=True)
class Callback:
    """One abandoned call, and what followed it within the callback window."""

    call_id: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    abandoned_at: float
    wait_s: float | None
    window_ends_at: float
    called_again_at: float | None
    called_back_at: float | None
    reached_at: float | None
    reached_by: str | None
    """``caller`` (its later call was answered) or ``agent`` (a dial to it was answered)."""
    time_to_reach_s: float | None


@dataclass(frozen=True, slots=True)
class _Contact:
    at: float
    answered_at: float | None
    by: str


def _contacts(calls: Iterable[CallRecord], dials: Iterable[Dial]) -> dict[str, list[_Contact]]:
    """Every later call and every dial, by the number it came from or went to, in order."""
    found: dict[str, list[_Contact]] = {}
    for call in calls:
        key = number_key(call.caller_num)
        if key is not None:
            answered = call.answered_at if call.outcome is Outcome.ANSWERED else None
            found.setdefault(key, []).append(_Contact(call.entered_at, answered, CALLER))
    for dial in dials:
        key = number_key(dial.number)
        if key is not None:
            found.setdefault(key, []).append(_Contact(dial.started_at, dial.answered_at, AGENT))
    for contacts in found.values():
        contacts.sort(key=lambda c: c.at)
    return found


def callbacks(abandoned: Iterable[CallRecord], calls: Iterable[CallRecord],
              dials: Iterable[Dial], window_s: float) -> tuple[Callback, ...]:
    """The callback record of each abandoned call of ``abandoned`` (others are skipped),
    from the later ``calls`` and ``dials`` (they must reach ``window_s`` past the last)."""
    contacts = _contacts(calls, dials)
    found = []
    for call in sorted(abandoned, key=lambda c: (c.entered_at, c.queue)):
        key = number_key(call.caller_num)
        if call.outcome is not Outcome.ABANDONED or key is None:
            continue
        gave_up = abandoned_at(call)
        until = gave_up + window_s
        mine = contacts.get(key, [])
        first = bisect.bisect_right(mine, gave_up, key=lambda c: c.at)
        later = [c for c in mine[first:] if c.at <= until]
        again = next((c.at for c in later if c.by == CALLER), None)
        back = next((c.at for c in later if c.by == AGENT), None)
        reached = min((c for c in later if c.answered_at is not None),
                      key=lambda c: c.answered_at or 0.0, default=None)
        reached_at = None if reached is None else reached.answered_at
        found.append(Callback(
            call_id=call.call_id, queue=call.queue, caller_num=call.caller_num,
            caller_name=call.caller_name, entered_at=call.entered_at, abandoned_at=gave_up,
            wait_s=call.wait_s, window_ends_at=until, called_again_at=again,
            called_back_at=back, reached_at=reached_at,
            reached_by=None if reached is None else reached.by,
            time_to_reach_s=None if reached_at is None else reached_at - gave_up))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class CallbacksPending:
    """Callers of a queue (``None``: all queues) who gave up and were not reached yet."""

    queue: str | None
    callers: int
    oldest_abandoned_at: float | None


@dataclass
class PendingCallbacks:
    """The abandoned callers not reached yet, kept live from the facts as they come.

    A caller stays pending from giving up until reached (see :func:`callbacks`) or until
    the window is over; :meth:`pending` counts those who gave up since ``since``.
    """

    window_s: float
    _waiting: dict[str, dict[str, tuple[str, float]]] = field(default_factory=dict)
    """Number key to the abandoned calls (call id to queue and moment given up)."""

    def add(self, facts: Iterable[Fact]) -> None:
        """Take new facts: abandoned calls wait, answered contacts reach them."""
        for fact in facts:
            if isinstance(fact, CallRecord):
                self.call(fact)
            elif isinstance(fact, Dial):
                self.dial(fact)

    def call(self, call: CallRecord) -> None:
        """A queue call finished: an abandoned one waits, an answered one reaches."""
        key = number_key(call.caller_num)
        if key is None:
            return
        if call.outcome is Outcome.ABANDONED:
            self._waiting.setdefault(key, {})[call.call_id] = (call.queue, abandoned_at(call))
        elif call.outcome is Outcome.ANSWERED and call.answered_at is not None:
            self._reach(key, call.entered_at)

    def dial(self, dial: Dial) -> None:
        """A dial ended: answered, it reaches."""
        key = number_key(dial.number)
        if key is not None and dial.answered_at is not None:
            self._reach(key, dial.started_at)

    def _reach(self, key: str, contact_at: float) -> None:
        """A contact that began at ``contact_at`` was answered: it reached those who had
        given up before it, within the window."""
        waiting = self._waiting.get(key)
        if not waiting:
            return
        for call_id, (_, gave_up) in list(waiting.items()):
            if gave_up < contact_at <= gave_up + self.window_s:
                del waiting[call_id]
        if not waiting:
            del self._waiting[key]

    def pending(self, at: float, since: float) -> tuple[CallbacksPending, ...]:
        """Per queue, then for all queues: the callers who gave up since ``since`` (and
        within the window before ``at``) and were not reached by ``at``."""
        start = max(since, at - self.window_s)
        per_queue: dict[str, list[float]] = {}
        for key in list(self._waiting):
            waiting = self._waiting[key]
            for call_id, (queue, gave_up) in list(waiting.items()):
                if gave_up < at - self.window_s:
                    del waiting[call_id]  # the window is over: no longer to call back
                elif gave_up >= start:
                    per_queue.setdefault(queue, []).append(gave_up)
            if not waiting:
                del self._waiting[key]
        every = [t for times in per_queue.values() for t in times]
        return (*(CallbacksPending(q, len(t), min(t)) for q, t in sorted(per_queue.items())),
                CallbacksPending(None, len(every), min(every, default=None)))
