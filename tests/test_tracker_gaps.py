"""Gaps in the AMI stream (a lost connection, an Asterisk restart): what was not seen is
not stored as if it had been, and what was seen is kept."""

from __future__ import annotations

from dataclasses import replace

import pytest

from collector.events import (
    AgentComplete,
    AgentConnect,
    CallerJoin,
    CallerLeave,
    Event,
    HoldChange,
    MemberChange,
    MemberUpdate,
    QueueEntry,
    QueueParams,
    SnapshotEnd,
    StintResumed,
    StreamGap,
    Tick,
)
from collector.facts import (
    AcwSource,
    AgentInterval,
    AgentState,
    CallRecord,
    Fact,
    Gap,
    Outcome,
    Phase,
    WaitingCaller,
)
from collector.states import UNCONFIRMED_S
from collector.tracker import Tracker, TrackerConfig
from tests.traces import final_records

Q, AGENT = "support", "PJSIP/201"


def member(at: float, change: MemberChange = MemberChange.STATUS, paused: bool = False,
           reason: str = "", in_call: bool | None = None) -> MemberUpdate:
    return MemberUpdate(at, change, Q, AGENT, "Agent", paused, reason, in_call, None)


def answered(uid: str, joined: float, at: float) -> list[Event]:
    return [CallerJoin(joined, Q, uid, uid, "5550100", "Caller", 1),
            CallerLeave(at, Q, uid, 1), AgentConnect(at, Q, uid, AGENT, "Agent", f"{uid}-a")]


def complete(uid: str, at: float, wait: int | None = None, talk: int | None = None,
             ) -> AgentComplete:
    return AgentComplete(at, Q, uid, AGENT, "Agent", "agent", wait, talk, f"{uid}-a")


def snapshot(at: float, waiting: dict[str, int], in_call: bool) -> list[Event]:
    return [QueueParams(at, Q, "rrmemory", 20),
            member(at, MemberChange.SNAPSHOT, in_call=in_call),
            *(QueueEntry(at, Q, uid, uid, "", "", wait) for uid, wait in waiting.items()),
            SnapshotEnd(at)]


def run(events: list[Event], config: TrackerConfig | None = None,
        end: float | None = None) -> tuple[list[CallRecord], list[Fact]]:
    tracker = Tracker(config)
    facts: list[Fact] = []
    for event in events:
        facts += tracker.feed(event)
    facts += tracker.finish(end if end is not None else tracker.now)
    return final_records(facts), facts


def test_a_gap_is_a_fact_with_its_start_and_end_for_whoever_fills_it_in() -> None:
    _, facts = run([member(99.0), StreamGap(at=150.0, since=120.0), member(151.0)])
    assert [f for f in facts if isinstance(f, Gap)] == [Gap(since=120.0, until=150.0)]


def test_a_hold_across_a_gap_is_not_measured_and_the_call_says_how_much_went_unseen() -> None:
    (call,), _ = run([
        member(99.0), *answered("c1", 100.0, 102.0),
        HoldChange(110.0, "c1-a", "c1", True),
        StreamGap(at=132.0, since=110.5),
        HoldChange(133.0, "c1-a", "c1", False),
        complete("c1", 140.0),
        Tick(150.0),
    ])
    # 22 s of the hold were in the gap: it may have ended at once, or gone on throughout
    assert call.outcome is Outcome.ANSWERED and call.hold_s is None
    assert call.talk_s == pytest.approx(38.0)  # the connected time, hold included
    assert call.gap_s == pytest.approx(21.5)
    assert call.wait_s == pytest.approx(2.0)


def test_after_call_work_across_a_gap_is_not_known() -> None:
    config = TrackerConfig(wrapuptime={Q: 30.0})
    (call,), _ = run([
        member(99.0), *answered("c1", 100.0, 102.0), complete("c1", 110.0),
        member(110.5, MemberChange.PAUSE, paused=True, reason="ACW"),
        StreamGap(at=135.0, since=112.0),
        member(136.0, MemberChange.PAUSE, paused=False),
    ], config)
    assert call.talk_s == pytest.approx(8.0) and call.hold_s == 0.0
    assert call.acw_s is None and call.acw_source is AcwSource.PAUSE
    assert call.handle_s is None and call.gap_s == pytest.approx(23.0)


def test_agent_time_in_a_gap_is_unknown_and_counted_nowhere() -> None:
    _, facts = run([member(99.0), StreamGap(at=150.0, since=120.0), member(151.0)],
                   end=160.0)
    spans = [(i.state, i.started_at, i.ended_at) for i in facts
             if isinstance(i, AgentInterval)]
    assert spans == [(AgentState.AVAILABLE, 99.0, 120.0), (AgentState.UNKNOWN, 120.0, 150.0),
                     (AgentState.AVAILABLE, 150.0, None)]


def test_a_call_answered_in_a_gap_is_stored_from_the_agentcomplete_that_follows() -> None:
    records, _ = run([
        member(99.0), CallerJoin(100.0, Q, "c1", "c1", "5550100", "Caller", 1),
        StreamGap(at=140.0, since=101.0),
        *snapshot(140.0, {}, in_call=True),
        complete("c1", 160.0, wait=19, talk=41),
        Tick(200.0),
    ])
    (call,) = records
    assert call.outcome is Outcome.ANSWERED
    assert call.entered_at == 100.0 and call.wait_s == pytest.approx(19.0)
    assert call.talk_s == pytest.approx(41.0) and call.hold_s is None
    assert call.agent == "Agent" and call.gap_s == pytest.approx(39.0)


def test_its_agent_is_on_that_call_from_the_snapshot_on() -> None:
    _, facts = run([
        member(99.0), StreamGap(at=140.0, since=101.0),
        *snapshot(140.0, {}, in_call=True),
        complete("c9", 160.0, wait=3, talk=41),
    ], end=170.0)
    states = [(i.state, i.started_at) for i in facts if isinstance(i, AgentInterval)]
    assert (AgentState.TALKING, 140.0) in states


def test_a_caller_who_joined_and_was_answered_in_the_gap_is_stored_too() -> None:
    (call,), _ = run([
        member(99.0), StreamGap(at=140.0, since=101.0),
        complete("c7", 160.0, wait=12, talk=30),
        Tick(200.0),
    ])
    assert call.outcome is Outcome.ANSWERED and call.uniqueid == "c7"
    assert call.entered_at == pytest.approx(118.0) and call.wait_s == pytest.approx(12.0)
    assert call.talk_s == pytest.approx(30.0)


def test_without_a_snapshot_the_calls_that_ended_in_the_gap_close_after_a_bounded_wait() -> None:
    records, _ = run([
        member(99.0), *answered("c1", 100.0, 102.0), *answered("c2", 100.5, 103.0),
        StreamGap(at=140.0, since=110.0),
        # c2 goes on; nothing ever says what became of c1
        HoldChange(150.0, "c2-a", "c2", True), HoldChange(152.0, "c2-a", "c2", False),
        Tick(140.0 + UNCONFIRMED_S + 1.0),
        complete("c2", 140.0 + UNCONFIRMED_S + 5.0),
    ], end=140.0 + UNCONFIRMED_S + 100.0)
    calls = {c.uniqueid: c for c in records}
    assert calls["c1"].ended_at is None and calls["c1"].outcome is Outcome.ANSWERED
    assert calls["c2"].ended_at == pytest.approx(140.0 + UNCONFIRMED_S + 5.0)


def test_a_snapshot_after_the_gap_keeps_the_calls_it_lists_and_closes_the_rest() -> None:
    records, _ = run([
        member(99.0), CallerJoin(100.0, Q, "w1", "w1", "", "", 1),
        CallerJoin(101.0, Q, "w2", "w2", "", "", 2),
        StreamGap(at=140.0, since=110.0),
        *snapshot(140.0, {"w2": 39}, in_call=False),
    ], end=150.0)
    calls = {c.uniqueid: c for c in records}
    assert calls["w1"].outcome is Outcome.UNKNOWN and calls["w1"].wait_s is None
    assert calls["w2"].entered_at == 101.0 and calls["w2"].gap_s == pytest.approx(30.0)


def stored_talking(uid: str, joined: float, answered_at: float) -> CallRecord:
    """The record a killed collector stored of a call it saw answered."""
    records, _ = run([member(joined - 1), *answered(uid, joined, answered_at)])
    (talking,) = (r for r in records if r.uniqueid == uid)
    return replace(talking, phase=Phase.TALKING, ended_at=None, talk_s=None, hold_s=None,
                   outcome=Outcome.ANSWERED)


def test_a_collector_started_again_follows_on_what_its_killed_run_left_open() -> None:
    talking = stored_talking("c1", 100.0, 102.0)
    waiting = WaitingCaller("w1", "w1", Q, "5550101", "Waiting", 101.0, 1)
    gone = WaitingCaller("w2", "w2", Q, "5550102", "Gone", 101.5, 2)
    records, facts = run([
        StintResumed(110.0, talking), StintResumed(110.0, waiting),
        StintResumed(110.0, gone),
        StreamGap(at=140.0, since=110.0),
        *snapshot(140.0, {"w1": 39}, in_call=True),
        CallerLeave(150.0, Q, "w1", 1), AgentConnect(150.0, Q, "w1", "PJSIP/202", "Two", "w1-a"),
        complete("c1", 160.0),
    ], end=170.0)
    calls = {c.uniqueid: c for c in records}
    # the call talking then ended as seen: its talk exact, its holds (before) not known
    assert calls["c1"].outcome is Outcome.ANSWERED and calls["c1"].ended_at == 160.0
    assert calls["c1"].talk_s == pytest.approx(58.0) and calls["c1"].hold_s is None
    assert calls["c1"].wait_s == pytest.approx(2.0) and calls["c1"].gap_s == pytest.approx(30.0)
    # still waiting at the snapshot: it went on, its wait from its real entry
    assert calls["w1"].outcome is Outcome.ANSWERED and calls["w1"].wait_s == pytest.approx(49.0)
    # gone by then: ended unseen, with what was observed
    assert calls["w2"].outcome is Outcome.UNKNOWN and calls["w2"].entered_at == 101.5
    assert calls["w2"].wait_s is None
    assert [f for f in facts if isinstance(f, Gap)] == [Gap(110.0, 140.0)]


def test_a_call_that_was_in_after_call_work_when_the_collector_was_killed_is_final() -> None:
    config = TrackerConfig(wrapuptime={Q: 30.0})
    records, _ = run([member(99.0), *answered("c1", 100.0, 102.0), complete("c1", 110.0)],
                     config, end=111.0)
    wrapup = replace(records[0], phase=Phase.WRAPUP, acw_s=None, handle_s=None)
    (call,), _ = run([StintResumed(111.0, wrapup), StreamGap(at=140.0, since=111.0)], config)
    assert call.phase is Phase.DONE and call.acw_s is None and call.handle_s is None
    assert call.talk_s == pytest.approx(8.0) and call.hold_s == 0.0
