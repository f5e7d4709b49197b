"""Invariants of the tracker under any order, duplicate or garbage input."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Event,
    Hangup,
    HoldChange,
    MemberChange,
    MemberUpdate,
    PbxBooted,
    PbxShutdown,
    QueueEntry,
    QueueParams,
    QueueStatusVar,
    SnapshotEnd,
    StreamGap,
    Tick,
    Transfer,
)
from collector.facts import AgentInterval, CallRecord, Fact
from collector.parser import FrameParser
from collector.trace import TraceReader
from collector.tracker import Tracker, TrackerConfig
from tests.traces import replayed_facts, trace_dir

times = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)
uids = st.sampled_from(["c1", "c2", "c3"])
queues = st.sampled_from(["support", "sales"])
agents = st.sampled_from(["PJSIP/201", "PJSIP/202"])
text = st.text(max_size=8)

events: st.SearchStrategy[Event] = st.one_of(
    st.builds(CallerJoin, times, queues, uids, uids, text, text, text, st.none() | st.integers()),
    st.builds(CallerLeave, times, queues, uids, st.none() | st.integers()),
    st.builds(CallerAbandon, times, queues, uids, st.none(), st.none() | st.integers()),
    st.builds(AgentCalled, times, queues, uids, agents, text),
    st.builds(AgentRingNoAnswer, times, queues, uids, agents, text),
    st.builds(AgentDump, times, queues, uids, agents, text),
    st.builds(AgentConnect, times, queues, uids, uids, agents, text, uids, st.none()),
    st.builds(AgentComplete, times, queues, uids, agents, text,
              st.sampled_from(["agent", "caller", "transfer", "?"]), st.none(), st.none()),
    st.builds(MemberUpdate, times, st.sampled_from(list(MemberChange)), queues, agents, text,
              st.none() | st.booleans(), st.sampled_from(["", "ACW", "Lunch"]),
              st.none() | st.booleans(), st.none() | st.floats(0, 60)),
    st.builds(QueueParams, times, queues, text, st.none() | st.integers(0, 60)),
    st.builds(QueueEntry, times, queues, uids, uids, text, text, text, st.none(),
              st.none() | st.integers(0, 500)),
    st.builds(SnapshotEnd, times),
    st.builds(HoldChange, times, uids, uids, st.booleans()),
    st.builds(Transfer, times, st.booleans(), st.booleans(), uids, uids, uids, text),
    st.builds(Hangup, times, uids, uids, st.booleans()),
    st.builds(QueueStatusVar, times, uids, st.sampled_from(["TIMEOUT", "LEAVEEMPTY", "x"])),
    st.builds(PbxBooted, times, st.none() | st.floats(0, 1e6)),
    st.builds(PbxShutdown, times),
    st.builds(StreamGap, times, times),
    st.builds(Tick, times),
)


def _assert_sane(facts: list[Fact]) -> None:
    for fact in facts:
        if isinstance(fact, CallRecord):
            for value in (fact.wait_s, fact.talk_s, fact.hold_s, fact.acw_s, fact.handle_s):
                assert value is None or value >= 0.0, fact
            assert fact.hold_count >= 0 and fact.ring_attempts >= 0
        elif isinstance(fact, AgentInterval) and fact.ended_at is not None:
            assert fact.ended_at >= fact.started_at, fact


@settings(max_examples=400, deadline=None)
@given(st.lists(events, max_size=60), st.sampled_from([{}, {"support": 10.0}]))
def test_any_sequence_of_events_never_crashes_or_goes_negative(
    sequence: list[Event], wrapuptime: dict[str, float]
) -> None:
    tracker = Tracker(TrackerConfig(wrapuptime=wrapuptime))
    facts: list[Fact] = []
    for event in sequence:
        facts += tracker.feed(event)
    facts += tracker.finish(max((e.at for e in sequence), default=0.0))
    _assert_sane(facts)
    tracker.live()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.floats(0.0, 0.3), st.floats(0.0, 0.2))
def test_real_trace_shuffled_and_duplicated_never_crashes_or_goes_negative(
    rng: random.Random, shuffle_share: float, duplicate_share: float
) -> None:
    parser = FrameParser()
    frames = TraceReader(trace_dir("smoke") / "ami.jsonl")
    stream = [e for e in (parser.parse(f.text, f.received_at) for f in frames) if e is not None]
    assert len(stream) > 100
    for _ in range(int(len(stream) * shuffle_share)):
        i, j = rng.randrange(len(stream)), rng.randrange(len(stream))
        stream[i], stream[j] = stream[j], stream[i]
    for _ in range(int(len(stream) * duplicate_share)):
        i = rng.randrange(len(stream))
        stream.insert(rng.randrange(len(stream)), stream[i])
    tracker = Tracker()
    facts: list[Fact] = []
    for event in stream:
        facts += tracker.feed(event)
    facts += tracker.finish(tracker.now)
    _assert_sane(facts)


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary().map(lambda b: b.decode("utf-8", "replace")))
def test_garbage_frames_are_counted_never_raised(garbage: str) -> None:
    parser = FrameParser()
    for frame in (garbage, "Event: AgentConnect\r\n" + garbage, "Event: QueueCallerJoin"):
        parser.parse(frame, 1.0)
    assert parser.stats.frames == 3
    assert parser.stats.events + parser.stats.ignored + parser.stats.malformed == 3


def test_a_clean_trace_yields_sane_facts() -> None:
    for name in ("smoke", "mixed-a", "hold-a"):
        _assert_sane(list(replayed_facts(name)))
