"""The frames of queue members: rung for a caller, not answering, answering; paused,
added and removed.

QueueCallerLeave comes before AgentConnect. A Local member (``Local/agent1@agents/n``)
is a Local channel pair whose ``;2`` half dials the agent's phone; the phone's channel,
not the member's, is the one that later holds and hangs up.
"""

from __future__ import annotations

from queuepulse.pbxsim.ami_objects import INUSE, RING, RINGING, UNKNOWN, UP, Bridge, Channel, Member
from queuepulse.pbxsim.frames.base import AGENT, CALL, PHONE_CONTEXT, FrameWriter, Leg

_CALLING_PRES = "\r\nCID-CallingPres: 0 (Presentation Allowed, Not Screened)"


class MemberFrames(FrameWriter):
    """The happenings of a queue member before a call and between calls."""

    def ring(
        self, t: float, caller: Channel, member: Member, login: str, phone_member: bool
    ) -> Leg:
        """app_queue dials a member for the caller (AgentCalled); the agent's phone rings.

        A phone member (``PJSIP/201``) is dialled directly; a Local member
        (``Local/agent1@agents/n``) is a Local channel pair whose ``;2`` half dials
        the agent's phone ``PJSIP/<login>``.
        """
        self.begin(t)
        cid = (caller.cid_num, caller.cid_name)
        if phone_member:
            phone = self._phone(t, member.interface, login, caller)
            self._var(phone, "DIALEDPEERNUMBER", login)
            self._pair("AgentCalled", caller, phone, self._member_tail(member), AGENT)
            self._pair("DialBegin", caller, phone, f"\r\nDialString: {login}")
            self._state(phone, RINGING)
            phone.changed(place=(PHONE_CONTEXT, caller.cid_num, 1))
            self._exten(phone, "AppQueue", "(Outgoing Line)")
            self._channel("NewConnectedLine", phone)
            self._pair("DialState", caller, phone, "\r\nDialStatus: RINGING")
            self._device(member.state_interface, "RINGING")
            return Leg(phone, phone, member.state_interface, t)
        suffix = self.ids.suffix("Local")
        one = Channel(
            f"Local/{login}@agents-{suffix};1",
            self.ids.uniqueid(t),
            caller.linkedid,
            context="agents",
            exten=login,
            cid=cid,
        )
        two = Channel(
            f"Local/{login}@agents-{suffix};2",
            self.ids.uniqueid(t),
            caller.linkedid,
            context="agents",
            exten=login,
            state=RING,
            cid=cid,
            connected=cid,
        )
        self._channel("Newchannel", one)
        self._channel("Newchannel", two)
        self._exten(one, "AppQueue", "(Outgoing Line)")
        self._channel("NewCallerid", one, _CALLING_PRES)
        self._var(one, "DIALEDPEERNUMBER", f"{login}@agents/n")
        self._var(two, "DIALEDPEERNUMBER", f"{login}@agents/n")
        self._channel("NewCallerid", two, _CALLING_PRES)
        self._channel("NewConnectedLine", two)
        self._emit(
            "LocalBridge",
            CALL,
            f"{one.block('LocalOne')}\r\n{two.block('LocalTwo')}\r\nContext: agents\r\n"
            f"Exten: {login}\r\nLocalOptimization: No",
        )
        self._pair("AgentCalled", caller, one, self._member_tail(member), AGENT)
        self._pair("DialBegin", caller, one, f"\r\nDialString: {login}@agents/n")
        self._exten(two, "NoOp", f"agent {login}")
        self._next_exten(two, "Dial", f"PJSIP/{login},,t")
        device = f"PJSIP/{login}"
        phone = self._phone(t, device, login, caller)
        self._pair("DialBegin", two, phone, f"\r\nDialString: {login}")
        self._state(phone, RINGING)
        self._pair("DialState", two, phone, "\r\nDialStatus: RINGING")
        self._device(device, "RINGING")
        return Leg(one, phone, device, t, two)

    def _phone(self, t: float, device: str, login: str, caller: Channel) -> Channel:
        phone = Channel(
            f"{device}-{self.ids.suffix('PJSIP')}",
            self.ids.uniqueid(t),
            caller.linkedid,
            context=PHONE_CONTEXT,
            exten=login,
            cid=(login, UNKNOWN),
            connected=(caller.cid_num, caller.cid_name),
        )
        self._channel("Newchannel", phone)
        return phone

    def ring_no_answer(self, t: float, caller: Channel, ringing: list[tuple[Member, Leg]]) -> None:
        """The members did not answer within the queue's member timeout."""
        self.begin(t)
        for member, leg in ringing:
            self._no_answer(t, caller, member, leg)

    def answer(
        self,
        t: float,
        caller: Channel,
        members: list[Member],
        leg: Leg,
        cancelled: list[tuple[Member, Leg]],
        times: tuple[float, float],
        spot: tuple[int, int],
    ) -> Bridge:
        """The agent answers: the caller leaves the waiting list and is bridged to the agent.

        ``members`` are the agent's memberships, the call's queue last; ``cancelled`` the
        other members still ringing (ringall); ``times`` is (wait, ring time); ``spot``
        is (the caller's position, callers left waiting).
        """
        self.begin(t)
        member = members[-1]
        wait, ring = times
        position, count = spot
        phone = leg.phone
        self._state(phone, UP)
        two = leg.local_two
        if two is not None:
            self._dial_end(two, phone, "ANSWER")
            self._device(leg.device, "INUSE")
            leg.phone_bridge = self._bridge(phone, two)
            self._state(two, UP)
            self._state(leg.member, UP)
            leg.member.changed(place=("agents", caller.cid_num, 1))
            self._exten(leg.member, "AppQueue", "(Outgoing Line)")
            leg.member.changed(connected=(caller.cid_num, caller.cid_name))
            self._channel("NewConnectedLine", leg.member)
        caller.changed(connected=(phone.cid_num, member.name))
        self._dial_end(caller, leg.member, "ANSWER")
        self._channel("NewConnectedLine", caller)
        for other, other_leg in cancelled:
            self._cancel(caller, other, other_leg, cause=26)
        self._device(member.state_interface, "INUSE")
        if count == 0:
            self._queue_device(member.queue, 0)
        self._channel(
            "QueueCallerLeave", caller, self._queue_tail(member.queue, position, count), AGENT
        )
        self._var(caller, "QUEUEPOSITION", str(position))
        self._var(caller, "QUEUEWAIT", str(int(wait)))
        self._var(caller, "QUEUEWAIT_MS", str(int(wait * 1000)))
        self._pair(
            "AgentConnect",
            caller,
            leg.member,
            f"{self._member_tail(member)}\r\nHoldTime: {int(wait)}\r\nRingTime: {int(ring)}",
            AGENT,
        )
        self._member_status(members, in_call=True, status=INUSE)
        bridge = self._bridge(leg.member, caller)
        self._var(leg.member, "BRIDGEPEER", caller.name)
        self._var(caller, "BRIDGEPEER", leg.member.name)
        return bridge

    # -- pauses and logins ----------------------------------------------------------

    def pause(self, t: float, members: list[Member], paused: bool, reason: str) -> None:
        """QueuePause of the agent in all its queues (one QueueMemberPause per queue)."""
        self.begin(t)
        for member in members:
            member.paused = paused
            member.paused_reason = reason if paused else ""
            if paused:
                member.last_pause = int(t)
            member.changed()
            state = "INUSE" if paused else "NOT_INUSE"
            self._device(f"Queue:{member.queue}_pause_{member.interface}", state)
            self._member("QueueMemberPause", member)

    def member_added(self, t: float, member: Member) -> None:
        """A dynamic agent logs in to a queue (QueueAdd)."""
        self.begin(t)
        self._device(f"Queue:{member.queue}_pause_{member.interface}", "NOT_INUSE")
        self._member("QueueMemberAdded", member)
        self._device(f"Queue:{member.queue}_avail", "NOT_INUSE")

    def member_removed(self, t: float, member: Member) -> None:
        """A dynamic agent logs out of a queue (QueueRemove)."""
        self.begin(t)
        self._member("QueueMemberRemoved", member)
        self._device(f"Queue:{member.queue}_pause_{member.interface}", "NOT_INUSE")
