"""AMI frame text to normalized events.

A frame is the text of one AMI message without its terminating blank line. Most of an
unfiltered stream (VarSet, Newexten, DeviceStateChange, ...) is of no use to the tracker,
so the parser reads the ``Event:`` line first and drops those frames before splitting
anything else. A frame that lacks a field the tracker needs is skipped and counted; the
parser never raises on input.

Each event's time is on the PBX's clock (:mod:`collector.clock`): its ``Timestamp``, or,
for a frame without one or with an implausible one, the PBX time of its arrival. An
implausible stamp is an anomaly, which :meth:`FrameParser.anomalies` hands over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import overload

from collector.clock import PbxClock
from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    DialEnd,
    DialStart,
    Event,
    Hangup,
    HangupKind,
    HoldChange,
    MemberChange,
    MemberUpdate,
    PbxBooted,
    PbxShutdown,
    QueueApp,
    QueueEntry,
    QueueParams,
    QueueStatusVar,
    SnapshotEnd,
    Transfer,
)
from collector.facts import Anomaly


@dataclass(slots=True)
class ParseStats:
    """Counters of what the parser did with the frames it saw."""

    events: int = 0
    ignored: int = 0
    malformed: int = 0
    bad_stamps: int = 0
    """Events whose Timestamp was implausible (they got the PBX time of their arrival)."""

    @property
    def frames(self) -> int:
        """Every frame seen: made into an event, ignored, or malformed."""
        return self.events + self.ignored + self.malformed


class Fields:
    """A frame's headers, each found when a builder asks for it.

    A builder reads a handful of a frame's twenty to forty headers, so finding those few
    costs less than splitting every line into a dict. A repeated header gives its first
    value, as :func:`split_fields` does.
    """

    __slots__ = ("_text",)

    def __init__(self, frame: str) -> None:
        self._text = "\n" + frame

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str) -> str: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of header ``key``, or ``default`` when the frame lacks it."""
        text = self._text
        needle = f"\n{key}:"
        start = text.find(needle)
        if start < 0:
            return default
        start += len(needle)
        end = text.find("\n", start)
        value = text[start:] if end < 0 else text[start:end]
        if value.endswith("\r"):
            value = value[:-1]
        return value[1:] if value.startswith(" ") else value

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("1", "yes", "true")


def _caller_join(f: Fields, at: float) -> Event:
    return CallerJoin(
        at=at,
        queue=f["Queue"],
        uniqueid=f["Uniqueid"],
        linkedid=f.get("Linkedid", f["Uniqueid"]),
        caller_num=f.get("CallerIDNum", ""),
        caller_name=f.get("CallerIDName", ""),
        position=_int(f.get("Position")),
    )


def _caller_leave(f: Fields, at: float) -> Event:
    return CallerLeave(
        at=at, queue=f["Queue"], uniqueid=f["Uniqueid"], position=_int(f.get("Position"))
    )


def _caller_abandon(f: Fields, at: float) -> Event:
    return CallerAbandon(
        at=at, queue=f["Queue"], uniqueid=f["Uniqueid"], position=_int(f.get("Position"))
    )


def _member_name(f: Fields) -> str:
    return f.get("MemberName") or f.get("Name") or f["Interface"]


def _member_channel(kind: type[AgentCalled | AgentConnect]) -> Callable[[Fields, float], Event]:
    """An event naming the member's channel too (``DestUniqueid``): a ring, an answer."""

    def build(f: Fields, at: float) -> Event:
        return kind(
            at=at,
            queue=f["Queue"],
            uniqueid=f["Uniqueid"],
            interface=f["Interface"],
            member_name=_member_name(f),
            dest_uniqueid=f.get("DestUniqueid", ""),
        )

    return build


def _ring_ended(kind: type[AgentRingNoAnswer | AgentDump]) -> Callable[[Fields, float], Event]:
    def build(f: Fields, at: float) -> Event:
        return kind(
            at=at,
            queue=f["Queue"],
            uniqueid=f["Uniqueid"],
            interface=f["Interface"],
            member_name=_member_name(f),
        )

    return build


def _agent_complete(f: Fields, at: float) -> Event:
    # the caller's fields are missing when its channel was gone first (Asterisk 20)
    return AgentComplete(
        at=at,
        queue=f["Queue"],
        uniqueid=f.get("Uniqueid", ""),
        interface=f["Interface"],
        member_name=_member_name(f),
        reason=f.get("Reason", ""),
        wait_reported=_int(f.get("HoldTime")),
        talk_reported=_int(f.get("TalkTime")),
        dest_uniqueid=f.get("DestUniqueid", ""),
    )


def _member(change: MemberChange) -> Callable[[Fields, float], Event]:
    def build(f: Fields, at: float) -> Event:
        interface = f.get("Interface") or f["Location"]
        return MemberUpdate(
            at=at,
            change=change,
            queue=f["Queue"],
            interface=interface,
            member_name=f.get("MemberName") or f.get("Name") or interface,
            paused=_flag(f.get("Paused")),
            reason=f.get("PausedReason", f.get("Reason", "")),
            in_call=_flag(f.get("InCall")),
            wrapuptime=_float(f.get("Wrapuptime")),
            status=_int(f.get("Status")),
        )

    return build


def _queue_params(f: Fields, at: float) -> Event:
    return QueueParams(
        at=at,
        queue=f["Queue"],
        strategy=f.get("Strategy", ""),
        service_level=_int(f.get("ServiceLevel")),
    )


def _queue_entry(f: Fields, at: float) -> Event:
    return QueueEntry(
        at=at,
        queue=f["Queue"],
        uniqueid=f["Uniqueid"],
        linkedid=f.get("Linkedid", f["Uniqueid"]),
        caller_num=f.get("CallerIDNum", ""),
        caller_name=f.get("CallerIDName", ""),
        wait=_int(f.get("Wait")),
    )


def _hold(on_hold: bool) -> Callable[[Fields, float], Event]:
    def build(f: Fields, at: float) -> Event:
        return HoldChange(
            at=at,
            uniqueid=f["Uniqueid"],
            linkedid=f.get("Linkedid", f["Uniqueid"]),
            on_hold=on_hold,
        )

    return build


def _blind_transfer(f: Fields, at: float) -> Event:
    return Transfer(
        at=at,
        success=f.get("Result", "Success") == "Success",
        transferer_uniqueid=f.get("TransfererUniqueid", ""),
        transferer_linkedid=f.get("TransfererLinkedid", ""),
        transferee_uniqueid=f["TransfereeUniqueid"],
        target=f.get("Extension", ""),
    )


def _attended_transfer(f: Fields, at: float) -> Event:
    # the extension the consultation call dialled: a phone's REFER leaves it on the second
    # transferer's channel; an AMI Atxfer on the target's (Local/800@...), and the second
    # transferer's is then the queue's extension
    target = (
        f.get("TransferTargetExten")
        or f.get("SecondTransfererExten")
        or f.get("DestApp")
        or f.get("DestType", "")
    )
    return Transfer(
        at=at,
        success=f.get("Result", "Success") == "Success",
        transferer_uniqueid=f.get("OrigTransfererUniqueid", ""),
        transferer_linkedid=f.get("OrigTransfererLinkedid", ""),
        transferee_uniqueid=f.get("TransfereeUniqueid", ""),
        target=target,
        attended=True,
        party=f.get("TransferTargetCallerIDNum", ""),
    )


def _hangup(kind: HangupKind) -> Callable[[Fields, float], Event]:
    def build(f: Fields, at: float) -> Event:
        return Hangup(at=at, uniqueid=f["Uniqueid"], kind=kind, cause=_int(f.get("Cause")))

    return build


def _queue_app(f: Fields, at: float) -> Event:
    return QueueApp(
        at=at,
        queue=f["AppData"].split(",", 1)[0].strip(),
        uniqueid=f["Uniqueid"],
        linkedid=f.get("Linkedid", f["Uniqueid"]),
        caller_num=f.get("CallerIDNum", ""),
        caller_name=f.get("CallerIDName", ""),
    )


def _var_set(f: Fields, at: float) -> Event:
    return QueueStatusVar(at=at, uniqueid=f["Uniqueid"], value=f["Value"])


def _dialled(f: Fields) -> str:
    """The number a dial string names: ``SIP/trunk/+4930123`` and ``PJSIP/+4930123@trunk``
    give ``+4930123``, ``Local/800@ctx/n`` gives ``800``; without a digit in it, the
    destination's extension."""
    parts = [part.split("@")[0] for part in f.get("DialString", "").split("/")]
    named = [part for part in parts if any(ch.isdigit() for ch in part)]
    return named[-1] if named else f.get("DestExten", "")


def _dial_begin(f: Fields, at: float) -> Event:
    return DialStart(at=at, uniqueid=f.get("Uniqueid", ""), linkedid=f.get("Linkedid", ""),
                     caller_num=f.get("CallerIDNum", ""), dest_uniqueid=f["DestUniqueid"],
                     dest_channel=f.get("DestChannel", ""), dialled=_dialled(f))


def _dial_end(f: Fields, at: float) -> Event:
    return DialEnd(at=at, uniqueid=f.get("Uniqueid", ""), dest_uniqueid=f["DestUniqueid"],
                   status=f.get("DialStatus", ""))


def _fully_booted(f: Fields, at: float) -> Event:
    return PbxBooted(at=at, uptime=_float(f.get("Uptime")))


def _shutdown(f: Fields, at: float) -> Event:
    return PbxShutdown(at=at)


def _snapshot_end(f: Fields, at: float) -> Event:
    return SnapshotEnd(at=at)


_BUILDERS: dict[str, Callable[[Fields, float], Event]] = {
    "QueueCallerJoin": _caller_join,
    "QueueCallerLeave": _caller_leave,
    "QueueCallerAbandon": _caller_abandon,
    "AgentCalled": _member_channel(AgentCalled),
    "AgentRingNoAnswer": _ring_ended(AgentRingNoAnswer),
    "AgentDump": _ring_ended(AgentDump),
    "AgentConnect": _member_channel(AgentConnect),
    "AgentComplete": _agent_complete,
    "QueueMemberAdded": _member(MemberChange.ADDED),
    "QueueMemberRemoved": _member(MemberChange.REMOVED),
    "QueueMemberPause": _member(MemberChange.PAUSE),
    "QueueMemberPaused": _member(MemberChange.PAUSE),
    "QueueMemberStatus": _member(MemberChange.STATUS),
    "QueueMemberPenalty": _member(MemberChange.PENALTY),
    "QueueMemberRinginuse": _member(MemberChange.RINGINUSE),
    "QueueMember": _member(MemberChange.SNAPSHOT),
    "QueueParams": _queue_params,
    "QueueEntry": _queue_entry,
    "QueueStatusComplete": _snapshot_end,
    "Hold": _hold(True),
    "Unhold": _hold(False),
    "BlindTransfer": _blind_transfer,
    "AttendedTransfer": _attended_transfer,
    "Hangup": _hangup(HangupKind.HANGUP),
    "HangupRequest": _hangup(HangupKind.REQUEST),
    "SoftHangupRequest": _hangup(HangupKind.SOFT_REQUEST),
    "VarSet": _var_set,
    "DialBegin": _dial_begin,
    "DialEnd": _dial_end,
    "Newexten": _queue_app,
    "FullyBooted": _fully_booted,
    "Shutdown": _shutdown,
}

_QUEUE_APP = "\nApplication: Queue"


def _runs_queue(frame: str) -> bool:
    start = frame.find(_QUEUE_APP)
    end = start + len(_QUEUE_APP)
    return start >= 0 and frame[end : end + 1] in ("\r", "\n", "")


def _runs_queue_bytes(frame: bytes) -> bool:
    start = frame.find(_QUEUE_APP.encode())
    end = start + len(_QUEUE_APP)
    return start >= 0 and frame[end : end + 1] in (b"\r", b"\n", b"")


_WANTED_IF: dict[Callable[[Fields, float], Event], Callable[[str], bool]] = {
    _var_set: lambda frame: "Variable: QUEUESTATUS" in frame,
    _queue_app: _runs_queue,
}
"""Frequent events the tracker wants only a few of: those this test picks."""

RELEVANT_EVENTS = frozenset(_BUILDERS)
"""AMI event names the tracker uses; an event filter on the PBX may keep just these."""

_RELEVANT_NAMES = frozenset(name.encode() for name in _BUILDERS)


def wanted_frame(frame: bytes) -> bool:
    """Whether an event frame, still as bytes, may make an event: its ``Event:`` name is
    one the tracker uses (for a VarSet, its variable is QUEUESTATUS; for a Newexten, its
    application is Queue). Deciding on the bytes spares the frames the tracker ignores
    their decoding."""
    end = frame.find(b"\n")
    name = (frame[7:] if end < 0 else frame[7:end]).rstrip(b"\r")
    if name == b"VarSet":
        return b"Variable: QUEUESTATUS" in frame
    if name == b"Newexten":
        return _runs_queue_bytes(frame)
    return name in _RELEVANT_NAMES


# keyed by the first line's value as it is cut from the frame, with the "\r" of a CRLF
# line end or without, so that the frames the tracker ignores (most of them) cost one
# slice and one lookup
_BY_NAME_LINE = {**_BUILDERS, **{f"{name}\r": build for name, build in _BUILDERS.items()}}


def event_name(frame: str) -> str | None:
    """The ``Event:`` value of a frame, or ``None`` for responses and banners."""
    if not frame.startswith("Event: "):
        return None
    end = frame.find("\n", 7)
    name = frame[7:] if end < 0 else frame[7:end]
    return name.rstrip("\r")


def split_fields(frame: str) -> dict[str, str]:
    """Split a frame into its headers; a repeated header keeps its first value."""
    fields: dict[str, str] = {}
    for line in frame.split("\r\n" if "\r\n" in frame else "\n"):
        key, sep, value = line.partition(":")
        if sep and key not in fields:
            fields[key] = value[1:] if value.startswith(" ") else value
    return fields


class FrameParser:
    """Turns AMI frames into events and counts what it skipped.

    Between frames it keeps its counters and the PBX clock's estimate, so the same
    instance serves a live connection (across reconnections), and a replayed trace.
    """

    def __init__(self, clock: PbxClock | None = None) -> None:
        self.stats = ParseStats()
        self.clock = clock or PbxClock()
        self._anomalies: list[Anomaly] = []

    def anomalies(self) -> list[Anomaly]:
        """The anomalies of the frames parsed since the last call (implausible stamps)."""
        taken, self._anomalies = self._anomalies, []
        return taken

    def parse(self, frame: str, received_at: float) -> Event | None:
        """The normalized event of one frame, or ``None`` when the tracker has no use for it."""
        builder = None
        if frame.startswith("Event: "):
            end = frame.find("\n", 7)
            builder = _BY_NAME_LINE.get(frame[7:] if end < 0 else frame[7:end])
        if builder is None or (builder in _WANTED_IF and not _WANTED_IF[builder](frame)):
            self.stats.ignored += 1
            return None
        fields = Fields(frame)
        dated = self.clock.date(_float(fields.get("Timestamp")), received_at)
        try:
            event = builder(fields, dated.at)
        except KeyError:
            self.stats.malformed += 1
            return None
        self.stats.events += 1
        if dated.problem is not None:
            self.stats.bad_stamps += 1
            self._anomalies.append(Anomaly(dated.at, "implausible_timestamp",
                                           fields.get("Uniqueid"),
                                           f"{event_name(frame)}: {dated.problem}"))
        return event
