"""Repeat callers: did a caller enter a queue again, on another call, within a window?

The repeat-caller rate and first-call resolution (:mod:`kpi.definitions`) read this.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Hashable, Iterable
from operator import itemgetter

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

