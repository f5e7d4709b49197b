"""Which queue_log calls the daemon stores beside its live records: a final live record a
gap left unfinished is completed, keeping what the live collector observed; a call of a
stretch the live collector did not follow (the tracker's gaps) and has no record of is
added; nothing else, and never an abandon of a caller the PBX dropped."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import pytest

from collector.ami.protocol import BANNER_PREFIX
from collector.facts import CALL_COLUMNS, CallRecord, EndReason, Fact, Gap, Outcome, Phase
from collector.parser import FrameParser
from collector.queue_log import QueueLogLine, parse_line
from collector.queue_log_backfill import QueueLogBackfill
from collector.queue_log_shutdown import RESTART_WITHIN_S
from collector.replay import replay
from collector.trace import TraceReader
from collector.tracker import Tracker, TrackerConfig
from tests.traces import (
    TRACE_CONFIG,
    final_records,
    read_queue_log,
    replayed_calls,
    replayed_facts,
    trace_dir,
)

TRACE = "lab-reconnect"
Key = tuple[str, str]
LAST = {("1796382487.4", "basic"), ("1796382489.6", "basic")}
"""The recording ends seconds after these calls: their after-call work was not seen to end."""
TALKING = {(uniqueid, "basic") for uniqueid in ("1796382407.0", "1796382408.2", "1796382409.4")}
"""Answered before the outage below, their ends in it."""
WAITING = {(uniqueid, "basic") for uniqueid in (
    "1796382410.6", "1796382411.7", "1796382412.8", "1796382414.9")}
"""Waiting when the outage below began, gone when it ended."""
NEVER_SEEN = {("1796382426.10", "basic"), ("1796382451.11", "basic"),
              ("1796382453.12", "basic")}
"""Callers who joined and were gone while the outage below lasted."""
RESTARTED_AT = 1796382478.4
"""When the stream came back after Asterisk's restart (the PBX's time)."""
QUIET = 1796382506 + RESTART_WITHIN_S + 1
"""Long enough after queue_log's last line that no QUEUESTART can make its calls ends that
Asterisk logged as it shut down."""


def lines() -> list[QueueLogLine]:
    return list(read_queue_log(trace_dir(TRACE) / "queue_log"))


@cache
def outage() -> tuple[Fact, ...]:
    """The facts of ``lab-reconnect`` with the stream lost from the recording's first drop
    until it came back after Asterisk's restart: the frames in between never arrived."""
    frames = list(TraceReader(trace_dir(TRACE) / "ami.jsonl"))
    banners = [i for i, f in enumerate(frames) if i and f.text.startswith(BANNER_PREFIX)]
    kept = frames[:banners[0]] + frames[banners[1]:]
    return tuple(replay(kept, Tracker(TRACE_CONFIG), FrameParser()))


def lost() -> dict[Key, CallRecord]:
    """Each stint's final record in :func:`outage`."""
    return {(c.uniqueid, c.queue): c for c in final_records(outage())}


def test_the_tracker_loses_the_calls_open_at_the_outage_as_the_rules_say() -> None:
    records = lost()
    (gap,) = [f for f in outage() if isinstance(f, Gap)]
    assert gap.since == pytest.approx(1796382421.3, abs=0.1)
    assert gap.until == pytest.approx(RESTARTED_AT, abs=0.1)
    assert {k for k, c in records.items() if c.outcome is Outcome.ANSWERED
            and c.ended_at is None} == TALKING
    assert {k for k, c in records.items() if c.outcome is Outcome.UNKNOWN} == WAITING
    assert not NEVER_SEEN & set(records)


def test_a_call_whose_end_fell_into_the_gap_is_completed_keeping_what_was_observed() -> None:
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(outage())
    backfill.feed(lines())
    done = {(d.call.record.uniqueid, d.call.record.queue): d
            for d in backfill.due(tuple, math.inf)}
    live = lost()[("1796382407.0", "basic")]
    completed = done[("1796382407.0", "basic")]
    record = completed.call.record
    row = dict(zip(CALL_COLUMNS, completed.call.as_values(), strict=True))
    assert completed.completes == live and live.answered_at is not None
    assert record.call_id == live.call_id
    assert (record.outcome, record.end_reason, record.agent) == (
        Outcome.ANSWERED, "agent", live.agent)
    assert record.answered_at == live.answered_at and record.wait_s == live.wait_s
    assert record.talk_s == 45 and record.ended_at == pytest.approx(live.answered_at + 45)
    assert (record.caller_name, record.agent_interface) == (live.caller_name, "SIP/1001")
    assert row["hold_s"] is None and row["hold_count"] is None
    assert row["ring_attempts"] == live.ring_attempts == 1
    assert row["gap_s"] == live.gap_s > 50


def test_a_completed_call_without_a_live_answer_takes_queue_logs_durations_from_the_entry(
) -> None:
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(outage())
    backfill.feed(lines())
    done = {(d.call.record.uniqueid, d.call.record.queue): d.call.record
            for d in backfill.due(tuple, math.inf)}
    unknown = lost()[("1796382412.8", "basic")]
    record = done[("1796382412.8", "basic")]
    assert (unknown.outcome, unknown.ended_at) == (Outcome.UNKNOWN, None)
    assert (record.outcome, record.agent, record.wait_s, record.talk_s) == (
        Outcome.ANSWERED, "Chloé Dubois", 60, 3)
    assert record.entered_at == unknown.entered_at
    assert record.answered_at == unknown.entered_at + 60
    assert record.ended_at == unknown.entered_at + 63


def test_the_calls_of_a_gap_are_added_those_it_left_unfinished_completed() -> None:
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(outage())
    backfill.feed(lines())
    backfill.advance(QUIET)
    due = backfill.due(tuple, math.inf)
    added = {(d.call.record.uniqueid, d.call.record.queue) for d in due if d.completes is None}
    completed = {(d.call.record.uniqueid, d.call.record.queue) for d in due if d.completes}
    assert added == NEVER_SEEN and completed == TALKING | WAITING | LAST
    # the two other calls after the restart were seen whole
    assert (backfill.stats.added, backfill.stats.completed, backfill.stats.seen_live) == (3, 9, 2)


def test_a_caller_the_pbx_dropped_stays_dropped_whatever_queue_log_says() -> None:
    # followed whole: the live collector saw Asterisk drop four waiting callers at its
    # restart, which queue_log logs as ABANDON
    calls = replayed_calls(TRACE)
    dropped = [c for c in calls.values() if c.end_reason == "pbx_restart"
               and c.outcome is Outcome.UNKNOWN]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(replayed_facts(TRACE))
    backfill.feed(lines())
    backfill.advance(QUIET)
    due = backfill.due(tuple, math.inf)
    assert len(dropped) == 4
    assert {(d.call.record.uniqueid, d.call.record.queue) for d in due} == LAST
    assert backfill.stats.seen_live == len(calls) - len(LAST)


def test_an_answered_call_seen_to_end_takes_only_queue_logs_after_call_work() -> None:
    # the recording ends a second after this call: its after-call work was not seen to end
    live = replayed_calls(TRACE)[("1796382487.4", "basic")]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed([live])
    backfill.feed(lines())
    backfill.advance(QUIET)
    (done,) = backfill.due(tuple, math.inf)
    record = done.call.record
    assert live.acw_s is None and live.phase is Phase.DONE
    assert live.talk_s == pytest.approx(15.0, abs=0.01)
    assert (record.acw_s, record.acw_source, record.handle_s) == (0.0, "none", live.talk_s)
    assert record == replace(live, acw_s=0.0, handle_s=live.talk_s)
    assert done.completes == live and not done.call.unobserved


def test_nothing_is_added_for_a_time_the_live_collector_followed() -> None:
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.feed(lines())
    assert backfill.due(tuple, math.inf) == []
    assert backfill.stats.added == 0


def test_a_call_the_live_tracker_still_follows_waits_for_its_record() -> None:
    record = lost()[("1796382407.0", "basic")]
    following = [(record.uniqueid, record.queue, record.entered_at)]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.feed(lines())
    assert backfill.due(lambda: following, math.inf) == [] and backfill.waiting == 1
    backfill.observed([record])
    (done,) = backfill.due(tuple, math.inf)
    assert done.completes == record and backfill.waiting == 0


def test_a_record_still_talking_is_not_seen_to_end() -> None:
    talking, final = [f for f in outage() if isinstance(f, CallRecord)
                      and f.uniqueid == "1796382407.0"]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed([talking])
    backfill.feed(lines())
    assert talking.phase is Phase.TALKING
    assert backfill.due(tuple, math.inf) == [] and backfill.waiting == 1
    backfill.observed([final])
    (done,) = backfill.due(tuple, math.inf)
    assert done.completes == final and done.call.record.talk_s == 45


def test_the_after_call_work_is_decided_once_time_has_passed_without_a_later_line() -> None:
    text = ["1000|1.1|sales|NONE|ENTERQUEUE||5551|1", "1002|1.1|sales|Bob|CONNECT|2|1.2|1",
            "1012|1.1|sales|Bob|COMPLETEAGENT|2|10|1"]
    backfill = QueueLogBackfill(TrackerConfig(wrapuptime={"sales": 6.0}))
    backfill.lost(990.0)
    backfill.feed(line for t in text if (line := parse_line(t)) is not None)
    assert backfill.due(tuple, math.inf) == []
    backfill.advance(1030.0)
    # a QUEUESTART next would make it a call Asterisk cut as it shut down
    assert backfill.due(tuple, math.inf) == []
    backfill.advance(1012 + RESTART_WITHIN_S + 1)
    (done,) = backfill.due(tuple, math.inf)
    assert (done.call.record.acw_s, done.call.record.acw_source) == (6.0, "wrapuptime")


def test_while_the_stream_is_lost_the_calls_that_ended_in_it_are_added_once_told_how(
) -> None:
    dropped_at = 1796382421.3
    records = lost()
    before = [f for f in outage() if isinstance(f, CallRecord) and f.entered_at < dropped_at
              and f.phase is Phase.TALKING]
    # the tracker still follows the stints open when the stream was lost
    following = [(records[k].uniqueid, records[k].queue, records[k].entered_at)
                 for k in TALKING | WAITING]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(before)
    backfill.lost(dropped_at)
    backfill.feed(line for line in lines() if line.at <= 1796382476)
    backfill.advance(1796382477.0)
    # they ended in the latest second of queue_log: a QUEUESTART next tells how
    assert backfill.due(lambda: following, seen_until=dropped_at) == []
    backfill.feed(line for line in lines() if 1796382476 < line.at <= 1796382478)
    added = backfill.due(lambda: following, seen_until=dropped_at)
    assert {(d.call.record.uniqueid, d.call.record.queue) for d in added} == NEVER_SEEN
    assert {(d.call.record.outcome, d.call.record.end_reason) for d in added} == {
        (Outcome.UNKNOWN, EndReason.PBX_RESTART)}
    # what queue_log has finished of the stints followed waits for the tracker: all of
    # them, the restart having ended the after-call work of the calls it cut
    assert backfill.waiting == len(TALKING | WAITING)


def test_a_call_queue_log_tells_before_the_stream_shows_it_waits_for_the_stream() -> None:
    facts = outage()
    after = [f for f in facts if isinstance(f, CallRecord) and f.entered_at > RESTARTED_AT]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(f for f in facts if f not in after)
    backfill.feed(lines())
    backfill.advance(QUIET)
    # the stream is followed again from the restart: what ended near it or after waits
    early = backfill.due(tuple, seen_until=RESTARTED_AT + 1)
    assert {(d.call.record.uniqueid, d.call.record.queue) for d in early} == {
        ("1796382407.0", "basic"), ("1796382408.2", "basic")}
    assert backfill.waiting == 12
    backfill.observed(after)
    later = backfill.due(tuple, seen_until=1796382530.0)
    assert {(d.call.record.uniqueid, d.call.record.queue) for d in later} == (
        TALKING | WAITING | NEVER_SEEN | LAST) - {("1796382407.0", "basic"),
                                                  ("1796382408.2", "basic")}
    assert backfill.stats.seen_live == len(final_records(after)) - len(LAST) == 2
    assert backfill.waiting == 0
