"""The MQTT publisher against a real mosquitto, fed by recorded traces replayed in time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from sqlite_utils import Database

from collector.events import Tick
from collector.facts import CallRecord, Fact
from collector.parser import FrameParser
from collector.store.opening import open_database
from collector.store.writes import write_facts
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.board import KpiBoard
from kpi.mqtt.payloads import Message
from kpi.mqtt.publisher import RETAINED_CHUNK, MqttPublisher
from kpi.mqtt.topics import escape
from queuepulse.config import Config, parse_config
from queuepulse.kpi_settings import settings_from_config
from tests.mosquitto import Mosquitto, mosquitto
from tests.traces import TRACE_CONFIG_TOML, TRACE_NAMES, LoggedCall, logged_calls, trace_dir

__all__ = ["mosquitto"]

# the recording PBX's queues.conf: servicelevel 20 s on support, 30 s on sales
THRESHOLDS = {"support": 20, "sales": 30, "helpdesk": 20}
SHORT_ABANDON_S = 5
BASE = "queuepulse/pbx"


def trace_config(port: int, extra: str = "") -> Config:
    """The traces' configuration, publishing to the test broker."""
    return parse_config(
        TRACE_CONFIG_TOML + "service_level_s = 30\n"
        f"[mqtt]\nenabled = true\nport = {port}\nheartbeat_s = 1.0\n{extra}"
    )


@dataclass
class Watcher:
    """A subscriber to every topic, reconnecting like any client would."""

    port: int
    latest: dict[str, bytes] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[tuple[float, str, bytes]] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port) as client:
                    await client.subscribe("queuepulse/#", qos=1)
                    await client.subscribe("homeassistant/#", qos=1)
                    async for message in client.messages:
                        payload = message.payload
                        assert isinstance(payload, bytes)
                        topic = message.topic.value
                        self.arrivals.append((time.monotonic(), topic, payload))
                        if topic == f"{BASE}/call":
                            self.calls.append(json.loads(payload))
                        else:
                            self.latest[topic] = payload
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)

    def json(self, topic: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.latest[f"{BASE}/{topic}"])
        return value


@dataclass
class LiveRun:
    """A trace fed through tracker, SQLite, board and publisher, as the daemon does."""

    config: Config
    db: Database
    tracker: Tracker
    board: KpiBoard
    publisher: MqttPublisher
    records: dict[str, CallRecord] = field(default_factory=dict)
    """Each stint's latest record, by call_id."""
    revisions: int = 0
    """Every record handed to the publisher: a stint's record is revised as it goes on."""

    def deliver(self, facts: list[Fact]) -> None:
        write_facts(self.db, facts, source="live")
        self.board.add(facts)
        for fact in facts:
            if isinstance(fact, CallRecord):
                self.records[fact.call_id] = fact
                self.revisions += 1
                self.publisher.call_finished(fact)

    async def feed(self, name: str, speed: float, stop_after_s: float | None = None) -> None:
        """Feed a trace paced at ``speed`` times real time, then let pending rules fire;
        or stop ``stop_after_s`` trace seconds in, leaving the calls of that moment open."""
        parser = FrameParser()
        frames = list(TraceReader(trace_dir(name) / "ami.jsonl"))
        loop = asyncio.get_running_loop()
        start, first = loop.time(), frames[0].received_at
        for frame in frames:
            if stop_after_s is not None and frame.received_at - first > stop_after_s:
                return
            delay = start + (frame.received_at - first) / speed - loop.time()
            await asyncio.sleep(max(0.0, delay))
            event = parser.parse(frame.text, frame.received_at)
            if event is not None:
                self.deliver(self.tracker.feed(event))
        self.deliver(self.tracker.feed(Tick(frames[-1].received_at + 15.0)))


@contextlib.asynccontextmanager
async def live_run(config: Config, folder: Path) -> AsyncIterator[tuple[LiveRun, Watcher]]:
    """A publisher task and a watcher task around a fresh tracker, board and database."""
    tracker = Tracker(config.tracker_config())
    board = KpiBoard(settings_from_config(config), config.pbx.timezone)
    async with MqttPublisher(config.mqtt, config.pbx.id, board, tracker.live) as publisher:
        run = LiveRun(config, open_database(str(folder / "q.sqlite")), tracker, board, publisher)
        watcher = Watcher(config.mqtt.port)
        async with asyncio.TaskGroup() as tasks:
            watching = tasks.create_task(watcher.run(), name="watcher")
            publishing = tasks.create_task(publisher.run(), name="publisher")
            try:
                yield run, watcher
            finally:
                publishing.cancel()
                await asyncio.sleep(0.3)
                watching.cancel()


async def until(condition: Callable[[], bool], timeout_s: float) -> float:
    """Wait until ``condition`` holds; return how long that took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def run_async(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 45))


@dataclass(frozen=True)
class LoggedKpis:
    """The KPIs queue_log gives, computed here from its whole-second waits."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    sl_lowest: float | None
    sl_highest: float | None
    asa_s: float | None


def from_queue_log(calls: list[LoggedCall],
                   thresholds: dict[str, int] | None = None) -> LoggedKpis:
    """Independent KPIs from queue_log; its waits are whole seconds (time_t differences), so
    a wait logged as exactly the threshold could be either side of it: SL is a range."""
    thresholds = THRESHOLDS if thresholds is None else thresholds
    answered = [c for c in calls if c.outcome == "answered"]
    abandons = [c for c in calls if c.outcome == "abandoned"]
    short = [c for c in abandons if c.wait is not None and c.wait < SHORT_ABANDON_S]
    waits = [c.wait for c in answered if c.wait is not None]
    surely = sum(1 for c in answered if c.wait is not None and c.wait < thresholds[c.queue])
    maybe = sum(1 for c in answered if c.wait == thresholds[c.queue])
    denominator = len(answered) + len(abandons) - len(short)
    return LoggedKpis(
        offered=len(calls),
        answered=len(answered),
        abandoned=len(abandons) - len(short),
        short_abandoned=len(short),
        sl_lowest=surely / denominator if denominator else None,
        sl_highest=(surely + maybe) / denominator if denominator else None,
        asa_s=statistics.fmean(waits) if waits else None,
    )


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_retained_kpis_equal_queue_log_after_a_replay(
    name: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            await run.feed(name, speed=1000.0)
            logged = list(logged_calls(name).values())
            await until(lambda: f"{BASE}/all/kpi/today" in watcher.latest
                        and watcher.json("all/kpi/today")["offered"] == len(logged), 5)
            for queue in [None, *sorted({c.queue for c in logged})]:
                topic = "all/kpi/today" if queue is None else f"queue/{queue}/kpi/today"
                published = watcher.json(topic)
                expected = from_queue_log([c for c in logged if queue in (None, c.queue)])
                counts = (published["offered"], published["answered"], published["abandoned"],
                          published["short_abandoned"])
                assert counts == (expected.offered, expected.answered, expected.abandoned,
                                  expected.short_abandoned), topic
                assert expected.sl_lowest is not None and expected.sl_highest is not None
                assert (round(expected.sl_lowest, 4) <= published["service_level"]
                        <= round(expected.sl_highest, 4)), topic
                assert expected.asa_s is not None
                assert abs(published["asa_s"] - expected.asa_s) <= 1.0, topic

    run_async(scenario)


def test_every_finished_call_is_published_with_its_full_record(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            await asyncio.sleep(0.3)  # the watcher subscribes before the first call
            await run.feed("smoke", speed=100.0)
            await until(lambda: len(watcher.calls) == run.revisions, 5)
            # each revision goes out in order: the last one a stint's final record
            by_id = {c["call_id"]: c for c in watcher.calls}
            assert len(by_id) < run.revisions
            for record in run.records.values():
                published = by_id[record.call_id]
                assert published["schema"] == 1 and published["pbx"] == "pbx"
                assert {k: published[k] for k in record.as_row()} == json.loads(
                    json.dumps(record.as_row()))

    run_async(scenario)


def test_a_quiet_queues_kpis_go_out_at_once_and_a_busy_topic_at_most_once_a_cycle(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    cycle_s = 3.0  # long, so that a change going out at once is not the periodic cycle
    config = trace_config(mosquitto.port, f"kpi_interval_s = {cycle_s}\n")

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            await asyncio.sleep(0.3)  # the watcher subscribes before the first call
            await run.feed("mixed-a", speed=100.0)
            topic = f"{BASE}/all/kpi/today"
            await until(lambda: topic in watcher.latest
                        and watcher.json("all/kpi/today")["offered"] == len(run.records), 8)
            for name in {t for _, t, _ in watcher.arrivals if t.startswith(f"{BASE}/all/")}:
                times = [t for t, arrived, _ in watcher.arrivals if arrived == name]
                # the broker may deliver a message late and the next one on time
                assert all(b - a >= cycle_s - 0.5 for a, b in itertools.pairwise(times)), name
            await asyncio.sleep(cycle_s + 0.2)  # a quiet cycle
            last = list(run.records.values())[-1]
            late = replace(last, uniqueid="late.1", entered_at=last.entered_at + 1.0)
            offered = len(run.records) + 1
            run.deliver([late])
            waited = await until(lambda: watcher.json("all/kpi/today")["offered"] == offered,
                                 2.0)
            assert waited < 0.5
            assert watcher.json(f"queue/{escape(late.queue)}/kpi/today")["offered"] == sum(
                1 for r in run.records.values() if r.queue == late.queue)

    run_async(scenario)


def test_a_resend_of_more_retained_messages_than_a_chunk_arrives_whole(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)
    messages = [Message(f"{BASE}/bulk/{i}", f'{{"n": {i}}}', retain=True)
                for i in range(2 * RETAINED_CHUNK + 7)]

    async def scenario() -> None:
        tracker = Tracker(config.tracker_config())
        board = KpiBoard(settings_from_config(config), config.pbx.timezone)
        async with (MqttPublisher(config.mqtt, config.pbx.id, board, tracker.live) as publisher,
                    aiomqtt.Client("127.0.0.1", mosquitto.port) as client):
            await publisher._send_all(client, messages, at=None, now=0.0)
        seen: set[str] = set()
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as reader:
            await reader.subscribe(f"{BASE}/bulk/#", qos=1)
            async with asyncio.timeout(10):
                async for message in reader.messages:
                    seen.add(message.topic.value)
                    if len(seen) == len(messages):
                        break
        assert seen == {m.topic for m in messages}

    run_async(scenario)


def test_live_state_agent_states_status_and_heartbeat_are_published(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            await run.feed("smoke", speed=100.0)
            await until(lambda: f"{BASE}/heartbeat" in watcher.latest, 3)
            assert watcher.latest[f"{BASE}/status"] == b"online"
            # the last change may wait for the end of its topic's second
            await until(lambda: watcher.json("queue/support/live")["waiting"] == 0, 2)
            live = watcher.json("queue/support/live")
            assert live["schema"] == 1
            assert live["longest_wait_s"] is None
            (now,) = [a for a in run.tracker.live().agents if a.name == "Agent One"]
            topic = "agent/Local%2Fagent1@agents%2Fn/state"
            await until(lambda: watcher.json(topic)["state"] == now.state.value, 3)
            agent = watcher.json(topic)
            assert (agent["interface"], agent["name"], agent["since"]) == (
                "Local/agent1@agents/n", "Agent One", round(now.since, 3))
            # the last call is handled once its after-call work is decided, at the last tick
            mine = "agent/Local%2Fagent1@agents%2Fn/kpi/today"
            await until(lambda: watcher.json(mine)["handled"] == 5, 3)
            kpi = watcher.json(mine)
            assert 0 < kpi["occupancy"] <= 1
            everything = watcher.json("all/kpi/today")
            assert 0 < everything["occupancy"] <= 1 and everything["agents"] == 4

    run_async(scenario)


def test_callers_waiting_show_in_the_live_state_with_the_longest_wait(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            # 30 s into smoke, two callers wait in support
            await run.feed("smoke", speed=1000.0, stop_after_s=30.0)
            now = run.tracker.live()
            waiting = now.waiting("support")
            assert len(waiting) >= 1
            longest = int(now.at - min(c.entered_at for c in waiting))
            await until(lambda: f"{BASE}/queue/support/live" in watcher.latest
                        and watcher.json("queue/support/live")["waiting"] == len(waiting), 3)
            live = watcher.json("queue/support/live")
            assert live["longest_wait_s"] == longest
            assert watcher.json("all/live")["waiting"] == len(now.waiting())

    run_async(scenario)


def test_a_cycle_with_neither_a_fact_nor_an_event_since_the_last_takes_no_snapshot(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port, "kpi_interval_s = 0.2\n")

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            # stop 30 s in: two callers wait in support, so time alone changes a figure
            await run.feed("smoke", speed=1000.0, stop_after_s=30.0)
            await until(lambda: run.publisher.calls_sent == run.revisions
                        and f"{BASE}/queue/support/live" in watcher.latest, 3)
            publisher = run.publisher
            cycles, snapshots = publisher.cycles, publisher.snapshots
            await until(lambda: publisher.cycles >= cycles + 3, 3)
            assert publisher.snapshots <= snapshots + 1  # one may have been under way
            # time moves (a tick): the live view differs, so the next cycle looks again
            snapshots = publisher.snapshots
            run.deliver(run.tracker.feed(Tick(run.tracker.now + 7.0)))
            now = run.tracker.live()
            waiting = now.waiting("support")
            assert waiting
            longest = int(now.at - min(c.entered_at for c in waiting))
            await until(lambda: publisher.snapshots > snapshots, 3)
            await until(lambda: watcher.json("queue/support/live")["longest_wait_s"]
                        == longest, 3)

    run_async(scenario)


def test_stopping_the_publisher_leaves_status_offline(mosquitto: Mosquitto,
                                                      tmp_path: Path) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (_, watcher):
            await until(lambda: watcher.latest.get(f"{BASE}/status") == b"online", 3)
        # the watcher is gone too: ask the broker for the retained status afresh
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.subscribe(f"{BASE}/status", qos=1)
            async for message in client.messages:
                assert message.payload == b"offline" and message.retain
                break

    run_async(scenario)


def test_broker_restart_loses_no_call_and_retained_state_returns_quickly(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)
    figures: dict[str, float] = {}

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            feeding = asyncio.create_task(run.feed("mixed-a", speed=60.0))
            await asyncio.sleep(2.0)
            await asyncio.to_thread(mosquitto.stop)
            await asyncio.sleep(1.5)
            assert not run.publisher.connected
            await asyncio.to_thread(mosquitto.start)
            returned = time.monotonic()

            def current() -> bool:
                arrived = [t for t, topic, _ in watcher.arrivals
                           if topic == f"{BASE}/all/kpi/today" and t >= returned]
                return bool(arrived) and (watcher.json("all/kpi/today")["offered"]
                                          == len(run.records))

            figures["restored_s"] = await until(current, 5.0)
            await feeding
            await until(lambda: run.publisher.calls_sent == run.revisions, 5)
        stored = run.db.execute("SELECT count(*) FROM calls").fetchone()[0]
        assert stored == len(logged_calls("mixed-a")) == len(run.records)
        assert run.publisher.calls_dropped == 0 and run.publisher.connections >= 2
        assert {c["call_id"] for c in watcher.calls} <= set(run.records)

    run_async(scenario)
    print(f"retained state current {figures['restored_s']:.2f} s after the broker returned")
    assert figures["restored_s"] < 5.0
