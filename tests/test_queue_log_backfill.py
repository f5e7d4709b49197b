"""Which queue_log calls the daemon stores beside its live records: a live call lost as
``unknown`` is completed, keeping what the live collector observed; a call of a stretch
the live collector did not follow and has no record of is added; nothing else."""

from __future__ import annotations

import math

import pytest

from collector.facts import CALL_COLUMNS, CallRecord, Outcome
from collector.queue_log import QueueLogLine, parse_line
from collector.queue_log_backfill import QueueLogBackfill
from collector.tracker import TrackerConfig
from tests.traces import TRACE_CONFIG, read_queue_log, replayed_calls, trace_dir

TRACE = "lab-reconnect"
LOST = ("1796382412.8", "basic")
"""Answered, and lost as ``unknown`` by the live collector: its AgentComplete came without
the caller's channel, then Asterisk restarted."""
FOLLOWED_FROM = 1796382300.0
"""The live collector follows the stream from well before the trace's first line."""


def lines() -> list[QueueLogLine]:
    return list(read_queue_log(trace_dir(TRACE) / "queue_log"))


def live() -> dict[tuple[str, str], CallRecord]:
    return replayed_calls(TRACE)


def test_a_live_call_lost_as_unknown_is_completed_keeping_what_was_observed() -> None:
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.resumed(FOLLOWED_FROM)
    backfill.observed(live().values())
    backfill.feed(lines())
    (done,) = backfill.due(tuple, math.inf)
    lost = live()[LOST]
    record = done.call.record
    row = dict(zip(CALL_COLUMNS, done.call.as_values(), strict=True))
    assert done.completes == lost and lost.outcome is Outcome.UNKNOWN
    assert lost.answered_at is not None
    assert record.call_id == lost.call_id
    assert (record.outcome, record.end_reason, record.agent) == (
        Outcome.ANSWERED, "agent", lost.agent)
    assert record.answered_at == lost.answered_at and record.wait_s == lost.wait_s
    assert record.talk_s == 3 and record.ended_at == pytest.approx(lost.answered_at + 3)
    assert (record.caller_name, record.agent_interface, record.ring_attempts) == (
        "Zoë Martínez", "SIP/1003", 1)
    assert row["hold_s"] is None and row["hold_count"] is None
    assert row["ring_attempts"] == 1
    assert backfill.stats.completed == 1 and backfill.stats.added == 0


def test_a_completed_call_without_a_live_answer_takes_queue_logs_durations_from_the_entry(
) -> None:
    waiting = live()[("1796382414.9", "basic")]
    unknown = CallRecord(**{**{f: getattr(waiting, f) for f in CallRecord.__slots__},
                            "outcome": Outcome.UNKNOWN, "ended_at": None, "wait_s": None,
                            "position_left": None})
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.resumed(FOLLOWED_FROM)
    backfill.observed([unknown])
    backfill.feed(lines())
    (done,) = backfill.due(tuple, math.inf)
    record = done.call.record
    assert record.outcome is Outcome.ABANDONED and record.wait_s == 61
    assert record.entered_at == unknown.entered_at
    assert record.ended_at == unknown.entered_at + 61
    assert record.position_left == 1


def test_the_calls_of_a_stretch_not_followed_are_added_and_those_seen_are_not() -> None:
    calls = live()
    gap = (1796382415.3, 1796382478.4)
    seen = {k: c for k, c in calls.items()
            if (c.ended_at is not None and c.ended_at < gap[0]) or c.entered_at > gap[1]}
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.resumed(1796382406.0)
    backfill.lost(gap[0])
    backfill.observed(seen.values())
    backfill.feed(lines())
    backfill.advance(1796382520.0)
    due = backfill.due(tuple, math.inf)
    added = {(d.call.record.uniqueid, d.call.record.queue) for d in due}
    assert added == set(calls) - set(seen) and len(added) == 10
    assert all(d.completes is None for d in due)
    assert backfill.stats.seen_live == len(seen)


def test_nothing_is_added_for_a_time_the_live_collector_followed() -> None:
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.resumed(FOLLOWED_FROM)
    backfill.feed(lines())
    assert backfill.due(tuple, math.inf) == []
    assert backfill.stats.added == 0


def test_a_call_the_live_tracker_still_follows_waits_for_its_record() -> None:
    lost = live()[LOST]
    following = [(lost.uniqueid, lost.queue, lost.entered_at)]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.resumed(FOLLOWED_FROM)
    backfill.feed(lines())
    assert backfill.due(lambda: following, math.inf) == [] and backfill.waiting == 1
    backfill.observed([lost])
    (done,) = backfill.due(tuple, math.inf)
    assert done.completes == lost and backfill.waiting == 0


def test_the_after_call_work_is_decided_once_time_has_passed_without_a_later_line() -> None:
    text = ["1000|1.1|sales|NONE|ENTERQUEUE||5551|1", "1002|1.1|sales|Bob|CONNECT|2|1.2|1",
            "1012|1.1|sales|Bob|COMPLETEAGENT|2|10|1"]
    backfill = QueueLogBackfill(TrackerConfig(wrapuptime={"sales": 6.0}))
    backfill.feed(line for t in text if (line := parse_line(t)) is not None)
    assert backfill.due(tuple, math.inf) == []
    backfill.advance(1030.0)
    (done,) = backfill.due(tuple, math.inf)
    assert (done.call.record.acw_s, done.call.record.acw_source) == (6.0, "wrapuptime")


def test_a_call_queue_log_tells_before_the_stream_shows_it_waits_for_the_stream() -> None:
    calls = live().values()
    after_restart = [c for c in calls if c.entered_at > 1796382478.4]
    backfill = QueueLogBackfill(TRACE_CONFIG)
    backfill.observed(c for c in calls if c not in after_restart)
    backfill.resumed(1796382478.4)  # the calls entering seconds later are near the gap
    backfill.feed(lines())
    backfill.advance(1796382520.0)
    assert backfill.due(tuple, seen_until=1796382479.0) == []
    assert backfill.waiting == sum(1 for c in calls if (c.ended_at or 2e9) > 1796382469.0)
    backfill.observed(after_restart)
    (done,) = backfill.due(tuple, seen_until=1796382530.0)
    assert done.completes == live()[LOST]  # lost as unknown: completed, none added
    assert backfill.stats.seen_live == len(calls) - 1 and backfill.waiting == 0
