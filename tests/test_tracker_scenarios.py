"""One call per scenario, as real Asterisk 20 frames pasted from the recordings.

Each table is the frames of one caller (and of its agent, where they matter) cut down to
the headers the tracker reads, fed through the real parser and tracker.
"""
# ruff: noqa: E501 -- a table row is one pasted frame; cutting it would hide its headers

from __future__ import annotations

import pytest

from collector.facts import AcwSource, AgentInterval, AgentState, CallRecord, EndReason, Outcome
from tests.frame_tables import not_in_recording, replay_table
from tests.scenarios import calls, intervals

ANSWERED = """
Event             | Timestamp         | Uniqueid     | Linkedid     | Queue | Interface | more
QueueCallerJoin   | 1796381521.885359 | 1796381521.0 | 1796381521.0 | basic |           | CallerIDNum: +15550000001; Position: 1
AgentCalled       | 1796381521.887865 | 1796381521.0 | 1796381521.0 | basic | SIP/1001  | MemberName: Alice Martin
QueueMemberStatus | 1796381521.887893 |              |              | basic | SIP/1001  | MemberName: Alice Martin; Paused: 0; InCall: 0
QueueCallerLeave  | 1796381524.811956 | 1796381521.0 | 1796381521.0 | basic |           | Position: 1
AgentConnect      | 1796381524.811989 | 1796381521.0 | 1796381521.0 | basic | SIP/1001  | MemberName: Alice Martin; DestUniqueid: 1796381521.1
AgentComplete     | 1796381530.812529 | 1796381521.0 | 1796381521.0 | basic | SIP/1001  | MemberName: Alice Martin; Reason: agent; HoldTime: 3; TalkTime: 6
SoftHangupRequest | 1796381530.814233 | 1796381521.0 |              |       |           |
Hangup            | 1796381530.814929 | 1796381521.0 |              |       |           |
QueueMemberStatus | 1796381536.885786 |              |              | basic | SIP/1001  | MemberName: Alice Martin; Paused: 0; InCall: 0
"""

ABANDONED = """
Event              | Timestamp         | Uniqueid     | Linkedid     | Queue   | Interface | more
QueueCallerJoin    | 1796381645.900689 | 1796381645.2 | 1796381645.2 | hotline |           | CallerIDNum: +15550000002; Position: 1
HangupRequest      | 1796381647.400765 | 1796381645.2 |              |         |           |
QueueCallerAbandon | 1796381647.401594 | 1796381645.2 |              | hotline |           | Position: 1
QueueCallerLeave   | 1796381647.401876 | 1796381645.2 |              | hotline |           | Position: 1
SoftHangupRequest  | 1796381647.402296 | 1796381645.2 |              |         |           |
Hangup             | 1796381647.402346 | 1796381645.2 |              |         |           |
"""

TIMEOUT = """
Event              | Timestamp         | Uniqueid     | Linkedid     | Queue   | Interface | more
QueueCallerJoin    | 1796381649.899666 | 1796381649.4 | 1796381649.4 | hotline |           | CallerIDNum: +15550000004; Position: 2
QueueCallerAbandon | 1796381679.927029 | 1796381649.4 |              | hotline |           | Position: 1
QueueCallerLeave   | 1796381679.927082 | 1796381649.4 |              | hotline |           | Position: 1
VarSet             | 1796381679.927094 | 1796381649.4 |              |         |           | Variable: QUEUESTATUS; Value: TIMEOUT
SoftHangupRequest  | 1796381679.927110 | 1796381649.4 |              |         |           |
Hangup             | 1796381679.927158 | 1796381649.4 |              |         |           |
"""

RING_NO_ANSWER = """
Event             | Timestamp         | Uniqueid      | Linkedid      | Queue   | Interface             | more
QueueCallerJoin   | 1795484843.361941 | 1795484842.15 | 1795484842.14 | support |                       | CallerIDNum: 5551017; Position: 1
QueueMemberStatus | 1795484850.878722 |               |               | support | Local/agent1@agents/n | MemberName: Agent One; Paused: 0; InCall: 0
AgentCalled       | 1795484851.371500 | 1795484842.15 | 1795484842.14 | support | Local/agent1@agents/n | MemberName: Agent One
AgentRingNoAnswer | 1795484863.383534 | 1795484842.15 | 1795484842.14 | support | Local/agent1@agents/n | MemberName: Agent One
AgentCalled       | 1795484864.384370 | 1795484842.15 | 1795484842.14 | support | Local/agent1@agents/n | MemberName: Agent One
QueueCallerLeave  | 1795484865.387034 | 1795484842.15 |               | support |                       | Position: 1
AgentConnect      | 1795484865.387261 | 1795484842.15 | 1795484842.14 | support | Local/agent1@agents/n | MemberName: Agent One; DestUniqueid: 1795484864.44
AgentComplete     | 1795484875.899168 | 1795484842.15 | 1795484842.14 | support | Local/agent1@agents/n | MemberName: Agent One; Reason: agent; HoldTime: 22; TalkTime: 10
Hangup            | 1795484875.899465 | 1795484842.15 |               |         |                       |
QueueMemberStatus | 1795484889.120181 |               |               | support | Local/agent1@agents/n | MemberName: Agent One; Paused: 0; InCall: 0
"""

HOLD_ON_THE_AGENTS_PHONE = """
Event             | Timestamp         | Uniqueid     | Linkedid     | Queue | Interface | more
QueueCallerJoin   | 1796381809.976932 | 1796381809.2 | 1796381809.2 | care  |           | CallerIDNum: +15550000002; Position: 1
AgentCalled       | 1796381809.979719 | 1796381809.2 | 1796381809.2 | care  | SIP/1007  | MemberName: Giulia Rossi
QueueCallerLeave  | 1796381811.481380 | 1796381809.2 |              | care  |           | Position: 1
AgentConnect      | 1796381811.481433 | 1796381809.2 | 1796381809.2 | care  | SIP/1007  | MemberName: Giulia Rossi; DestUniqueid: 1796381809.3
Hold              | 1796381814.480088 | 1796381809.3 | 1796381809.2 |       |           |
Unhold            | 1796381818.482145 | 1796381809.3 | 1796381809.2 |       |           |
Hold              | 1796381821.484857 | 1796381809.3 | 1796381809.2 |       |           |
Unhold            | 1796381826.486662 | 1796381809.3 | 1796381809.2 |       |           |
AgentComplete     | 1796381829.489625 | 1796381809.2 | 1796381809.2 | care  | SIP/1007  | MemberName: Giulia Rossi; Reason: agent; HoldTime: 2; TalkTime: 18
Hangup            | 1796381829.490565 | 1796381809.2 |              |       |           |
QueueMemberStatus | 1796381843.487936 |              |              | care  | SIP/1007  | MemberName: Giulia Rossi; Paused: 0; InCall: 0
"""

BLIND_TRANSFER = """
Event             | Timestamp         | Uniqueid     | Linkedid     | Queue   | Interface             | more
QueueCallerJoin   | 1795484832.661312 | 1795484832.5 | 1795484832.4 | support |                       | CallerIDNum: 5551004; Position: 1
AgentCalled       | 1795484832.661968 | 1795484832.5 | 1795484832.4 | support | Local/agent2@agents/n | MemberName: Agent Two
QueueCallerLeave  | 1795484833.663848 | 1795484832.5 |              | support |                       | Position: 1
AgentConnect      | 1795484833.663960 | 1795484832.5 | 1795484832.4 | support | Local/agent2@agents/n | MemberName: Agent Two; DestUniqueid: 1795484832.6
BlindTransfer     | 1795484844.819756 |              |              |         |                       | Result: Success; TransfererUniqueid: 1795484832.6; TransfererLinkedid: 1795484832.4; TransfereeUniqueid: 1795484832.5; Extension: 700
AgentComplete     | 1795484844.819859 | 1795484832.5 | 1795484832.4 | support | Local/agent2@agents/n | MemberName: Agent Two; Reason: transfer; HoldTime: 1; TalkTime: 11
Hangup            | 1795484849.825436 | 1795484832.5 |              |         |                       |
"""

ACW_PAUSE = """
Event             | Timestamp         | Uniqueid     | Linkedid     | Queue | Interface | more
QueueCallerJoin   | 1796381935.986896 | 1796381935.6 | 1796381935.6 | tech  |           | CallerIDNum: +15550000011; Position: 1
QueueMemberStatus | 1796381935.988260 |              |              | tech  | SIP/1003  | MemberName: Chloé Dubois; Paused: 0; InCall: 0; Status: 6
AgentCalled       | 1796381935.989156 | 1796381935.6 | 1796381935.6 | tech  | SIP/1003  | MemberName: Chloé Dubois
QueueCallerLeave  | 1796381937.489815 | 1796381935.6 |              | tech  |           | Position: 1
AgentConnect      | 1796381937.489845 | 1796381935.6 | 1796381935.6 | tech  | SIP/1003  | MemberName: Chloé Dubois; DestUniqueid: 1796381935.7
AgentComplete     | 1796381945.490193 | 1796381935.6 | 1796381935.6 | tech  | SIP/1003  | MemberName: Chloé Dubois; Reason: agent; HoldTime: 2; TalkTime: 8
QueueMemberPause  | 1796381945.492180 |              |              | tech  | SIP/1003  | MemberName: Chloé Dubois; Paused: 1; PausedReason: ACW; InCall: 0
Hangup            | 1796381945.494375 | 1796381935.6 |              |       |           |
QueueMemberPause  | 1796381954.094582 |              |              | tech  | SIP/1003  | MemberName: Chloé Dubois; Paused: 0; PausedReason: ; InCall: 0
"""

SCENARIOS = {
    "lab-basic": [ANSWERED],
    "lab-abandon": [ABANDONED, TIMEOUT],
    "smoke": [RING_NO_ANSWER, BLIND_TRANSFER],
    "lab-hold": [HOLD_ON_THE_AGENTS_PHONE],
    "lab-acw": [ACW_PAUSE],
}


@pytest.mark.parametrize("recording", SCENARIOS)
def test_every_scenario_frame_is_a_recorded_frame_cut_down(recording: str) -> None:
    for table in SCENARIOS[recording]:
        assert not_in_recording(recording, table) == []


def _the_call(table: str) -> CallRecord:
    (call,) = calls(replay_table(table))
    return call


def _states(table: str, interface: str) -> list[tuple[AgentState, float, float | None]]:
    spans: list[AgentInterval] = intervals(replay_table(table))
    return [(i.state, i.started_at, i.ended_at) for i in spans if i.interface == interface]


def test_an_answered_call_is_timed_from_join_to_answer_to_completion() -> None:
    call = _the_call(ANSWERED)
    assert call.outcome is Outcome.ANSWERED
    assert (call.agent, call.agent_interface) == ("Alice Martin", "SIP/1001")
    assert call.wait_s == pytest.approx(1796381524.811989 - 1796381521.885359)
    assert call.talk_s == pytest.approx(1796381530.812529 - 1796381524.811989)
    assert (call.hold_s, call.hold_count) == (0.0, 0)
    assert (call.acw_s, call.acw_source) == (0.0, AcwSource.NONE)
    assert call.handle_s == call.talk_s
    assert call.end_reason is EndReason.AGENT
    assert (call.ring_attempts, call.ring_noanswer) == (1, 0)
    assert (call.position_entered, call.position_left) == (1, 1)


def test_after_call_work_that_turned_out_zero_is_time_available() -> None:
    assert _states(ANSWERED, "SIP/1001") == [
        (AgentState.RINGING, 1796381521.887865, 1796381524.811989),
        (AgentState.TALKING, 1796381524.811989, 1796381530.812529),
        (AgentState.AVAILABLE, 1796381530.812529, None),
    ]


def test_a_caller_who_hangs_up_while_waiting_abandoned() -> None:
    call = _the_call(ABANDONED)
    assert call.outcome is Outcome.ABANDONED
    assert call.wait_s == pytest.approx(1796381647.401876 - 1796381645.900689)
    assert call.ended_at == 1796381647.401876
    assert call.answered_at is None and call.talk_s is None and call.acw_s is None
    assert call.position_left == 1


def test_a_timeout_is_not_an_abandon_though_app_queue_says_abandon_and_hangs_up_after() -> None:
    call = _the_call(TIMEOUT)
    assert call.outcome is Outcome.TIMEOUT
    assert call.wait_s == pytest.approx(1796381679.927082 - 1796381649.899666)
    assert call.agent is None and call.handle_s is None


def test_a_ring_no_answer_then_an_answer_counts_two_rings_and_one_call() -> None:
    call = _the_call(RING_NO_ANSWER)
    assert call.outcome is Outcome.ANSWERED and call.agent == "Agent One"
    assert (call.ring_attempts, call.ring_noanswer) == (2, 1)
    assert call.wait_s == pytest.approx(1795484865.387261 - 1795484843.361941)
    assert _states(RING_NO_ANSWER, "Local/agent1@agents/n")[:4] == [
        (AgentState.AVAILABLE, 1795484850.878722, 1795484851.3715),
        (AgentState.RINGING, 1795484851.3715, 1795484863.383534),
        (AgentState.AVAILABLE, 1795484863.383534, 1795484864.38437),
        (AgentState.RINGING, 1795484864.38437, 1795484865.387261),
    ]


def test_hold_on_the_agents_sip_phone_is_counted_and_taken_out_of_talk() -> None:
    call = _the_call(HOLD_ON_THE_AGENTS_PHONE)
    held = (1796381818.482145 - 1796381814.480088) + (1796381826.486662 - 1796381821.484857)
    assert call.hold_count == 2
    assert call.hold_s == pytest.approx(held)
    assert call.talk_s == pytest.approx(1796381829.489625 - 1796381811.481433 - held)
    states = [state for state, _, _ in _states(HOLD_ON_THE_AGENTS_PHONE, "SIP/1007")]
    assert states[:6] == [AgentState.RINGING, AgentState.TALKING, AgentState.HOLD,
                          AgentState.TALKING, AgentState.HOLD, AgentState.TALKING]


def test_a_blind_transfer_ends_the_call_with_its_target() -> None:
    call = _the_call(BLIND_TRANSFER)
    assert (call.transferred, call.transfer_to) == (1, "700")
    assert call.end_reason is EndReason.TRANSFER
    assert call.talk_s == pytest.approx(1795484844.819859 - 1795484833.66396)
    assert call.acw_source is AcwSource.NONE


def test_an_acw_pause_after_the_call_is_its_after_call_work_until_unpause() -> None:
    call = _the_call(ACW_PAUSE)
    acw = 1796381954.094582 - 1796381945.490193
    assert call.acw_source is AcwSource.PAUSE
    assert call.acw_s == pytest.approx(acw)
    assert call.handle_s == pytest.approx(1796381945.490193 - 1796381937.489845 + acw)
    states = _states(ACW_PAUSE, "SIP/1003")
    # a queue without wrapuptime: the agent is in after-call work once the pause says so
    assert [s for s, _, _ in states] == [AgentState.AVAILABLE, AgentState.RINGING,
                                         AgentState.TALKING, AgentState.AVAILABLE,
                                         AgentState.ACW, AgentState.AVAILABLE]
    assert states[-1][1] == 1796381954.094582
