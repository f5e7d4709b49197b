"""The frames of a connected queue call: hold, hang-ups, blind and attended transfers.

Hold/Unhold come from the agent's phone channel, whose Linkedid is the caller's;
BlindTransfer and AttendedTransfer come before ``AgentComplete`` with ``Reason: transfer``.
"""

from __future__ import annotations

from dataclasses import dataclass

from queuepulse.pbxsim.ami_objects import (
    NOT_INUSE,
    RING,
    RINGING,
    UNKNOWN,
    UP,
    Bridge,
    Channel,
    Member,
)
from queuepulse.pbxsim.frames.base import AGENT, CALL, PHONE_CONTEXT, FrameWriter, Leg

_AGENT_GONE_SHARE = 0.06
"""How often AgentComplete lacks the Dest* headers (the agent's channel was already gone)."""


@dataclass(slots=True)
class Consult:
    """An agent's consultation call to a transfer target, while the caller is on hold."""

    transferer: Channel
    target: Channel
    bridge: Bridge | None = None


class CallFrames(FrameWriter):
    """The happenings of a caller connected to an agent, until the call ends."""

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
            self._channel("AgentComplete", caller, tail, AGENT)
        else:
            self._pair("AgentComplete", caller, leg.member, tail, AGENT)

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
            CALL,
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

    def call_out(self, t: float, device: str, login: str, trunk: str, number: str) -> Consult:
        """The agent's phone dials ``number`` through the trunk (calling a customer back);
        the far end rings."""
        self.begin(t)
        uid = self.ids.uniqueid(t)
        phone = Channel(f"{device}-{self.ids.suffix('PJSIP')}", uid, uid,
                        context=PHONE_CONTEXT, exten=number, state=RING, cid=(login, UNKNOWN))
        self._channel("Newchannel", phone)
        self._exten(phone, "Dial", f"PJSIP/{number}@{trunk},,tT")
        far = Channel(f"PJSIP/{trunk}-{self.ids.suffix('PJSIP')}", self.ids.uniqueid(t), uid,
                      context=PHONE_CONTEXT, exten=number, cid=(number, UNKNOWN),
                      connected=(login, UNKNOWN))
        self._channel("Newchannel", far)
        self._pair("DialBegin", phone, far, f"\r\nDialString: {number}@{trunk}")
        self._state(far, RINGING)
        return Consult(phone, far)

    def call_out_answered(self, t: float, call: Consult) -> None:
        """The customer answers the agent's call back."""
        self.begin(t)
        self._state(call.target, UP)
        self._dial_end(call.transferer, call.target, "ANSWER")
        self._state(call.transferer, UP)
        call.bridge = self._bridge(call.transferer, call.target)

    def call_out_ended(self, t: float, call: Consult) -> None:
        """The agent's call back ends: hung up after talking, or given up unanswered."""
        self.begin(t)
        if call.bridge is None:
            self._dial_end(call.transferer, call.target, "NOANSWER")
        else:
            self._leave(call.bridge, call.transferer, call.target)
            self._bridge_event("BridgeDestroy", call.bridge)
        self._hangup(call.target)
        self._hangup(call.transferer)

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
            CALL,
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
