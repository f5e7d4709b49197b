"""The tracker against the first real Asterisk 20 traces: what their scenarios planned.

Every recording is checked call by call against its queue_log in
``tests/test_tracker_recordings.py``.
"""

from __future__ import annotations

import itertools

import pytest

from collector.facts import AcwSource, AgentInterval, AgentState, Anomaly, Outcome
from tests.traces import TRACE_NAMES, final_records, replayed_calls, replayed_facts, truth

TOLERANCE_S = 1.0


def test_blind_transfer_records_target_and_reason() -> None:
    (call,) = [c for c in replayed_calls("smoke").values() if c.transferred]
    assert call.transfer_to == "700"
    assert call.end_reason is not None and call.end_reason.value == "transfer"


def test_hold_on_the_agents_sip_phone_is_measured_and_excluded_from_talk() -> None:
    answered = [c for c in replayed_calls("hold-a").values() if c.outcome is Outcome.ANSWERED]
    assert len(answered) == 12
    for call in answered:
        # each phone talks 3 s, holds 4 s, talks 3 s
        assert call.hold_count == 1
        assert call.hold_s is not None and abs(call.hold_s - 4.0) <= TOLERANCE_S
        assert call.talk_s is not None and abs(call.talk_s - 6.0) <= TOLERANCE_S


def test_unhold_without_hold_during_blind_transfer_adds_no_hold() -> None:
    for call in replayed_calls("smoke").values():
        assert call.hold_count == 0 and call.hold_s in (0.0, None)


@pytest.mark.parametrize("name", ["smoke", "mixed-a"])
def test_acw_pause_lasts_until_unpause_as_planned(name: str) -> None:
    calls = sorted(replayed_calls(name).values(), key=lambda c: c.ended_at or 0.0)
    pauses = [a for a in truth(name) if "acw_pause" in a]
    assert pauses
    for pause in pauses:
        finished = [c for c in calls if c.agent_interface == pause["acw_pause"]
                    and c.ended_at is not None and c.ended_at <= pause["t"] + 0.5]
        call = finished[-1]
        assert call.acw_source is AcwSource.PAUSE
        assert call.acw_s is not None and abs(call.acw_s - pause["planned_s"]) <= TOLERANCE_S


def test_sales_calls_without_acw_pause_get_the_configured_wrapuptime() -> None:
    sales = [c for c in replayed_calls("mixed-a").values()
             if c.queue == "sales" and c.outcome is Outcome.ANSWERED]
    by_wrapup = [c for c in sales if c.acw_source is AcwSource.WRAPUPTIME]
    assert len(sales) == 36 and len(by_wrapup) == 10
    for call in by_wrapup:
        assert call.acw_s is not None and 0.0 < call.acw_s <= 6.0


def test_queues_without_wrapuptime_or_pause_have_zero_acw() -> None:
    support = [c for c in replayed_calls("mixed-a").values()
               if c.queue == "support" and c.outcome is Outcome.ANSWERED]
    assert support and all(c.acw_s == 0.0 and c.acw_source is AcwSource.NONE for c in support)


def test_handle_time_is_talk_plus_hold_plus_acw() -> None:
    for name in ("mixed-a", "hold-a"):
        for call in replayed_calls(name).values():
            if call.outcome is Outcome.ANSWERED:
                assert call.talk_s is not None and call.hold_s is not None
                assert call.acw_s is not None
                assert call.handle_s == pytest.approx(call.talk_s + call.hold_s + call.acw_s)


def test_ring_no_answer_counts_as_a_ring_attempt_not_a_call() -> None:
    calls = replayed_calls("smoke").values()
    (rna,) = [c for c in calls if c.ring_noanswer]
    assert rna.agent == "Agent One" and rna.ring_attempts >= 2
    assert rna.outcome is Outcome.ANSWERED


def test_ringall_rings_every_free_agent_but_only_one_gets_the_call() -> None:
    sales = [c for c in replayed_calls("mixed-a").values()
             if c.queue == "sales" and c.outcome is Outcome.ANSWERED]
    assert any(c.ring_attempts >= 2 for c in sales)
    intervals = [f for f in replayed_facts("mixed-a") if isinstance(f, AgentInterval)]
    talking = [i for i in intervals if i.state is AgentState.TALKING and i.queue == "sales"]
    assert len(talking) == len(sales)


def test_lunch_pause_is_a_paused_interval_with_its_reason() -> None:
    (plan,) = [a for a in truth("mixed-a") if a.get("reason") == "Lunch"]
    intervals = [f for f in replayed_facts("mixed-a") if isinstance(f, AgentInterval)]
    lunch = [i for i in intervals if i.state is AgentState.PAUSED and i.reason == "Lunch"]
    assert len(lunch) == 1
    assert lunch[0].duration_s is not None
    assert abs(lunch[0].duration_s - plan["planned_s"]) <= TOLERANCE_S


def test_agent_intervals_never_overlap_and_never_run_backwards() -> None:
    for name in ("smoke", "mixed-a", "hold-a"):
        intervals = [f for f in replayed_facts(name) if isinstance(f, AgentInterval)]
        by_agent: dict[str, list[AgentInterval]] = {}
        for interval in intervals:
            by_agent.setdefault(interval.interface, []).append(interval)
        for spans in by_agent.values():
            spans.sort(key=lambda i: i.started_at)
            for before, after in itertools.pairwise(spans):
                assert before.ended_at is not None and before.ended_at <= after.started_at
                assert before.ended_at >= before.started_at


def test_wait_is_timed_from_events_not_from_asterisks_integer_holdtime() -> None:
    waits = [c.wait_s for c in replayed_calls("mixed-a").values() if c.wait_s is not None]
    assert any(w != int(w) for w in waits)


def test_every_call_record_has_a_known_outcome_on_a_clean_trace() -> None:
    for name in ("smoke", "mixed-a", "hold-a"):
        records = final_records(replayed_facts(name))
        assert all(r.outcome is not Outcome.UNKNOWN for r in records)


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_asterisks_own_counters_agree_so_no_anomaly_is_raised(name: str) -> None:
    anomalies = [f for f in replayed_facts(name) if isinstance(f, Anomaly)]
    assert anomalies == []
