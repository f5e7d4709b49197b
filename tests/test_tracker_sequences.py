"""The tracker's rules on documented AMI event sequences that the traces do not contain."""

from __future__ import annotations

import pytest

from collector.facts import AcwSource, AgentState, Anomaly, EndReason, Outcome
from collector.tracker import TrackerConfig
from tests.scenarios import (
    agent_event,
    answered,
    caller_event,
    calls,
    channel_event,
    intervals,
    join,
    member_event,
    run,
)


def test_timeout_is_told_apart_from_abandon_by_the_callers_live_channel() -> None:
    # app_queue sends QueueCallerAbandon on timeout too, but the caller never hung up
    facts = run(
        join(100.0)
        + caller_event("QueueCallerAbandon", 145.2, extra="HoldTime: 45\n")
        + caller_event("QueueCallerLeave", 145.2)
        + channel_event("VarSet", 145.3, "c1", "c1", "Variable: QUEUESTATUS\nValue: TIMEOUT\n")
        + channel_event("Newexten", 146.0, "c1", "c1")
    )
    (call,) = calls(facts)
    assert call.outcome is Outcome.TIMEOUT
    assert call.wait_s == pytest.approx(45.2)
    assert call.talk_s is None and call.acw_s is None


def test_timeout_without_dialplan_events_is_still_not_an_abandon() -> None:
    facts = run(
        join(100.0)
        + caller_event("QueueCallerAbandon", 130.0)
        + caller_event("QueueCallerLeave", 130.0)
        + channel_event("Newexten", 135.0, "x", "x")
    )
    assert calls(facts)[0].outcome is Outcome.TIMEOUT


def test_abandon_needs_the_callers_hangup_request() -> None:
    facts = run(
        join(100.0)
        + channel_event("HangupRequest", 112.0, "c1", "c1")
        + caller_event("QueueCallerAbandon", 112.0)
        + caller_event("QueueCallerLeave", 112.0, extra="Position: 3\n")
    )
    (call,) = calls(facts)
    assert call.outcome is Outcome.ABANDONED
    assert call.wait_s == pytest.approx(12.0)
    assert call.position_left == 3


def test_leave_empty_queue_is_exit_empty() -> None:
    facts = run(
        join(100.0)
        + caller_event("QueueCallerAbandon", 104.0)
        + caller_event("QueueCallerLeave", 104.0)
        + channel_event("VarSet", 104.0, "c1", "c1", "Variable: QUEUESTATUS\nValue: LEAVEEMPTY\n")
    )
    assert calls(facts)[0].outcome is Outcome.EXIT_EMPTY


def test_leaving_without_abandon_or_answer_is_an_exit_by_key() -> None:
    facts = run(
        join(100.0)
        + caller_event("QueueCallerLeave", 108.0)
        + channel_event("Newexten", 110.0, "c1", "c1")
    )
    (call,) = calls(facts)
    assert call.outcome is Outcome.EXIT_KEY
    assert call.wait_s == pytest.approx(8.0)


def test_attended_transfer_marks_the_call_and_keeps_hold_until_the_end() -> None:
    text = (
        join(100.0)
        + agent_event("AgentCalled", 100.5)
        + caller_event("QueueCallerLeave", 101.0)
        + agent_event("AgentConnect", 101.0, extra="HoldTime: 1\n")
        + channel_event("Hold", 111.0, "c1-agent", "c1")
        + "Event: AttendedTransfer\nTimestamp: 130.0\nResult: Success\n"
        "OrigTransfererUniqueid: c1-agent\nOrigTransfererLinkedid: c1\n"
        "SecondTransfererExten: 300\nTransfereeUniqueid: c1\n"
        "TransferTargetCallerIDNum: 300\nDestType: Bridge\n\n"
        + agent_event("AgentComplete", 130.0, extra="Reason: transfer\n")
    )
    (call,) = calls(run(text))
    assert call.transferred == 1 and call.transfer_to == "300"
    assert call.end_reason is EndReason.TRANSFER
    assert call.hold_s == pytest.approx(19.0)
    assert call.talk_s == pytest.approx(10.0)


def test_hold_by_the_callers_side_is_kept_apart_and_counted_in_talk() -> None:
    text = (
        join(100.0)
        + caller_event("QueueCallerLeave", 102.0)
        + agent_event("AgentConnect", 102.0)
        + channel_event("Hold", 105.0, "c1", "c1")
        + channel_event("Unhold", 108.0, "c1", "c1")
        + channel_event("Hold", 110.0, "phone-9", "c1")
        + channel_event("Unhold", 111.5, "phone-9", "c1")
        + agent_event("AgentComplete", 120.0, extra="Reason: caller\n")
    )
    (call,) = calls(run(text))
    assert call.hold_count == 1
    assert call.hold_s == pytest.approx(1.5)
    assert call.caller_hold_s == pytest.approx(3.0)
    assert call.talk_s == pytest.approx(16.5)
    assert call.end_reason is EndReason.CALLER


def test_a_hold_a_moment_before_the_answer_counts_from_the_answer() -> None:
    text = (
        join(100.0)
        + agent_event("AgentCalled", 100.5)
        + channel_event("Hold", 104.999, "c1-agent", "c1")
        + caller_event("QueueCallerLeave", 105.0)
        + agent_event("AgentConnect", 105.0)
        + channel_event("Unhold", 110.0, "c1-agent", "c1")
        + agent_event("AgentComplete", 120.0)
    )
    (call,) = calls(run(text))
    assert call.hold_count == 1 and call.hold_s == pytest.approx(5.0)
    assert call.talk_s == pytest.approx(10.0)


def test_a_hold_on_a_member_that_did_not_answer_is_not_the_calls() -> None:
    text = (
        join(100.0)
        + agent_event("AgentCalled", 100.5)
        + "Event: AgentCalled\nTimestamp: 100.5\nQueue: support\nUniqueid: c1\n"
        "Interface: PJSIP/202\nDestUniqueid: c1-other\n\n"
        + channel_event("Hold", 104.0, "c1-other", "c1")
        + caller_event("QueueCallerLeave", 105.0)
        + agent_event("AgentConnect", 105.0)
        + agent_event("AgentComplete", 120.0)
    )
    (call,) = calls(run(text))
    assert call.hold_count == 0 and call.hold_s == 0.0


def test_overlapping_holds_on_both_legs_count_once() -> None:
    text = (
        join(100.0)
        + agent_event("AgentConnect", 102.0)
        + channel_event("Hold", 105.0, "phone-9", "c1")
        + channel_event("Hold", 106.0, "c1-agent", "c1")
        + channel_event("Unhold", 107.0, "phone-9", "c1")
        + channel_event("Unhold", 109.0, "c1-agent", "c1")
        + agent_event("AgentComplete", 112.0)
    )
    (call,) = calls(run(text))
    assert call.hold_count == 1 and call.hold_s == pytest.approx(4.0)


def test_wrapuptime_acw_is_cut_short_by_the_agents_next_call() -> None:
    config = TrackerConfig(wrapuptime={"support": 30.0})
    text = answered(100.0) + agent_event("AgentCalled", 122.0, uid="c2")
    call = calls(run(text, config))[0]
    assert call.acw_source is AcwSource.WRAPUPTIME
    assert call.acw_s == pytest.approx(10.0)


def test_wrapuptime_acw_runs_its_full_length_when_time_passes() -> None:
    config = TrackerConfig(wrapuptime={"support": 8.0})
    text = answered(100.0) + channel_event("Newexten", 150.0, "x", "x")
    (call,) = calls(run(text, config))
    assert call.acw_source is AcwSource.WRAPUPTIME and call.acw_s == pytest.approx(8.0)
    assert call.handle_s == pytest.approx(18.0)


def test_acw_pause_taken_during_the_call_runs_until_unpause() -> None:
    text = (
        join(100.0)
        + agent_event("AgentConnect", 102.0)
        + member_event("QueueMemberPause", 105.0, extra="Paused: 1\nPausedReason: Wrap-up\n")
        + agent_event("AgentComplete", 110.0)
        + member_event("QueueMemberPause", 125.0, extra="Paused: 0\nPausedReason: \n")
    )
    (call,) = calls(run(text))
    assert call.acw_source is AcwSource.PAUSE and call.acw_s == pytest.approx(15.0)
    states = [i.state for i in intervals(run(text))]
    assert AgentState.ACW in states


def test_pause_with_another_reason_is_not_acw() -> None:
    text = (
        answered(100.0)
        + member_event("QueueMemberPause", 113.0, extra="Paused: 1\nPausedReason: Lunch\n")
        + member_event("QueueMemberPause", 200.0, extra="Paused: 0\n")
    )
    (call,) = calls(run(text))
    assert call.acw_source is AcwSource.NONE and call.acw_s == 0.0
    lunch = [i for i in intervals(run(text)) if i.reason == "Lunch"]
    assert lunch and lunch[0].state is AgentState.PAUSED


def test_asterisk_shutdown_cuts_calls_and_drops_waiting_callers_as_seen() -> None:
    text = (
        join(100.0)
        + agent_event("AgentConnect", 104.0)
        + join(105.0, uid="c2")
        + "Event: Shutdown\nTimestamp: 120.0\nShutdown: Cleanly\nRestart: True\n\n"
    )
    records = {c.uniqueid: c for c in calls(run(text))}
    talking, waiting = records["c1"], records["c2"]
    assert (talking.outcome, talking.end_reason) == (Outcome.ANSWERED, EndReason.PBX_RESTART)
    assert talking.wait_s == pytest.approx(4.0) and talking.talk_s == pytest.approx(16.0)
    assert talking.acw_s is None
    assert (waiting.outcome, waiting.end_reason) == (Outcome.UNKNOWN, EndReason.PBX_RESTART)
    assert waiting.wait_s == pytest.approx(15.0)


def test_callers_asterisk_hangs_up_as_it_shuts_down_did_not_abandon() -> None:
    text = (
        join(100.0)
        + channel_event("SoftHangupRequest", 130.0, "c1", "c1", "Cause: 4\n")
        + caller_event("QueueCallerAbandon", 130.0)
        + caller_event("QueueCallerLeave", 130.0)
    )
    (call,) = calls(run(text))
    assert (call.outcome, call.end_reason) == (Outcome.UNKNOWN, EndReason.PBX_RESTART)
    assert call.wait_s == pytest.approx(30.0)


def test_a_hang_up_after_the_abandon_is_the_dialplans_not_the_callers() -> None:
    # the least-privilege user sees no QUEUESTATUS: order and cause tell
    text = (
        join(100.0)
        + caller_event("QueueCallerAbandon", 130.0)
        + caller_event("QueueCallerLeave", 130.0)
        + channel_event("SoftHangupRequest", 130.001, "c1", "c1", "Cause: 16\n")
        + channel_event("Hangup", 130.002, "c1", "c1")
        + channel_event("Newexten", 140.0, "x", "x")
    )
    (call,) = calls(run(text))
    assert call.outcome is Outcome.TIMEOUT


def test_restart_seen_only_through_a_new_boot_time_closes_open_calls() -> None:
    text = (
        "Event: FullyBooted\nTimestamp: 90.0\nUptime: 1000\n\n"
        + join(100.0)
        + "Event: FullyBooted\nTimestamp: 300.0\nUptime: 5\n\n"
    )
    facts = run(text)
    assert calls(facts)[0].outcome is Outcome.UNKNOWN
    assert any(isinstance(f, Anomaly) and f.kind == "pbx_restarted" for f in facts)


def test_queue_status_after_a_gap_closes_calls_that_vanished_and_keeps_the_rest() -> None:
    gap_and_snapshot = (
        "Event: QueueParams\nTimestamp: 200.0\nQueue: support\nStrategy: rrmemory\n\n"
        "Event: QueueEntry\nTimestamp: 200.0\nQueue: support\nUniqueid: c2\nPosition: 1\n"
        "Wait: 100\nCallerIDNum: 5550102\n\n"
        "Event: QueueStatusComplete\nTimestamp: 200.0\n\n"
    )
    text = (
        join(100.0)
        + join(100.0, uid="c2")
        + gap_and_snapshot
        + caller_event("QueueCallerLeave", 210.0, uid="c2")
        + agent_event("AgentConnect", 210.0, uid="c2")
        + agent_event("AgentComplete", 220.0, uid="c2")
    )
    records = {c.uniqueid: c for c in calls(run(text))}
    assert len(records) == 2
    assert records["c1"].outcome is Outcome.UNKNOWN
    assert records["c2"].outcome is Outcome.ANSWERED
    assert records["c2"].wait_s == pytest.approx(110.0)


def test_callers_already_waiting_at_startup_are_taken_from_queue_status() -> None:
    text = (
        "Event: QueueParams\nTimestamp: 200.0\nQueue: support\n\n"
        "Event: QueueEntry\nTimestamp: 200.0\nQueue: support\nUniqueid: c9\nWait: 30\n\n"
        "Event: QueueStatusComplete\nTimestamp: 200.0\n\n"
        + agent_event("AgentConnect", 205.0, uid="c9")
        + agent_event("AgentComplete", 215.0, uid="c9")
    )
    (call,) = calls(run(text))
    assert call.entered_at == pytest.approx(170.0)
    assert call.wait_s == pytest.approx(35.0)


def test_every_event_delivered_twice_gives_the_same_records() -> None:
    frames = answered(100.0).split("\n\n")
    doubled = "".join(f + "\n\n" + f + "\n\n" for f in frames if f)
    once = [(c.outcome, c.wait_s, c.talk_s) for c in calls(run(answered(100.0)))]
    twice = [(c.outcome, c.wait_s, c.talk_s) for c in calls(run(doubled))]
    assert once == twice


def test_complete_before_connect_is_an_anomaly_and_invents_nothing() -> None:
    text = join(100.0) + agent_event("AgentComplete", 101.0) + agent_event("AgentConnect", 102.0)
    facts = run(text)
    assert any(
        isinstance(f, Anomaly) and f.kind == "complete_without_connected_call" for f in facts
    )
    (call,) = calls(facts)
    # answered, and how the call went on was not seen
    assert call.outcome is Outcome.ANSWERED
    assert call.ended_at is None and call.talk_s is None and call.acw_s is None


def test_agent_removed_from_its_only_queue_is_logged_out() -> None:
    text = (
        member_event("QueueMemberAdded", 100.0, extra="Paused: 0\n")
        + member_event("QueueMemberRemoved", 160.0)
        + channel_event("Newexten", 170.0, "x", "x")
    )
    spans = intervals(run(text))
    assert [(i.state, i.started_at, i.ended_at) for i in spans] == [
        (AgentState.AVAILABLE, 100.0, 160.0),
        (AgentState.LOGGED_OUT, 160.0, None),
    ]


def test_asterisk_talktime_far_from_the_observed_span_is_flagged_not_used() -> None:
    text = (join(100.0) + agent_event("AgentConnect", 102.0)
            + agent_event("AgentComplete", 112.0, extra="HoldTime: 2\nTalkTime: 60\n"))
    facts = run(text)
    (call,) = calls(facts)
    assert call.talk_s == pytest.approx(10.0)
    kinds = [f.kind for f in facts if isinstance(f, Anomaly)]
    assert kinds == ["talk_disagrees_with_asterisk"]


def test_a_stamp_that_is_no_number_is_an_anomaly_and_moves_no_time() -> None:
    text = (
        join(100.0)
        + agent_event("AgentCalled", 101.0)
        + member_event("QueueMemberPause", 1e400, extra="Paused: 0\n")
        + caller_event("QueueCallerLeave", 105.0)
        + agent_event("AgentConnect", 105.0)
        + agent_event("AgentComplete", 115.0)
    )
    facts = run(text)
    (call,) = calls(facts)
    assert call.wait_s == pytest.approx(5.0) and call.talk_s == pytest.approx(10.0)
    assert [f.kind for f in facts if isinstance(f, Anomaly)] == ["implausible_timestamp"]
    assert all(i.ended_at is None or i.ended_at < 1000.0 for i in intervals(facts))
