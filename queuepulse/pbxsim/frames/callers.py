"""The frames of callers: arriving on the trunk, joining a queue, leaving it unanswered,
hanging up once no queue holds them.

A caller who hangs up while waiting gets HangupRequest before QueueCallerAbandon; a queue
timeout or an emptied queue sends QueueCallerAbandon with no hangup request, then
``VarSet QUEUESTATUS``; a caller who leaves by key gets QueueCallerLeave alone.
"""

from __future__ import annotations

from queuepulse.pbxsim.ami_objects import RING, UP, Channel, Member
from queuepulse.pbxsim.frames.base import AGENT, TRUNK_CONTEXT, FrameWriter, Leg


class CallerFrames(FrameWriter):
    """The happenings of a caller outside a conversation with an agent."""

    def incoming_call(
        self, t: float, trunk: str, cid: tuple[str, str], did: str, queue: str
    ) -> Channel:
        """A call arrives on the trunk, is answered and hears the queue's greeting."""
        self.begin(t)
        uid = self.ids.uniqueid(t)
        caller = Channel(
            f"PJSIP/{trunk}-{self.ids.suffix('PJSIP')}",
            uid,
            uid,
            context=TRUNK_CONTEXT,
            exten=did,
            state=RING,
            cid=cid,
        )
        self._channel("Newchannel", caller)
        self._var(caller, "__FROM_DID", did)
        self._exten(caller, "NoOp", f"Inbound call for {queue}")
        self._next_exten(caller, "Answer", "")
        self._state(caller, UP)
        self._next_exten(caller, "Playback", f"custom/welcome-{queue}")
        return caller

    def enter_queue(
        self, t: float, caller: Channel, queue: str, spot: tuple[int, int], timeout: int
    ) -> None:
        """The caller's dialplan runs Queue() and app_queue puts it on the waiting list.

        ``spot`` is (the caller's position, callers waiting now).
        """
        self.begin(t)
        position, count = spot
        self._next_exten(caller, "Queue", f"{queue},t,,,{timeout}")
        for variable in (
            "ANSWEREDTIME",
            "ANSWEREDTIME_MS",
            "DIALEDTIME",
            "DIALEDTIME_MS",
            "QUEUEWAIT",
            "QUEUEWAIT_MS",
        ):
            self._var(caller, variable, "")
        if count == 1:
            self._queue_device(queue, 1)
        self._channel("QueueCallerJoin", caller, self._queue_tail(queue, position, count), AGENT)

    def leave_unanswered(
        self,
        t: float,
        caller: Channel,
        queue: str,
        how: str,
        positions: tuple[int, int, int],
        wait: float,
        ringing: list[tuple[Member, Leg]],
    ) -> None:
        """The caller leaves the waiting list without an agent.

        ``how`` is ``abandon`` (the caller hung up), ``timeout`` (the queue's timeout ran
        out), ``empty`` (no member left) or ``key`` (the caller pressed an exit key).
        ``positions`` is (position now, position at entry, callers left afterwards);
        ``ringing`` the members still ringing for the caller: a hang-up cancels them, a
        timeout ends their ring as unanswered.
        """
        self.begin(t)
        position, original, count = positions
        if how == "abandon":
            self._hangup_request(caller)
            for member, leg in ringing:
                self._cancel(caller, member, leg, cause=16)
        else:
            for member, leg in ringing:
                self._no_answer(t, caller, member, leg)
        if how != "key":
            self._vars(caller, (("QUEUEWAIT", wait), ("DIALEDTIME", wait), ("ANSWEREDTIME", 0.0)))
            self._var(caller, "ABANDONED", "TRUE")
            self._channel(
                "QueueCallerAbandon",
                caller,
                f"\r\nQueue: {queue}\r\nPosition: {position}\r\nOriginalPosition: {original}"
                f"\r\nHoldTime: {int(wait)}",
                AGENT,
            )
        if count == 0:
            self._queue_device(queue, 0)
        self._channel("QueueCallerLeave", caller, self._queue_tail(queue, position, count), AGENT)
        self._var(caller, "QUEUEPOSITION", str(position))
        if how == "abandon":
            self._hangup_request(caller, soft=True)
            self._hangup(caller)
        elif how == "key":
            caller.changed(place=("queue-exit", "1", 1))
            self._exten(caller, "VoiceMail", f"{queue}@queues,u")
        else:
            self._var(caller, "QUEUESTATUS", "TIMEOUT" if how == "timeout" else "LEAVEEMPTY")
            self._next_exten(caller, "VoiceMail", f"{queue}@queues,u")

    def caller_hangs_up(self, t: float, caller: Channel, peer: Channel | None = None) -> None:
        """A caller no longer in any queue (voicemail, survey, transferred) hangs up."""
        self.begin(t)
        self._hangup_request(caller)
        self._hangup(caller)
        if peer is not None:
            self._hangup_request(peer, soft=True)
            self._hangup(peer)
            self._device(peer.name.rsplit("-", 1)[0], "NOT_INUSE")
