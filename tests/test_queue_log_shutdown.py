"""Asterisk's restarts in queue_log: the calls a shutdown ended, told by the QUEUESTART
after them, are stored as the live collector stores them, not as queue_log words them.

``lab-reconnect`` holds a real ``core restart now`` while four callers waited and three
talked: queue_log logs the four ``ABANDON`` and the three ``COMPLETE*`` at the same second,
then ``QUEUESTART`` two seconds later.
"""

from __future__ import annotations

import pytest

from collector.facts import AgentState, CallRecord, EndReason, Outcome
from collector.queue_log_shutdown import RESTART_WITHIN_S
from collector.tracker import TrackerConfig
from tests.recording_truth import cut_by_restart, final_calls, restart_victims, tracker_config
from tests.test_queue_log_import import T, run
from tests.traces import logged_calls, trace_dir

TRACE = "lab-reconnect"

WAITING_AND_TALKING = f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 2}|c1|support|Alice|CONNECT|2|c1-agent|1
{T + 5}|c2|support|NONE|ENTERQUEUE||5550101|1
{T + 6}|c3|support|NONE|ENTERQUEUE||5550102|2
{T + 9}|c3|support|NONE|ABANDON|2|2|3
"""
"""Alice talks with c1 from T + 2; c2 waits from T + 5; c3 gave up at T + 9."""


def by_stint(text: str, config: TrackerConfig | None = None) -> dict[str, CallRecord]:
    calls, _, _ = run(text, config)
    return {c.record.uniqueid: c.record for c in calls}


def test_callers_abandoned_in_the_last_second_before_a_queuestart_were_dropped() -> None:
    calls = by_stint(WAITING_AND_TALKING + f"""
{T + 30}|c2|support|NONE|ABANDON|1|1|25
{T + 30}|c1|support|Alice|COMPLETEAGENT|2|28|1
{T + 33}|NONE|NONE|NONE|QUEUESTART|
""")
    dropped = calls["c2"]
    assert (dropped.outcome, dropped.end_reason) == (Outcome.UNKNOWN, EndReason.PBX_RESTART)
    assert (dropped.wait_s, dropped.ended_at) == (25.0, T + 30)
    # a caller who gave up well before the shutdown did give up
    assert calls["c3"].outcome is Outcome.ABANDONED


def test_a_call_the_shutdown_ended_is_answered_with_its_talk_until_then() -> None:
    text = WAITING_AND_TALKING + f"""
{T + 30}|c2|support|NONE|ABANDON|1|1|25
{T + 30}|c1|support|Alice|COMPLETECALLER|2|28|1
{T + 90}|NONE|NONE|NONE|QUEUESTART|
"""
    calls, intervals, stats = run(text, TrackerConfig(wrapuptime={"support": 10.0}))
    (cut,) = [c.record for c in calls if c.record.uniqueid == "c1"]
    assert (cut.outcome, cut.end_reason) == (Outcome.ANSWERED, EndReason.PBX_RESTART)
    assert (cut.wait_s, cut.talk_s, cut.ended_at) == (2.0, 28.0, T + 30)
    # the PBX was gone: no after-call work, though the wrapuptime would have passed
    assert cut.acw_s is None and cut.handle_s is None
    # what the agents did is not known from the shutdown to their next line
    assert max(i.ended_at or 0.0 for i in intervals) == T + 30
    assert sum((i.ended_at or 0.0) - i.started_at for i in intervals
               if i.state is AgentState.ACW) == 0
    assert stats.restarts == 1 and stats.unfinished_calls == 0


def test_ends_a_second_before_the_last_line_of_a_shutdown_are_what_they_say() -> None:
    calls = by_stint(WAITING_AND_TALKING + f"""
{T + 29}|c2|support|NONE|ABANDON|1|1|24
{T + 29}|c1|support|Alice|COMPLETEAGENT|2|27|1
{T + 30}|c4|support|NONE|ENTERQUEUE||5550103|1
{T + 30}|c4|support|NONE|ABANDON|1|1|0
{T + 33}|NONE|NONE|NONE|QUEUESTART|
""")
    assert calls["c2"].outcome is Outcome.ABANDONED
    assert (calls["c1"].outcome, calls["c1"].end_reason) == (Outcome.ANSWERED, EndReason.AGENT)
    assert calls["c4"].end_reason is EndReason.PBX_RESTART


def test_a_queuestart_long_after_the_last_line_does_not_tell_when_asterisk_stopped() -> None:
    calls = by_stint(WAITING_AND_TALKING + f"""
{T + 30}|c2|support|NONE|ABANDON|1|1|25
{T + 30}|c1|support|Alice|COMPLETEAGENT|2|28|1
{T + 30 + RESTART_WITHIN_S + 1:.0f}|NONE|NONE|NONE|QUEUESTART|
""")
    assert calls["c2"].outcome is Outcome.ABANDONED
    assert calls["c1"].end_reason is EndReason.AGENT


def test_the_last_lines_of_an_input_without_a_queuestart_are_what_they_say() -> None:
    calls = by_stint(WAITING_AND_TALKING + f"""
{T + 30}|c2|support|NONE|ABANDON|1|1|25
""")
    assert calls["c2"].outcome is Outcome.ABANDONED


@pytest.mark.parametrize("stream", ["ami.jsonl", "ami-reader.jsonl"])
def test_the_recorded_restart_is_imported_as_the_live_collector_stored_it(stream: str) -> None:
    text = (trace_dir(TRACE) / "queue_log").read_text(encoding="utf-8")
    calls = by_stint(text, tracker_config(TRACE))
    live = {uniqueid: record for (uniqueid, _), record in final_calls(TRACE, stream).items()}
    dropped = {uniqueid for uniqueid, _ in restart_victims(TRACE)}
    cut = {uniqueid for uniqueid, _ in cut_by_restart(TRACE)}
    assert (len(dropped), len(cut)) == (4, 3)
    assert {u for u, c in calls.items() if c.end_reason is EndReason.PBX_RESTART} == (
        dropped | cut)
    assert {u: (c.outcome, c.end_reason, c.acw_s is None) for u, c in calls.items()} == {
        u: (c.outcome, c.end_reason, c.acw_s is None) for u, c in live.items()}
    logged = logged_calls(TRACE)
    for uniqueid in dropped | cut:
        call, wrote = calls[uniqueid], logged[(uniqueid, "basic")]
        assert (call.wait_s, call.talk_s) == (wrote.wait, wrote.connected)
