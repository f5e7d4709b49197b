"""The AMI frames Asterisk 20 sends for each thing that happens in a call center.

Each public method of `AmiWriter` renders one happening (a call arrives, a member's
phone rings, an agent answers, holds, hangs up, transfers, pauses, logs in ...) as the
frames an unfiltered manager session receives, in the order Asterisk sends them. Headers
and order follow the recorded Asterisk 20 traces; what those do not contain (queue
timeouts, attended transfers, the phone behind a Local member) follows app_queue's and
the bridging core's documented behaviour. The rules a collector depends on:

* QueueCallerLeave comes before AgentConnect;
* a caller who hangs up while waiting gets HangupRequest before QueueCallerAbandon; a
  queue timeout or an emptied queue sends QueueCallerAbandon with no hangup request, then
  ``VarSet QUEUESTATUS``; a caller who leaves by key gets QueueCallerLeave alone;
* Hold/Unhold come from the agent's phone channel, whose Linkedid is the caller's;
* BlindTransfer and AttendedTransfer come before ``AgentComplete`` with ``Reason: transfer``.

Events carry ``Timestamp`` with microseconds; the frames of one happening are a few
microseconds apart and timestamps never go backwards.
"""

from __future__ import annotations

from queuepulse.pbxsim.frames.callers import CallerFrames
from queuepulse.pbxsim.frames.calls import CallFrames
from queuepulse.pbxsim.frames.members import MemberFrames


class AmiWriter(CallerFrames, MemberFrames, CallFrames):
    """Every happening of the call center, each as the frames Asterisk sends for it.

    The families live in their own modules: callers (`CallerFrames`), queue members
    (`MemberFrames`) and connected calls (`CallFrames`), all written with the primitives
    of `queuepulse.pbxsim.frames.base.FrameWriter`.
    """
