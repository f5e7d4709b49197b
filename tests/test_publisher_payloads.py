"""Topics and payloads: the versioned public MQTT interface, without a broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.facts import AgentState, CallRecord
from collector.live import LiveView
from collector.parser import FrameParser
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.board import KpiBoard
from kpi.mqtt.pacing import Pacing
from kpi.mqtt.payloads import SCHEMA, call_message, kpi_message
from kpi.mqtt.publisher import CALL_BUFFER, MqttPublisher, snapshot_messages
from kpi.mqtt.rendered import RetainedRenderer
from kpi.mqtt.topics import MAX_LEVEL_BYTES, Topics, escape, unescape
from kpi.settings import KpiSettings
from queuepulse.config import parse_config
from tests.kpi_records import answered, interval, unanswered
from tests.traces import TRACE_CONFIG, trace_dir

TOPICS = Topics("queuepulse", "pbx")


def safe(level: str) -> bool:
    """Whether a topic level is one MQTT accepts as such and advises nothing against."""
    return (bool(level) and not {"/", "+", "#"} & set(level) and not level.startswith("$")
            and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in level)
            and len(level.encode()) <= MAX_LEVEL_BYTES)


@given(st.text(max_size=40))
def test_any_name_becomes_one_safe_topic_level_and_comes_back(name: str) -> None:
    level = escape(name)
    assert safe(level)
    assert unescape(level) == name


def test_nul_control_characters_and_an_empty_name_have_safe_levels() -> None:
    assert escape("sup\0port") == "sup%00port" and escape("a\nb") == "a%0Ab"
    assert escape("") == "%" and unescape("%") == ""


@given(st.text(min_size=1, max_size=3).map(lambda piece: piece * 30_000), st.text(max_size=3))
def test_a_name_too_long_for_a_level_is_cut_and_keeps_a_topic_of_its_own(
    name: str, tail: str
) -> None:
    level, other = escape(name), escape(name + "x" + tail)
    assert safe(level) and safe(other) and level != other
    assert "~" in level and unescape(level).startswith(name[:20])


def test_topics_follow_the_documented_scheme() -> None:
    assert TOPICS.kpi("sales", "today") == "queuepulse/pbx/queue/sales/kpi/today"
    assert TOPICS.kpi(None, "15m") == "queuepulse/pbx/all/kpi/15m"
    assert TOPICS.live("a/b") == "queuepulse/pbx/queue/a%2Fb/live"
    assert TOPICS.agent_state("PJSIP/201") == "queuepulse/pbx/agent/PJSIP%2F201/state"
    assert TOPICS.agent_kpi("PJSIP/201", "60m") == "queuepulse/pbx/agent/PJSIP%2F201/kpi/60m"
    assert (TOPICS.status, TOPICS.call, TOPICS.heartbeat) == (
        "queuepulse/pbx/status", "queuepulse/pbx/call", "queuepulse/pbx/heartbeat")


def snapshot_payloads(calls: list) -> dict[str, dict]:  # type: ignore[type-arg]
    board = KpiBoard(KpiSettings())
    board.add(calls)
    messages = snapshot_messages(TOPICS, board.snapshot(LiveView(3000.0, (), (), ())))
    return {m.topic: json.loads(m.payload(3000.0)) for m in messages}


def test_kpi_payload_is_versioned_rounded_and_null_without_data() -> None:
    payloads = snapshot_payloads([answered(1000, wait=12.3456), unanswered(1100, wait=2)])
    today = payloads["queuepulse/pbx/all/kpi/today"]
    assert today["schema"] == SCHEMA and today["updated_at"] == 3000.0
    assert (today["window"], today["queue"], today["since"]) == ("today", None, 0.0)
    assert today["asa_s"] == 12.3 and today["service_level"] == 1.0
    assert today["short_abandoned"] == 1 and today["abandon_rate"] == 0.0
    empty = payloads["queuepulse/pbx/queue/support/kpi/15m"]
    assert empty["offered"] == 0 and empty["service_level"] is None and empty["since"] is None
    assert "occupancy" in today and "occupancy" not in empty


def test_asterisks_resettable_queue_averages_are_never_published() -> None:
    payloads = snapshot_payloads([answered(1000)])
    keys = {k.lower() for p in payloads.values() for k in p}
    assert not keys & {"holdtime", "talktime", "completed", "abandoned_total"}


def test_unchanged_figures_render_the_same_body() -> None:
    board = KpiBoard(KpiSettings())
    board.add([answered(1000)])
    first = board.snapshot(LiveView(2000.0, (), (), ()))
    later = board.snapshot(LiveView(2010.0, (), (), ()))
    today = [kpi_message(TOPICS, k) for k in (first.kpis[0], later.kpis[0])]
    assert today[0].body == today[1].body
    assert today[0].payload(2000.0) != today[1].payload(2010.0)


def test_retained_messages_rendered_only_when_their_inputs_changed_equal_fresh_ones() -> None:
    board = KpiBoard(KpiSettings(), "Europe/Berlin")
    tracker = Tracker(TRACE_CONFIG)
    parser = FrameParser()
    renderer = RetainedRenderer(TOPICS)
    events = (parser.parse(f.text, f.received_at)
              for f in TraceReader(trace_dir("mixed-a") / "ami.jsonl"))
    rendered, compared = [], 0
    for event in (e for e in events if e is not None):
        facts = tracker.feed(event)
        board.add(facts)
        if not any(isinstance(f, CallRecord) for f in facts):
            continue
        snapshot = board.snapshot(tracker.live())
        before = renderer.rendered
        kept = renderer.messages(snapshot, agent_kpis=False)
        fresh = snapshot_messages(TOPICS, snapshot, agent_kpis=False)
        assert [(m.topic, m.body) for m in kept] == [(m.topic, m.body) for m in fresh]
        rendered.append((renderer.rendered - before, len(fresh)))
        compared += 1
        # the same snapshot again renders nothing, and gives the very same messages
        again = renderer.rendered
        assert all(a is b for a, b in zip(renderer.messages(snapshot, agent_kpis=False), kept,
                                          strict=True))
        assert renderer.rendered == again
    assert compared > 20
    # a finished call changes its queue's figures and the live state, not every topic
    assert sum(done for done, _ in rendered[1:]) < 0.7 * sum(total for _, total in rendered[1:])


def test_call_payload_is_the_calls_row() -> None:
    record = answered(1000, wait=5, talk=30)
    message = call_message(TOPICS, record)
    assert not message.retain
    payload = json.loads(message.payload())
    assert payload["call_id"] == record.call_id and payload["outcome"] == "answered"
    assert payload["wait_s"] == 5 and payload["schema"] == SCHEMA


def test_finished_calls_wait_in_a_bounded_buffer_while_the_broker_is_away() -> None:
    config = parse_config("[mqtt]\nenabled = true\nport = 1\n")

    async def scenario() -> None:
        board = KpiBoard(KpiSettings())
        async with MqttPublisher(config.mqtt, config.pbx.id, board,
                                 lambda: LiveView(0.0, (), (), ())) as publisher:
            for n in range(CALL_BUFFER + 2):
                publisher.call_finished(answered(float(n)))
            assert (publisher.calls_dropped, publisher.calls_sent) == (2, 0)

    asyncio.run(scenario())


def test_an_agents_kpis_go_out_when_something_happens_to_it_and_wait_for_their_cycle(
) -> None:
    board = KpiBoard(KpiSettings())
    board.add([interval(AgentState.AVAILABLE, 0.0, 100.0, agent=agent)
               for agent in ("PJSIP/201", "PJSIP/202")])
    pacing = Pacing(TOPICS, cycle_s=1.0)

    def cycle(at: float, now: float) -> set[str]:
        pacing.cycle_started()
        snapshot = board.snapshot(LiveView(at, (), (), ()))
        due = pacing.due(pacing.agent_kpis(snapshot), now)
        pacing.sent(due, now)
        return {unescape(m.topic.split("/")[3]) for m in due}

    assert cycle(200.0, now=0.0) == {"PJSIP/201", "PJSIP/202"}  # new on this connection
    assert cycle(300.0, now=5.0) == set()  # time alone changes no agent's topics
    for ended_at in (110.0, 120.0):
        call = answered(ended_at - 15.0, wait=5.0, talk=10.0, agent="PJSIP/201")
        board.add([call])
        pacing.call_finished(call)
        assert cycle(400.0, now=5.2 + ended_at / 1000) == (
            {"PJSIP/201"} if ended_at == 110.0 else set())  # the second waits its cycle
    assert pacing.held_until == pytest.approx(6.31)
    assert cycle(400.0, now=6.4) == {"PJSIP/201"}
    assert cycle(400.0, now=8.0) == set()
