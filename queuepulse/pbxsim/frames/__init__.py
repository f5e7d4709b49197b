"""The AMI frames Asterisk 20 sends for each thing that happens in a call center.

:class:`AmiWriter` (in :mod:`queuepulse.pbxsim.frames.writer`) is the whole interface;
the modules of this package are its families of happenings: callers, queue members,
connected calls, over the primitives of :mod:`~queuepulse.pbxsim.frames.base`; and the
items of the QueueStatus and QueueSummary answers (:mod:`~queuepulse.pbxsim.frames.queue_status`).
"""

from __future__ import annotations

from queuepulse.pbxsim.frames.base import Leg
from queuepulse.pbxsim.frames.calls import Consult
from queuepulse.pbxsim.frames.writer import AmiWriter

__all__ = ["AmiWriter", "Consult", "Leg"]
