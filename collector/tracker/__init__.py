"""The call tracker: the pure state machine between normalized events and facts.

:class:`Tracker` is the whole public interface; the modules of this package are its
handlers, one concern each (callers, answering, hold, after-call work, members and
QueueStatus answers, the PBX), over the books it keeps. The machines it moves are drawn
in :mod:`collector.states`.
"""

from __future__ import annotations

from collector.tracker.books import DEFAULT_ACW_REASONS, TrackerConfig
from collector.tracker.tracker import Tracker

__all__ = ["DEFAULT_ACW_REASONS", "Tracker", "TrackerConfig"]
