"""A simulated call center on simulated time, with the truth about every queue stint.

:class:`CallCenter` (in :mod:`queuepulse.pbxsim.callcenter.center`) is the whole public
interface; the modules of this package are its parts: what it holds (``state``), its
clock (``clock``), what the parts share (``base``), and the behaviours of callers,
app_queue ringing members, connected calls and agents between calls.
"""

from __future__ import annotations

from queuepulse.pbxsim.callcenter.center import CallCenter

__all__ = ["CallCenter"]
