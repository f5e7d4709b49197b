"""Every recording, both AMI streams, call by call: outcome, wait and connected time as
Asterisk's queue_log logged them, and hold, after-call work and transfers as the phones
and the recording client saw them (``truth.json``).

``ami-reader.jsonl`` is what a production collector receives (the least-privilege user:
no VarSet, no dialplan events); ``ami.jsonl`` is the full user's view of the same run.
"""

from __future__ import annotations

import pytest

from collector.facts import EndReason, Outcome
from tests.recording_truth import (
    TOLERANCE_S,
    answered_across_a_gap,
    case_id,
    cut_by_restart,
    final_calls,
    holds,
    lab_streams,
    restart_victims,
    streams,
    transfers,
    turned_away,
    wrapups,
)
from tests.traces import logged_calls

STREAMS = streams()
LAB_STREAMS = lab_streams()


@pytest.mark.parametrize("case", STREAMS, ids=case_id)
def test_every_stint_has_the_outcome_queue_log_logged(case: tuple[str, str]) -> None:
    name, stream = case
    calls, victims = final_calls(name, stream), restart_victims(name)
    logged = logged_calls(name)
    # joinempty's callers never joined: queue_log has no line of them
    assert set(calls) - set(logged) == {
        key for key, call in calls.items() if call.outcome is Outcome.TURNED_AWAY}
    wrong = {key: (calls[key].outcome.value, call.outcome) for key, call in logged.items()
             if key not in victims and calls[key].outcome.value != call.outcome}
    assert wrong == {}


@pytest.mark.parametrize("case", STREAMS, ids=case_id)
def test_wait_and_connected_time_agree_with_queue_log_to_the_second(
    case: tuple[str, str],
) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong: dict[tuple[str, str], str] = {}
    for key, call in logged_calls(name).items():
        record = calls[key]
        if call.wait is not None and (record.wait_s is None
                                      or abs(record.wait_s - call.wait) > TOLERANCE_S):
            wrong[key] = f"wait {record.wait_s} against {call.wait}"
        if call.connected is None:
            continue
        connected = None if record.talk_s is None else record.talk_s + (record.hold_s or 0.0)
        if connected is None or abs(connected - call.connected) > TOLERANCE_S:
            wrong[key] = f"connected {connected} against {call.connected}"
    assert wrong == {}


@pytest.mark.parametrize("case", STREAMS, ids=case_id)
def test_transfers_are_flagged_as_in_queue_log(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {key for key, call in logged_calls(name).items()
             if bool(calls[key].transferred) != call.transferred}
    assert wrong == set()


@pytest.mark.parametrize("case", LAB_STREAMS, ids=case_id)
def test_hold_is_what_the_agents_phone_held(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    hidden = answered_across_a_gap(name, stream)
    wrong: dict[tuple[str, str], object] = {}
    for key, held in holds(name).items():
        record = calls[key]
        if key in hidden:
            # a gap of the stream hid any hold in it: not measured, the gap is told
            if record.hold_s is not None or record.caller_hold_s is not None or not record.gap_s:
                wrong[key] = (record.hold_s, record.gap_s)
            continue
        if (record.hold_s is None or abs(record.hold_s - held.agent_s) > TOLERANCE_S
                or record.hold_count != held.agent_count or record.caller_hold_s is None
                or abs(record.caller_hold_s - held.caller_s) > TOLERANCE_S):
            wrong[key] = (record.hold_s, record.hold_count, record.caller_hold_s, held)
    assert wrong == {}


@pytest.mark.parametrize("case", LAB_STREAMS, ids=case_id)
def test_after_call_work_is_the_acw_pause_or_the_wrapuptime(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {}
    for key, work in wrapups(name).items():
        record = calls[key]
        by_rule = (record.acw_s is not None and abs(record.acw_s - work.seconds) <= TOLERANCE_S
                   and record.acw_source is work.source)
        if not {"yes": by_rule, "no": record.acw_s is None,
                "barely": by_rule or record.acw_s is None}[work.decided]:
            wrong[key] = (record.acw_s, record.acw_source.value, work)
    assert wrong == {}


@pytest.mark.parametrize("case", LAB_STREAMS, ids=case_id)
def test_a_transfer_names_the_extension_dialled(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {}
    for key, moved in transfers(name).items():
        record = calls[key]
        kind = record.transfer_kind.value if record.transfer_kind else None
        if (record.transfer_to, kind, bool(record.transferred)) != (
                (moved.to, moved.kind, True) if moved else (None, None, False)):
            wrong[key] = (record.transfer_to, kind, moved)
    assert wrong == {}


@pytest.mark.parametrize("case", LAB_STREAMS, ids=case_id)
def test_callers_waiting_when_asterisk_restarted_were_dropped_not_abandoned(
    case: tuple[str, str],
) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    # queue_log logs them as ABANDON, with their wait up to the restart
    for key in restart_victims(name):
        call = calls[key]
        assert (call.outcome, call.end_reason) == (Outcome.UNKNOWN, EndReason.PBX_RESTART), key
        assert call.wait_s is not None
        assert abs(call.wait_s - (logged_calls(name)[key].wait or 0)) <= TOLERANCE_S, key


@pytest.mark.parametrize("case", LAB_STREAMS, ids=case_id)
def test_a_call_the_restart_cut_is_answered_with_its_talk_until_then(
    case: tuple[str, str],
) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    for key in cut_by_restart(name):
        call = calls[key]
        assert (call.outcome, call.end_reason) == (Outcome.ANSWERED, EndReason.PBX_RESTART), key
        assert call.talk_s is not None and call.acw_s is None, key


@pytest.mark.parametrize("case", LAB_STREAMS, ids=case_id)
def test_callers_joinempty_kept_out_are_counted_where_the_stream_shows_them(
    case: tuple[str, str],
) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    away = {key for key, call in calls.items() if call.outcome is Outcome.TURNED_AWAY}
    # only the full user sees the QUEUESTATUS VarSet and the Queue() that tell of them
    assert away == (turned_away(name) if stream == "ami.jsonl" else set())
