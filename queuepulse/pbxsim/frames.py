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

import random
from dataclasses import dataclass

from queuepulse.pbxsim.ami_objects import (
    INUSE,
    NOT_INUSE,
    RING,
    RINGING,
    UNKNOWN,
    UP,
    Bridge,
    Channel,
    Ids,
    Member,
)

_CALL, _AGENT, _DIALPLAN = "call,all", "agent,all", "dialplan,all"
_STEPS = (0.000004, 0.000006, 0.000003, 0.000009, 0.000005, 0.000007, 0.000004, 0.000011)
_CAUSES = {16: "Normal Clearing", 26: "Answered elsewhere", 0: "Unknown"}
_CALLING_PRES = "\r\nCID-CallingPres: 0 (Presentation Allowed, Not Screened)"
_AGENT_GONE_SHARE = 0.06
"""How often AgentComplete lacks the Dest* headers (the agent's channel was already gone)."""

TRUNK_CONTEXT = "from-pstn"
PHONE_CONTEXT = "from-internal"


@dataclass(slots=True)
class Leg:
    """The channels that carry one member's side of a queue call.

    ``member`` is the channel app_queue dials (AgentCalled's DestChannel): a Local
    member's ``;1`` half, or the phone itself for a phone member. A Local member's ``;2``
    half dials the agent's phone (``device``) and bridges it in ``phone_bridge``.
    """

    member: Channel
    phone: Channel
    device: str
    rang_at: float
    local_two: Channel | None = None
    phone_bridge: Bridge | None = None


@dataclass(slots=True)
class Consult:
    """An agent's consultation call to a transfer target, while the caller is on hold."""

    transferer: Channel
    target: Channel
    bridge: Bridge | None = None


class AmiWriter:
    """Renders happenings as ``(timestamp, frame)`` pairs appended to ``frames``.

    ``rng`` varies only how things are written (never what happens), as Asterisk's own
    races do: for instance AgentComplete sometimes lacks the agent channel's headers.
    """

    def __init__(self, ids: Ids, rng: random.Random) -> None:
        self.ids = ids
        self.frames: list[tuple[float, str]] = []
        self._rng = rng
        self._t = 0.0
        self._step = 0

    # -- frame primitives ------------------------------------------------------------

    def begin(self, t: float) -> None:
        """The next frames belong to a happening at ``t`` (or just after the last frame)."""
        self._t = max(self._t, t)

    def _emit(self, name: str, privilege: str, body: str) -> None:
        ts = self._t
        self._step = (self._step + 1) & 7
        self._t = ts + _STEPS[self._step]
        self.frames.append(
            (ts, f"Event: {name}\r\nPrivilege: {privilege}\r\nTimestamp: {ts:.6f}\r\n{body}")
        )

    def _channel(self, name: str, ch: Channel, tail: str = "", privilege: str = _CALL) -> None:
        self._emit(name, privilege, ch.block() + tail)

    def _pair(
        self, name: str, ch: Channel, dest: Channel, tail: str, privilege: str = _CALL
    ) -> None:
        self._emit(name, privilege, f"{ch.block()}\r\n{dest.block('Dest')}{tail}")

    def _var(self, ch: Channel, variable: str, value: str) -> None:
        self._emit("VarSet", _DIALPLAN, f"{ch.block()}\r\nVariable: {variable}\r\nValue: {value}")

    def _vars(self, ch: Channel, values: tuple[tuple[str, float], ...]) -> None:
        """Duration variables (QUEUEWAIT, DIALEDTIME, ...) in seconds and in ms."""
        for name, seconds in values:
            self._var(ch, name, str(int(seconds)))
            self._var(ch, f"{name}_MS", str(int(seconds * 1000)))

    def _exten(self, ch: Channel, app: str, data: str) -> None:
        self._emit(
            "Newexten",
            _DIALPLAN,
            f"{ch.block()}\r\nExtension: {ch.exten}\r\nApplication: {app}\r\nAppData: {data}",
        )

    def _next_exten(self, ch: Channel, app: str, data: str) -> None:
        ch.next_priority()
        self._exten(ch, app, data)

    def _state(self, ch: Channel, state: int) -> None:
        ch.changed(state=state)
        self._channel("Newstate", ch)

    def _device(self, device: str, state: str) -> None:
        self._emit("DeviceStateChange", _CALL, f"Device: {device}\r\nState: {state}")

    def _member(self, name: str, member: Member) -> None:
        self._emit(name, _AGENT, member.block())

    def _dial_end(self, ch: Channel, dest: Channel, status: str) -> None:
        self._pair("DialEnd", ch, dest, f"\r\nDialStatus: {status}")

    def _hangup(self, ch: Channel, cause: int = 16) -> None:
        self._channel("Hangup", ch, f"\r\nCause: {cause}\r\nCause-txt: {_CAUSES[cause]}")

    def _hangup_request(self, ch: Channel, cause: int = 16, soft: bool = False) -> None:
        self._channel("SoftHangupRequest" if soft else "HangupRequest", ch, f"\r\nCause: {cause}")

    def _bridge_event(self, name: str, bridge: Bridge, ch: Channel | None = None) -> None:
        self._emit(
            name, _CALL, bridge.block() if ch is None else f"{bridge.block()}\r\n{ch.block()}"
        )

    def _bridge(self, first: Channel, second: Channel) -> Bridge:
        bridge = self.ids.bridge()
        self._bridge_event("BridgeCreate", bridge)
        self._enter(bridge, first)
        self._enter(bridge, second)
        return bridge

    def _enter(self, bridge: Bridge, ch: Channel) -> None:
        bridge.channels += 1
        self._bridge_event("BridgeEnter", bridge, ch)

    def _leave(self, bridge: Bridge, *channels: Channel) -> None:
        for ch in channels:
            bridge.channels -= 1
            self._bridge_event("BridgeLeave", bridge, ch)

    def _queue_device(self, queue: str, callers: int) -> None:
        self._device(f"Queue:{queue}", "RINGING" if callers else "NOT_INUSE")

    def _member_status(self, members: list[Member], in_call: bool, status: int) -> None:
        """QueueMemberStatus for each of an agent's memberships, the call's queue last."""
        last = members[-1]
        for member in members:
            member.in_call = in_call and member is last
            member.status = status
            member.changed()
            self._member("QueueMemberStatus", member)

    @staticmethod
    def _member_tail(member: Member) -> str:
        return (
            f"\r\nQueue: {member.queue}\r\nInterface: {member.interface}"
            f"\r\nMemberName: {member.name}"
        )

    @staticmethod
    def _queue_tail(queue: str, position: int, count: int) -> str:
        return f"\r\nQueue: {queue}\r\nPosition: {position}\r\nCount: {count}"

    # -- callers ---------------------------------------------------------------------

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
        self._channel("QueueCallerJoin", caller, self._queue_tail(queue, position, count), _AGENT)

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
                _AGENT,
            )
        if count == 0:
            self._queue_device(queue, 0)
        self._channel("QueueCallerLeave", caller, self._queue_tail(queue, position, count), _AGENT)
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

    # -- members ringing and answering -----------------------------------------------

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
            self._pair("AgentCalled", caller, phone, self._member_tail(member), _AGENT)
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
            _CALL,
            f"{one.block('LocalOne')}\r\n{two.block('LocalTwo')}\r\nContext: agents\r\n"
            f"Exten: {login}\r\nLocalOptimization: No",
        )
        self._pair("AgentCalled", caller, one, self._member_tail(member), _AGENT)
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

    def _no_answer(self, t: float, caller: Channel, member: Member, leg: Leg) -> None:
        ring_ms = round((t - leg.rang_at) * 1000)
        self._pair(
            "AgentRingNoAnswer",
            caller,
            leg.member,
            f"{self._member_tail(member)}\r\nRingTime: {ring_ms}",
            _AGENT,
        )
        self._dial_end(caller, leg.member, "NOANSWER")
        self._cancel(caller, member, leg, cause=0)

    def ring_no_answer(self, t: float, caller: Channel, ringing: list[tuple[Member, Leg]]) -> None:
        """The members did not answer within the queue's member timeout."""
        self.begin(t)
        for member, leg in ringing:
            self._no_answer(t, caller, member, leg)

    def _cancel(self, caller: Channel, member: Member, leg: Leg, cause: int) -> None:
        """A ringing leg is hung up (answered elsewhere, no answer, or the caller left)."""
        self._dial_end(caller, leg.member, "CANCEL")
        two = leg.local_two
        if two is None:
            self._hangup(leg.phone, cause)
        else:
            self._hangup_request(two, cause)
            self._hangup(leg.member, cause)
            self._dial_end(two, leg.phone, "CANCEL")
            self._hangup(leg.phone, cause)
            self._hangup_request(two, 16, soft=True)
            self._hangup(two, cause)
        self._device(leg.device, "NOT_INUSE")

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
            "QueueCallerLeave", caller, self._queue_tail(member.queue, position, count), _AGENT
        )
        self._var(caller, "QUEUEPOSITION", str(position))
        self._var(caller, "QUEUEWAIT", str(int(wait)))
        self._var(caller, "QUEUEWAIT_MS", str(int(wait * 1000)))
        self._pair(
            "AgentConnect",
            caller,
            leg.member,
            f"{self._member_tail(member)}\r\nHoldTime: {int(wait)}\r\nRingTime: {int(ring)}",
            _AGENT,
        )
        self._member_status(members, in_call=True, status=INUSE)
        bridge = self._bridge(leg.member, caller)
        self._var(leg.member, "BRIDGEPEER", caller.name)
        self._var(caller, "BRIDGEPEER", leg.member.name)
        return bridge

    # -- connected calls ---------------------------------------------------------------

    def hold(self, t: float, leg: Leg, on_hold: bool) -> None:
        """The agent's phone puts the caller on hold (re-INVITE sendonly) or resumes."""
        self.begin(t)
        self._channel("Hold" if on_hold else "Unhold", leg.phone)

    def _complete(
        self,
        caller: Channel,
        members: list[Member],
        leg: Leg,
        times: tuple[float, float],
        reason: str,
    ) -> None:
        member = members[-1]
        wait, talk = times
        tail = (
            f"{self._member_tail(member)}\r\nHoldTime: {int(wait)}\r\nTalkTime: {int(talk)}"
            f"\r\nReason: {reason}"
        )
        if reason == "agent" and self._rng.random() < _AGENT_GONE_SHARE:
            self._channel("AgentComplete", caller, tail, _AGENT)
        else:
            self._pair("AgentComplete", caller, leg.member, tail, _AGENT)

    def _phone_hangs_up(self, leg: Leg) -> None:
        """The agent's phone hangs up; behind a Local member, the Local pair follows."""
        self._hangup_request(leg.phone)
        two = leg.local_two
        if two is None:
            return
        if leg.phone_bridge is not None:
            self._leave(leg.phone_bridge, leg.phone, two)
            self._bridge_event("BridgeDestroy", leg.phone_bridge)
        self._hangup(leg.phone)
        self._hangup_request(two, soft=True)
        self._hangup_request(leg.member)
        self._var(leg.member, "BRIDGEPEER", "")
        self._hangup(two)

    def _leg_hangs_up(self, leg: Leg) -> None:
        """The member's channels hang up after the caller left them."""
        two = leg.local_two
        if two is None:
            self._hangup_request(leg.phone)
            self._hangup(leg.phone)
            return
        self._hangup_request(two)
        self._hangup(leg.member)
        self._hangup_request(two, soft=True)
        self._hangup(two)
        if leg.phone_bridge is not None:
            self._leave(leg.phone_bridge, leg.phone)
            self._bridge_event("BridgeDestroy", leg.phone_bridge)
        self._hangup(leg.phone)

    def _after_call(self, members: list[Member], leg: Leg) -> None:
        self._device(leg.device, "NOT_INUSE")
        if leg.local_two is not None:
            self._device(members[-1].state_interface, "NOT_INUSE")
        self._member_status(members, in_call=False, status=NOT_INUSE)
        self._device(f"Queue:{members[-1].queue}_avail", "NOT_INUSE")

    def agent_hangs_up(
        self,
        t: float,
        caller: Channel,
        members: list[Member],
        leg: Leg,
        bridge: Bridge,
        times: tuple[float, float],
    ) -> None:
        """The agent hangs up (``Reason: agent``); the caller's dialplan then hangs up too.

        ``times`` is (wait, connected time including hold).
        """
        self.begin(t)
        wait, talk = times
        self._phone_hangs_up(leg)
        self._complete(caller, members, leg, times, "agent")
        self._var(leg.member, "BRIDGEPEER", "")
        self._var(caller, "BRIDGEPEER", "")
        self._leave(bridge, leg.member)
        if leg.local_two is None:
            self._hangup(leg.phone)
        self._leave(bridge, caller)
        self._bridge_event("BridgeDestroy", bridge)
        self._vars(caller, (("ANSWEREDTIME", talk), ("DIALEDTIME", wait + talk)))
        self._next_exten(caller, "Hangup", "")
        self._hangup_request(caller, soft=True)
        self._hangup(caller)
        if leg.local_two is not None:
            self._hangup(leg.member)
        self._after_call(members, leg)

    def caller_hangs_up_connected(
        self,
        t: float,
        caller: Channel,
        members: list[Member],
        leg: Leg,
        bridge: Bridge,
        times: tuple[float, float],
    ) -> None:
        """The caller hangs up while connected to the agent (``Reason: caller``)."""
        self.begin(t)
        wait, talk = times
        self._hangup_request(caller)
        self._complete(caller, members, leg, times, "caller")
        self._var(caller, "BRIDGEPEER", "")
        self._var(leg.member, "BRIDGEPEER", "")
        self._leave(bridge, caller)
        self._vars(caller, (("ANSWEREDTIME", talk), ("DIALEDTIME", wait + talk)))
        self._hangup_request(caller, soft=True)
        self._hangup(caller)
        self._leave(bridge, leg.member)
        self._bridge_event("BridgeDestroy", bridge)
        self._leg_hangs_up(leg)
        self._after_call(members, leg)

    def blind_transfer(
        self,
        t: float,
        caller: Channel,
        members: list[Member],
        leg: Leg,
        bridge: Bridge,
        target: tuple[str, str],
        times: tuple[float, float],
    ) -> None:
        """The agent blind-transfers the caller to ``target`` (context, extension).

        The transferer is the channel in app_queue's bridge: a phone member's phone (a
        SIP REFER), or a Local member's ``;1`` half (an operator panel's BlindTransfer
        action, as in the recordings).
        """
        self.begin(t)
        context, exten = target
        transferer = leg.member
        wait, _ = times
        self._channel("Unhold", transferer)
        self._var(caller, "BLINDTRANSFER", transferer.name)
        self._var(transferer, "BLINDTRANSFER", caller.name)
        self._var(transferer, "BRIDGEPEER", "")
        self._emit(
            "BlindTransfer",
            _CALL,
            f"Result: Success\r\n{transferer.block('Transferer')}\r\n"
            f"{caller.block('Transferee')}\r\n{bridge.block()}\r\nIsExternal: Yes\r\n"
            f"Context: {context}\r\nExtension: {exten}",
        )
        self._var(caller, "BRIDGEPEER", "")
        caller.changed(place=(context, exten, 1))
        self._exten(caller, "Queue", "")
        self._complete(caller, members, leg, times, "transfer")
        self._leave(bridge, caller, transferer)
        self._bridge_event("BridgeDestroy", bridge)
        self._vars(caller, (("DIALEDTIME", wait), ("ANSWEREDTIME", 0.0)))
        self._leg_hangs_up(leg)
        self._after_call(members, leg)

    def transferred_caller_arrives(self, t: float, caller: Channel, app: str, data: str) -> None:
        """A blind-transferred caller runs the target extension's first application."""
        self.begin(t)
        self._exten(caller, app, data)

    def consult(self, t: float, leg: Leg, target: str) -> Consult:
        """With the caller on hold, the agent's phone calls ``target``, which rings."""
        self.begin(t)
        uid = self.ids.uniqueid(t)
        login = leg.phone.cid_num
        transferer = Channel(
            f"{leg.device}-{self.ids.suffix('PJSIP')}",
            uid,
            uid,
            context=PHONE_CONTEXT,
            exten=target,
            state=RING,
            cid=(login, UNKNOWN),
        )
        self._channel("Newchannel", transferer)
        self._exten(transferer, "Dial", f"PJSIP/{target},,tT")
        callee = Channel(
            f"PJSIP/{target}-{self.ids.suffix('PJSIP')}",
            self.ids.uniqueid(t),
            uid,
            context=PHONE_CONTEXT,
            exten=target,
            cid=(target, UNKNOWN),
            connected=(login, UNKNOWN),
        )
        self._channel("Newchannel", callee)
        self._pair("DialBegin", transferer, callee, f"\r\nDialString: {target}")
        self._state(callee, RINGING)
        self._device(f"PJSIP/{target}", "RINGING")
        return Consult(transferer, callee)

    def consult_answered(self, t: float, consult: Consult) -> None:
        """The transfer target answers the agent's consultation call."""
        self.begin(t)
        self._state(consult.target, UP)
        self._dial_end(consult.transferer, consult.target, "ANSWER")
        self._state(consult.transferer, UP)
        self._device(f"PJSIP/{consult.target.exten}", "INUSE")
        consult.bridge = self._bridge(consult.target, consult.transferer)

    def attended_transfer(
        self,
        t: float,
        caller: Channel,
        members: list[Member],
        leg: Leg,
        bridge: Bridge,
        consult: Consult,
        times: tuple[float, float],
    ) -> None:
        """The agent completes the attended transfer: the caller is joined to the target."""
        self.begin(t)
        phone = leg.phone
        second = consult.bridge if consult.bridge is not None else self.ids.bridge()
        self._var(caller, "ATTENDEDTRANSFER", phone.name)
        self._emit(
            "AttendedTransfer",
            _CALL,
            f"Result: Success\r\n{phone.block('OrigTransferer')}\r\n{bridge.block('Orig')}\r\n"
            f"{consult.transferer.block('SecondTransferer')}\r\n{second.block('Second')}\r\n"
            f"{caller.block('Transferee')}\r\n{consult.target.block('TransferTarget')}\r\n"
            f"IsExternal: Yes\r\nDestType: Bridge\r\nDestBridgeUniqueid: {bridge.uniqueid}",
        )
        self._complete(caller, members, leg, times, "transfer")
        self._leave(bridge, phone)
        self._leave(second, consult.transferer, consult.target)
        self._bridge_event("BridgeDestroy", second)
        self._enter(bridge, consult.target)
        caller.changed(connected=(consult.target.cid_num, UNKNOWN))
        self._channel("NewConnectedLine", caller)
        self._var(caller, "BRIDGEPEER", consult.target.name)
        self._hangup(consult.transferer)
        self._hangup(phone)
        self._after_call(members, leg)

    # -- members ---------------------------------------------------------------------

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
