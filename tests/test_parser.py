"""Frames to events: the fields the tracker needs, the time it should use, nothing raised."""

from __future__ import annotations

from collector.events import (
    AgentComplete,
    AgentConnect,
    Hangup,
    HangupKind,
    HoldChange,
    MemberChange,
    MemberUpdate,
    QueueApp,
    QueueStatusVar,
    Transfer,
)
from collector.parser import FrameParser, event_name, split_fields

CONNECT = (
    "Event: AgentConnect\r\nPrivilege: agent,all\r\nTimestamp: 1795484832.296239\r\n"
    "Channel: Local/5551009@callers-00000000;2\r\nCallerIDName: דוד כהן\r\n"
    "Uniqueid: 1795484830.1\r\nLinkedid: 1795484830.0\r\nDestUniqueid: 1795484831.2\r\n"
    "Queue: support\r\nInterface: Local/agent1@agents/n\r\nMemberName: Agent One\r\n"
    "HoldTime: 1\r\nRingTime: 1"
)


def test_timestamp_header_wins_over_receive_time() -> None:
    event = FrameParser().parse(CONNECT, received_at=1795484999.0)
    assert isinstance(event, AgentConnect)
    assert event.at == 1795484832.296239
    assert event.dest_uniqueid == "1795484831.2" and event.member_name == "Agent One"


def test_receive_time_is_used_when_asterisk_sends_no_timestamp() -> None:
    frame = CONNECT.replace("Timestamp: 1795484832.296239\r\n", "")
    event = FrameParser().parse(frame, received_at=42.5)
    assert event is not None and event.at == 42.5


def test_irrelevant_events_are_dropped_by_name_and_counted() -> None:
    parser = FrameParser()
    assert parser.parse("Event: Newexten\r\nChannel: x", 1.0) is None
    assert parser.parse("Event: VarSet\r\nVariable: BRIDGEPEER\r\nValue: x", 1.0) is None
    assert parser.parse("Response: Success\r\nActionID: 1", 1.0) is None
    assert parser.stats.ignored == 3 and parser.stats.malformed == 0


def test_queuestatus_varset_is_kept() -> None:
    event = FrameParser().parse(
        "Event: VarSet\r\nUniqueid: u1\r\nVariable: QUEUESTATUS\r\nValue: TIMEOUT", 1.0
    )
    assert event == QueueStatusVar(at=1.0, uniqueid="u1", value="TIMEOUT")


def test_event_missing_a_required_field_is_skipped_and_counted() -> None:
    parser = FrameParser()
    assert parser.parse("Event: AgentConnect\r\nQueue: support", 1.0) is None
    assert parser.stats.malformed == 1


def test_pause_reason_and_interface_are_read_from_queue_member_pause() -> None:
    frame = ("Event: QueueMemberPause\r\nQueue: sales\r\nMemberName: Agent Three\r\n"
             "Interface: Local/agent3@agents/n\r\nPaused: 1\r\nPausedReason: ACW\r\nInCall: 0")
    event = FrameParser().parse(frame, 5.0)
    assert isinstance(event, MemberUpdate)
    assert (event.change, event.paused, event.reason, event.in_call) == (
        MemberChange.PAUSE, True, "ACW", False)


def test_hold_carries_channel_and_linkedid() -> None:
    frame = "Event: Hold\nUniqueid: 9.5\nLinkedid: 9.3\nChannel: SIP/sipagent6-00000001"
    assert FrameParser().parse(frame, 3.0) == HoldChange(3.0, "9.5", "9.3", True)


def test_values_containing_colons_are_kept_whole() -> None:
    assert split_fields("Event: X\r\nEventTV: 2026-11-24T01:47:08.613+0000")["EventTV"] == (
        "2026-11-24T01:47:08.613+0000")
    assert event_name("Event: Hold\nUniqueid: 1") == "Hold"


def test_agent_complete_without_the_callers_channel_is_known_by_its_member() -> None:
    # Asterisk 20, when the caller's channel was gone first (lab-reconnect, at the restart)
    frame = ("Event: AgentComplete\r\nTimestamp: 1796382476.790880\r\nQueue: basic\r\n"
             "Interface: SIP/1003\r\nMemberName: Chloé Dubois\r\n"
             "DestUniqueid: 1796382472.15\r\nDestChannel: SIP/1003-0000000f\r\n"
             "Reason: agent\r\nHoldTime: 60\r\nTalkTime: 3")
    event = FrameParser().parse(frame, 1.0)
    assert isinstance(event, AgentComplete)
    assert (event.uniqueid, event.dest_uniqueid, event.interface) == (
        "", "1796382472.15", "SIP/1003")


def test_hang_ups_say_which_event_asked_and_why() -> None:
    parser = FrameParser()
    asked = parser.parse("Event: HangupRequest\r\nUniqueid: u1", 1.0)
    shutdown = parser.parse("Event: SoftHangupRequest\r\nUniqueid: u1\r\nCause: 4", 1.0)
    gone = parser.parse("Event: Hangup\r\nUniqueid: u1\r\nCause: 16", 1.0)
    assert asked == Hangup(1.0, "u1", HangupKind.REQUEST, None)
    assert shutdown == Hangup(1.0, "u1", HangupKind.SOFT_REQUEST, 4)
    assert gone == Hangup(1.0, "u1", HangupKind.HANGUP, 16)


def test_an_atxfer_is_attended_to_the_extension_dialled_not_the_queue() -> None:
    # AMI Atxfer: the second transferer's extension is the queue's; the target's is dialled
    frame = ("Event: AttendedTransfer\r\nResult: Success\r\n"
             "OrigTransfererUniqueid: 1796382175.14\r\nOrigTransfererLinkedid: 1796382174.13\r\n"
             "SecondTransfererExten: frontdesk\r\nTransfereeUniqueid: 1796382174.13\r\n"
             "TransferTargetCallerIDNum: 1012\r\nTransferTargetExten: 800\r\nDestType: Bridge")
    event = FrameParser().parse(frame, 1.0)
    assert isinstance(event, Transfer)
    assert (event.attended, event.target, event.party) == (True, "800", "1012")


def test_only_the_dialplan_steps_that_run_queue_are_read() -> None:
    parser = FrameParser()
    step = ("Event: Newexten\r\nUniqueid: u1\r\nLinkedid: u1\r\nCallerIDNum: +15550000011\r\n"
            "Application: {app}\r\nAppData: closed,t,,,60")
    assert parser.parse(step.format(app="Queue"), 1.0) == QueueApp(
        1.0, "closed", "u1", "u1", "+15550000011", "")
    assert parser.parse(step.format(app="QueueLog"), 1.0) is None
    assert parser.parse(step.format(app="Playback"), 1.0) is None
