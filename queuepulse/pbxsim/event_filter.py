"""A manager user's ``eventfilter`` lines, applied as Asterisk applies them.

In ``manager.conf`` each ``eventfilter = PATTERN`` of a user is a regular expression
searched anywhere in the text of every event the user may read; one starting with ``!``
excludes what it finds. With only including patterns an event must match one of them;
with only excluding ones it must match none; with both, one including and no excluding.
The filters apply to the events Asterisk broadcasts, not to what answers an action (the
items of a QueueStatus answer come through whatever the filters say).
"""

from __future__ import annotations

import re
from collections.abc import Sequence


class EventFilter:
    """The ``eventfilter`` patterns of a manager user; none lets every event through."""

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        self.include = tuple(re.compile(p) for p in patterns if not p.startswith("!"))
        self.exclude = tuple(re.compile(p[1:]) for p in patterns if p.startswith("!"))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def passes(self, event: str) -> bool:
        """Whether the user is sent ``event`` (its text, every header)."""
        if self.include and not any(p.search(event) for p in self.include):
            return False
        return not any(p.search(event) for p in self.exclude)
