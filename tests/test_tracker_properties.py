"""Invariants of the tracker under any order, duplicate or garbage input.

Whatever comes in: each stint that began yields exactly one call record by the end, each
agent's intervals tile time, and an event a machine refuses changes nothing.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
from collections import Counter

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
    HangupKind,
    HoldChange,
    MemberChange,
    MemberUpdate,
    PbxBooted,
    PbxShutdown,
    QueueApp,
    QueueEntry,
    QueueParams,
    QueueStatusVar,
    SnapshotEnd,
    StreamGap,
    Tick,
    Transfer,
)
from collector.facts import (
    AgentInterval,
    Anomaly,
    CallRecord,
    Fact,
    Outcome,
    Phase,
    WaitingCaller,
)
from collector.parser import FrameParser
from collector.states import REFUSAL_KINDS
from collector.trace import TraceReader
from collector.tracker import Tracker, TrackerConfig
from tests.traces import replayed_facts, trace_dir

times = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)
uids = st.sampled_from(["c1", "c2", "c3"])
queues = st.sampled_from(["support", "sales"])
agents = st.sampled_from(["PJSIP/201", "PJSIP/202"])
legs = st.sampled_from(["c1", "c2", "c1-agent", "c2-agent"])
"""Callers' channels and the members' channels that ring and answer them."""
text = st.text(max_size=8)

events: st.SearchStrategy[Event] = st.one_of(
    st.builds(CallerJoin, times, queues, uids, uids, text, text, st.none() | st.integers()),
    st.builds(CallerLeave, times, queues, uids, st.none() | st.integers()),
    st.builds(CallerAbandon, times, queues, uids, st.none() | st.integers()),
    st.builds(AgentCalled, times, queues, uids, agents, text, legs),
    st.builds(AgentRingNoAnswer, times, queues, uids, agents, text),
    st.builds(AgentDump, times, queues, uids, agents, text),
    st.builds(AgentConnect, times, queues, uids, agents, text, legs),
    st.builds(AgentComplete, times, queues, uids | st.just(""), agents, text,
              st.sampled_from(["agent", "caller", "transfer", "?"]), st.none(), st.none(),
              legs),
    st.builds(MemberUpdate, times, st.sampled_from(list(MemberChange)), queues, agents, text,
              st.none() | st.booleans(), st.sampled_from(["", "ACW", "Lunch"]),
              st.none() | st.booleans(), st.none() | st.floats(0, 60)),
    st.builds(QueueParams, times, queues, text, st.none() | st.integers(0, 60)),
    st.builds(QueueEntry, times, queues, uids, uids, text, text, st.none() | st.integers(0, 500)),
    st.builds(SnapshotEnd, times),
    st.builds(HoldChange, times, uids | legs, uids, st.booleans()),
    st.builds(Transfer, times, st.booleans(), uids, uids, uids, text, st.booleans(), text),
    st.builds(Hangup, times, uids | legs, st.sampled_from(list(HangupKind)),
              st.sampled_from([None, 4, 16])),
    st.builds(QueueStatusVar, times, uids,
              st.sampled_from(["TIMEOUT", "LEAVEEMPTY", "JOINEMPTY", "x"])),
    st.builds(QueueApp, times, queues, uids, uids, text, text),
    st.builds(PbxBooted, times, st.none() | st.floats(0, 1e6)),
    st.builds(PbxShutdown, times),
    st.builds(StreamGap, times, times),
    st.builds(Tick, times),
)


Stint = tuple[str, str, float]


def _assert_sane(facts: list[Fact]) -> None:
    for fact in facts:
        if isinstance(fact, CallRecord):
            for value in (fact.wait_s, fact.talk_s, fact.hold_s, fact.caller_hold_s,
                          fact.acw_s, fact.handle_s):
                assert value is None or (math.isfinite(value) and value >= 0.0), fact
            assert fact.hold_count >= 0 and fact.ring_attempts >= 0
        elif isinstance(fact, AgentInterval) and fact.ended_at is not None:
            assert math.isfinite(fact.ended_at) and fact.ended_at >= fact.started_at, fact


_PHASES = list(Phase)
_KEPT = ("answered_at", "ended_at", "wait_s", "talk_s", "hold_s", "caller_hold_s", "agent")


def _assert_revisions_lose_nothing(facts: list[Fact]) -> None:
    """A stint's later record keeps what its earlier one knew, and gets no less far."""
    last: dict[str, CallRecord] = {}
    for fact in facts:
        if not isinstance(fact, CallRecord):
            continue
        before = last.get(fact.call_id)
        last[fact.call_id] = fact
        if before is None:
            continue
        assert _PHASES.index(fact.phase) >= _PHASES.index(before.phase), (before, fact)
        if before.outcome is not Outcome.UNKNOWN:
            assert fact.outcome is before.outcome, (before, fact)
        for name in _KEPT:
            if getattr(before, name) is not None:
                assert getattr(fact, name) == getattr(before, name), (name, before, fact)


def _observed(tracker: Tracker, facts: list[Fact], end: float) -> tuple[object, ...]:
    return (facts, tracker.live(), tracker.finish(end))


def _followed(tracker: Tracker, at: float) -> set[str]:
    """The callers a tracker follows at ``at``, once what came due by then is done."""
    probe = copy.deepcopy(tracker)
    probe.feed(Tick(at))
    return {c.uniqueid for c in probe.live().calls}


def _replay_checked(stream: list[Event], config: TrackerConfig) -> list[Fact]:
    """Every fact of the stream, after checking on the way that each stint that began is
    recorded once and that each refused event changed nothing but the anomaly."""
    end = max((e.at for e in stream), default=0.0) + 1000.0
    tracker = Tracker(config)
    began: Counter[Stint] = Counter()
    facts: list[Fact] = []
    for event in stream:
        before = copy.deepcopy(tracker)
        out = tracker.feed(event)
        refused = [f for f in out if isinstance(f, Anomaly) and f.kind in REFUSAL_KINDS]
        if refused:
            rest = [f for f in out if f not in refused]
            assert _observed(copy.deepcopy(tracker), rest, end) == _observed(
                before, before.feed(Tick(event.at)), end
            ), event
        elif isinstance(event, CallerJoin):
            began[(event.uniqueid, event.queue, event.at)] += 1
        elif isinstance(event, QueueEntry) and event.wait is not None and (
            event.uniqueid not in _followed(before, event.at)
        ):
            began[(event.uniqueid, event.queue, event.at - event.wait)] += 1
        facts += out
    facts += tracker.finish(end)
    # every stint's records end in one final record
    records = {(f.uniqueid, f.queue, f.entered_at): f.phase for f in facts
               if isinstance(f, CallRecord) and f.outcome is not Outcome.TURNED_AWAY}
    assert set(records) == set(began) and set(began.values()) <= {1}
    assert set(records.values()) <= {Phase.DONE}
    _assert_revisions_lose_nothing(facts)
    return facts


def _assert_intervals_tile_time(facts: list[Fact]) -> None:
    by_agent: dict[str, list[AgentInterval]] = {}
    for fact in facts:
        if isinstance(fact, AgentInterval):
            by_agent.setdefault(fact.interface, []).append(fact)
    for spans in by_agent.values():
        spans.sort(key=lambda i: i.started_at)
        for before, after in itertools.pairwise(spans):
            assert before.ended_at == after.started_at, (before, after)
        for span in spans:
            assert span.ended_at is None or span.ended_at >= span.started_at, span
        assert all(span.ended_at is not None for span in spans[:-1])


@settings(max_examples=300, deadline=None)
@given(st.lists(events, max_size=60), st.sampled_from([{}, {"support": 10.0}]))
def test_any_sequence_of_events_keeps_the_invariants(
    sequence: list[Event], wrapuptime: dict[str, float]
) -> None:
    facts = _replay_checked(sequence, TrackerConfig(wrapuptime=wrapuptime))
    _assert_sane(facts)
    _assert_intervals_tile_time(facts)


def _final(facts: list[Fact]) -> list[Fact]:
    return [f for f in facts if not isinstance(f, WaitingCaller) and not (
        isinstance(f, CallRecord) and f.phase is not Phase.DONE)]


@settings(max_examples=300, deadline=None)
@given(st.lists(events, max_size=60), st.sampled_from([{}, {"support": 10.0}]))
def test_a_tracker_without_revisions_puts_out_the_same_final_facts_at_the_same_events(
    sequence: list[Event], wrapuptime: dict[str, float]
) -> None:
    config = TrackerConfig(wrapuptime=wrapuptime)
    revised, final = Tracker(config), Tracker(config, revisions=False)
    end = max((e.at for e in sequence), default=0.0) + 1000.0
    for event in sequence:
        assert final.feed(event) == _final(revised.feed(event)), event
    assert final.finish(end) == _final(revised.finish(end))


def _recorded_events(name: str) -> list[Event]:
    parser = FrameParser()
    frames = TraceReader(trace_dir(name) / "ami.jsonl")
    return [e for e in (parser.parse(f.text, f.received_at) for f in frames) if e is not None]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["smoke", "hold-a"]), st.randoms(use_true_random=False),
       st.floats(0.0, 0.3), st.floats(0.0, 0.2), st.lists(events, max_size=10))
def test_real_traces_shuffled_duplicated_and_salted_keep_the_invariants(
    name: str, rng: random.Random, shuffle_share: float, duplicate_share: float,
    garbage: list[Event],
) -> None:
    stream = _recorded_events(name)
    assert len(stream) > 100
    for _ in range(int(len(stream) * shuffle_share)):
        i, j = rng.randrange(len(stream)), rng.randrange(len(stream))
        stream[i], stream[j] = stream[j], stream[i]
    for _ in range(int(len(stream) * duplicate_share)):
        i = rng.randrange(len(stream))
        stream.insert(rng.randrange(len(stream)), stream[i])
    for event in garbage:
        stream.insert(rng.randrange(len(stream)), event)
    facts = _replay_checked(stream, TrackerConfig())
    _assert_sane(facts)
    _assert_intervals_tile_time(facts)


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary().map(lambda b: b.decode("utf-8", "replace")))
def test_garbage_frames_are_counted_never_raised(garbage: str) -> None:
    parser = FrameParser()
    for frame in (garbage, "Event: AgentConnect\r\n" + garbage, "Event: QueueCallerJoin"):
        parser.parse(frame, 1.0)
    assert parser.stats.frames == 3
    assert parser.stats.events + parser.stats.ignored + parser.stats.malformed == 3


def test_a_clean_trace_yields_sane_facts_whose_intervals_tile_time() -> None:
    for name in ("smoke", "mixed-a", "hold-a"):
        facts = list(replayed_facts(name))
        _assert_sane(facts)
        _assert_intervals_tile_time(facts)
