"""What every family of frames is written with: timestamps, header blocks and small steps.

`FrameWriter` keeps the frames written so far and the time of the last one; its
primitives write the events that many happenings share (a variable set, a device state,
a bridge entered or left, a channel hung up, a ringing leg ended). The families of
happenings build on it: `queuepulse.pbxsim.frames.callers`, `.members` and `.calls`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from queuepulse.pbxsim.ami_objects import Bridge, Channel, Ids, Member

CALL, AGENT, DIALPLAN = "call,all", "agent,all", "dialplan,all"
"""The privileges the events are sent under."""

_STEPS = (0.000004, 0.000006, 0.000003, 0.000009, 0.000005, 0.000007, 0.000004, 0.000011)
_CAUSES = {16: "Normal Clearing", 26: "Answered elsewhere", 0: "Unknown"}

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


class FrameWriter:
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

    def _channel(self, name: str, ch: Channel, tail: str = "", privilege: str = CALL) -> None:
        self._emit(name, privilege, ch.block() + tail)

    def _pair(
        self, name: str, ch: Channel, dest: Channel, tail: str, privilege: str = CALL
    ) -> None:
        self._emit(name, privilege, f"{ch.block()}\r\n{dest.block('Dest')}{tail}")

    def _var(self, ch: Channel, variable: str, value: str) -> None:
        self._emit("VarSet", DIALPLAN, f"{ch.block()}\r\nVariable: {variable}\r\nValue: {value}")

    def _vars(self, ch: Channel, values: tuple[tuple[str, float], ...]) -> None:
        """Duration variables (QUEUEWAIT, DIALEDTIME, ...) in seconds and in ms."""
        for name, seconds in values:
            self._var(ch, name, str(int(seconds)))
            self._var(ch, f"{name}_MS", str(int(seconds * 1000)))

    def _exten(self, ch: Channel, app: str, data: str) -> None:
        self._emit(
            "Newexten",
            DIALPLAN,
            f"{ch.block()}\r\nExtension: {ch.exten}\r\nApplication: {app}\r\nAppData: {data}",
        )

    def _next_exten(self, ch: Channel, app: str, data: str) -> None:
        ch.next_priority()
        self._exten(ch, app, data)

    def _state(self, ch: Channel, state: int) -> None:
        ch.changed(state=state)
        self._channel("Newstate", ch)

    def _device(self, device: str, state: str) -> None:
        self._emit("DeviceStateChange", CALL, f"Device: {device}\r\nState: {state}")

    def _member(self, name: str, member: Member) -> None:
        self._emit(name, AGENT, member.block())

    def _dial_end(self, ch: Channel, dest: Channel, status: str) -> None:
        self._pair("DialEnd", ch, dest, f"\r\nDialStatus: {status}")

    def _hangup(self, ch: Channel, cause: int = 16) -> None:
        self._channel("Hangup", ch, f"\r\nCause: {cause}\r\nCause-txt: {_CAUSES[cause]}")

    def _hangup_request(self, ch: Channel, cause: int = 16, soft: bool = False) -> None:
        self._channel("SoftHangupRequest" if soft else "HangupRequest", ch, f"\r\nCause: {cause}")

    def _bridge_event(self, name: str, bridge: Bridge, ch: Channel | None = None) -> None:
        self._emit(
            name, CALL, bridge.block() if ch is None else f"{bridge.block()}\r\n{ch.block()}"
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

    # -- a ringing leg ends: the caller left, or the member did not answer -------------

    def _no_answer(self, t: float, caller: Channel, member: Member, leg: Leg) -> None:
        ring_ms = round((t - leg.rang_at) * 1000)
        self._pair(
            "AgentRingNoAnswer",
            caller,
            leg.member,
            f"{self._member_tail(member)}\r\nRingTime: {ring_ms}",
            AGENT,
        )
        self._dial_end(caller, leg.member, "NOANSWER")
        self._cancel(caller, member, leg, cause=0)

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
