"""Repeat callers: did a caller enter a queue again, on another call, within a window?

The repeat-caller rate and first-call resolution (:mod:`kpi.definitions`) read this.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Hashable, Iterable, Iterator
from operator import itemgetter
from typing import Protocol

from collector.facts import CallRecord

_DIGIT = re.compile(r"\d")


def caller_key(number: str) -> str | None:
    """The caller number used to spot repeat callers; ``None`` when it identifies nobody."""
    return number if _DIGIT.search(number) else None


class CallerIndex:
    """Every known call by caller number, to tell whether a caller called again.

    A caller is any hashable key (:func:`caller_key` of the number, or a code the live
    board keeps instead) and a call is told apart from another by its linkedid (or a code
    for it): several queue stints of one call are not repeats of each other.
    """

    def __init__(self, calls: Iterable[CallRecord] = ()) -> None:
        self._entries: dict[Hashable, list[tuple[float, Hashable]]] = {}
        for call in calls:
            self.add(call)

    def add(self, call: CallRecord) -> None:
        """Remember a call (any queue, any outcome)."""
        self.remember(caller_key(call.caller_num), call.entered_at, call.linkedid)

    def remember(self, caller: Hashable | None, entered_at: float, linked: Hashable) -> None:
        """Remember that ``caller`` (``None``: nobody known) entered a queue on call ``linked``."""
        if caller is not None:
            bisect.insort(self._entries.setdefault(caller, []), (entered_at, linked),
                          key=itemgetter(0))

    def called_again(self, call: CallRecord, within_s: float) -> bool | None:
        """Whether the caller entered a queue again, on another call, within ``within_s``.

        ``None`` when the caller number identifies nobody (empty, anonymous).
        """
        return self.again(caller_key(call.caller_num), call.entered_at, call.linkedid,
                          within_s)

    def again(self, caller: Hashable | None, entered_at: float, linked: Hashable,
              within_s: float) -> bool | None:
        """:meth:`called_again` for the call ``linked`` that ``caller`` made at ``entered_at``."""
        if caller is None:
            return None
        entries = self._entries.get(caller, [])
        last = entered_at + within_s
        # by position, not by a slice: a caller who calls all day would cost a copy of the
        # rest of the day's calls per look-up
        for index in range(bisect.bisect_right(entries, entered_at, key=itemgetter(0)),
                           len(entries)):
            later, other = entries[index]
            if later > last:
                break
            if other != linked:
                return True
        return False

    def forget_first(self, caller: Hashable) -> None:
        """Forget the earliest call remembered of ``caller`` (a known one)."""
        entries = self._entries[caller]
        del entries[0]
        if not entries:
            del self._entries[caller]


class Entry(Protocol):
    """What tells whether a caller called again: who, when, on which call."""

    @property
    def caller_num(self) -> str:
        """The caller's number."""

    @property
    def entered_at(self) -> float:
        """When the call entered a queue."""

    @property
    def linkedid(self) -> str:
        """The call, as Asterisk links its channels."""


def repeat_verdicts(calls: Iterable[CallRecord], within_s: float, later: Iterable[Entry] = (),
                    ) -> Iterator[tuple[CallRecord, bool | None]]:
    """Each call, in the order given, with whether its caller called again within
    ``within_s`` (:meth:`CallerIndex.called_again`).

    ``calls`` come in order of entry; ``later``, the entries of the calls that entered
    after them, up to ``within_s`` after the last one (only what a verdict needs of them
    is read). A call is yielded as soon as a call entering after its window comes, so
    only the calls of one window are held.
    """
    index = CallerIndex()
    waiting: deque[CallRecord] = deque()
    remembered: deque[tuple[float, Hashable]] = deque()

    def comes(entry: Entry) -> Iterator[tuple[CallRecord, bool | None]]:
        """The verdicts ``entry`` settles; it is then remembered, and what no waiting
        call needs any more is forgotten."""
        while waiting and waiting[0].entered_at + within_s < entry.entered_at:
            done = waiting.popleft()
            yield done, index.called_again(done, within_s)
        oldest = waiting[0].entered_at if waiting else entry.entered_at
        while remembered and remembered[0][0] < oldest:
            index.forget_first(remembered.popleft()[1])
        caller = caller_key(entry.caller_num)
        if caller is not None:
            index.remember(caller, entry.entered_at, entry.linkedid)
            remembered.append((entry.entered_at, caller))

    for call in calls:
        yield from comes(call)
        waiting.append(call)
    for entry in later:
        yield from comes(entry)
    for done in waiting:
        yield done, index.called_again(done, within_s)
