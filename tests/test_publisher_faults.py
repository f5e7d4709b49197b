"""The live daemon's MQTT side when names, the publisher or the PBX misbehave: collection
never depends on it, and what it publishes says how fresh the figures are."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from collector.events import Tick
from kpi.mqtt.payloads import Message
from kpi.mqtt.publisher import MqttPublisher
from kpi.mqtt.topics import MAX_LEVEL_BYTES
from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.pbxsim.ami_server import AmiServer
from queuepulse.pbxsim.faults import Faults
from queuepulse.pbxsim.snapshot import Snapshot
from queuepulse.sd_notify import Notifier
from tests.live_pbx import (
    SECRET,
    TracePbx,
    daemon_config_toml,
    run_live_with_mqtt,
    stored_calls,
    until,
)
from tests.mosquitto import Mosquitto, mosquitto
from tests.scenarios import caller_event, channel_event, join
from tests.test_publisher import BASE, Watcher
from tests.traces import replayed_calls

__all__ = ["mosquitto"]

HALFWAY = 600
"""A feed event of the smoke trace with calls open before and after it."""
LONG_NAME = "Q" * 70_000
NUL_NAME = "sup\0port"


def mqtt_settings(port: int, extra: str = "") -> str:
    return f"[mqtt]\nenabled = true\nport = {port}\nheartbeat_s = 1.0\n{extra}"


async def follow_trace(pbx: TracePbx, db: Path, broker: int, watcher: Watcher,
                       done: Callable[[Daemon], bool]) -> Daemon:
    """Run the daemon with MQTT over the whole trace, watched, until ``done`` holds."""
    watching = asyncio.create_task(watcher.run())
    try:
        return await run_live_with_mqtt(pbx, db, broker, done)
    finally:
        watching.cancel()


def abandoned(at: float, uid: str, queue: str) -> list[str]:
    """The frames of a caller who gives up in ``queue``, as the AMI server sends them."""
    text = (join(at, uid, queue)
            + channel_event("HangupRequest", at + 0.1, uid, uid, "Cause: 16\n")
            + caller_event("QueueCallerAbandon", at + 0.2, uid, queue,
                           "Position: 1\nOriginalPosition: 1\nHoldTime: 0\n")
            + caller_event("QueueCallerLeave", at + 0.2, uid, queue, "Count: 0\nPosition: 1\n"))
    return [frame.replace("\n", "\r\n") for frame in text.strip("\n").split("\n\n")]


def ami_state(watcher: Watcher) -> str | None:
    if f"{BASE}/ami" not in watcher.latest:
        return None
    return str(watcher.json("ami")["state"])


def today_offered(watcher: Watcher) -> int | None:
    if f"{BASE}/all/kpi/today" not in watcher.latest:
        return None
    return int(watcher.json("all/kpi/today")["offered"])


@dataclass(frozen=True)
class Published:
    """What a run of the smoke trace left in SQLite and on the broker, and its log."""

    calls: dict[tuple[str, str], dict[str, object]]
    publisher: MqttPublisher
    watcher: Watcher
    logs: list[MutableMapping[str, Any]]


def smoke_published(broker: int, folder: Path,
                    halfway: Callable[[TracePbx], Awaitable[None]], more_calls: int = 0
                    ) -> Published:
    """The smoke trace through the daemon with MQTT on, ``halfway`` run halfway through,
    until the published KPIs count every call (the trace's and ``more_calls``)."""
    pbx = TracePbx("smoke")
    watcher = Watcher(broker)
    expected = len(replayed_calls("smoke")) + more_calls
    pbx.hooks[HALFWAY] = lambda: halfway(pbx)
    with capture_logs() as logs:
        daemon = asyncio.run(asyncio.wait_for(follow_trace(
            pbx, folder / "q.sqlite", broker, watcher,
            lambda d: today_offered(watcher) == expected), 60))
    calls, rows = stored_calls(folder / "q.sqlite")
    assert rows == len(calls) == expected
    assert len({c["call_id"] for c in watcher.calls}) == expected
    assert daemon.kpis is not None and daemon.kpis.publisher is not None
    return Published(calls, daemon.kpis.publisher, watcher, logs)


def test_queues_named_with_70000_characters_or_a_nul_leave_everything_else_published(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async def odd_queues(pbx: TracePbx) -> None:
        now = pbx.now()
        for frame in [*abandoned(now, "9001.1", LONG_NAME),
                      *abandoned(now, "9001.2", NUL_NAME)]:
            await pbx.server.send(frame)

    run = smoke_published(mosquitto.port, tmp_path, odd_queues, more_calls=2)
    assert run.calls[("9001.1", LONG_NAME)]["outcome"] == "abandoned"
    assert run.calls[("9001.2", NUL_NAME)]["outcome"] == "abandoned"
    assert (run.publisher.connections, run.publisher.errors) == (1, 0)
    assert not [e for e in run.logs
                if e["event"] in ("mqtt.publish_failed", "mqtt.unavailable")]
    watcher = run.watcher
    assert watcher.json("queue/support/kpi/today")["offered"] > 0
    odd = {topic for topic in watcher.latest if topic.startswith(f"{BASE}/queue/")
           and topic.endswith("/kpi/today")} - {f"{BASE}/queue/support/kpi/today",
                                                 f"{BASE}/queue/sales/kpi/today"}
    assert len(odd) == 2
    long_topic = next(t for t in odd if "~" in t)
    assert len(long_topic.split("/")[3].encode()) <= MAX_LEVEL_BYTES
    assert f"{BASE}/queue/sup%00port/kpi/today" in odd
    assert json.loads(watcher.latest[long_topic])["queue"] == LONG_NAME


def test_an_unexpected_error_in_publishing_is_counted_logged_and_publishing_resumes(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    failures = [RuntimeError("a bug in a source of retained messages")]

    def failing_once() -> Iterable[Message]:
        if failures:
            raise failures.pop()
        return ()

    async def break_publisher(pbx: TracePbx) -> None:
        daemon = pbx.daemon
        assert daemon is not None and daemon.kpis is not None
        assert daemon.kpis.publisher is not None
        daemon.kpis.publisher.sources.append(failing_once)

    run = smoke_published(mosquitto.port, tmp_path, break_publisher)
    assert (run.publisher.errors, run.publisher.connections) == (1, 2)
    [failed] = [e for e in run.logs if e["event"] == "mqtt.publish_failed"]
    assert (failed["errors"], failed["error"]) == (1, "RuntimeError")


def test_the_ami_state_is_published_while_the_pbx_is_away_and_after(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db = tmp_path / "q.sqlite"
    pbx = TracePbx("smoke", faults=(Faults(drop_after=HALFWAY),))
    watcher = Watcher(mosquitto.port)
    away: dict[str, object] = {}

    async def outage() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        pbx.server.secret = "reloading"  # the manager refuses logins for a while
        await until(lambda: not daemon.connected)
        await until(lambda: ami_state(watcher) == "disconnected"
                    and "login refused" in str(watcher.json("ami")["problem"]))
        away.update(watcher.json("ami"))
        pbx.server.snapshot = pbx.snapshot_after(HALFWAY)
        pbx.server.secret = SECRET

    pbx.hooks[HALFWAY] = outage
    asyncio.run(asyncio.wait_for(follow_trace(
        pbx, db, mosquitto.port, watcher,
        lambda d: d.stats.connections == 2 and ami_state(watcher) == "connected"), 60))
    states = [json.loads(payload)["state"] for _, topic, payload in watcher.arrivals
              if topic == f"{BASE}/ami"]
    # the first may come before the first login, or during the outage already
    assert [s for s, _ in itertools.groupby(states)][-2:] == ["disconnected", "connected"]
    assert str(away["problem"]).startswith("AMI login refused for user queuepulse")
    assert isinstance(away["since"], float) and away["address"] == f"127.0.0.1:{pbx.server.port}"
    config = json.loads(watcher.latest[
        "homeassistant/binary_sensor/queuepulse_pbx/pbx_connected/config"])
    assert (config["state_topic"], config["device_class"]) == (f"{BASE}/ami", "connectivity")
    assert (config["payload_on"], config["payload_off"]) == ("connected", "disconnected")


def members(count: int) -> Snapshot:
    """A PBX with ``count`` agents logged in to one queue, none of them busy."""
    frames = ["Event: QueueParams\r\nQueue: support\r\nMax: 0\r\nStrategy: rrmemory\r\n"
              "Calls: 0\r\nHoldtime: 0\r\nTalkTime: 0\r\nCompleted: 0\r\nAbandoned: 0\r\n"
              "ServiceLevel: 20\r\nServicelevelPerf: 0.0\r\nWeight: 0"]
    frames += [f"Event: QueueMember\r\nQueue: support\r\nName: Agent {n}\r\n"
               f"Location: PJSIP/{200 + n}\r\nMembership: static\r\nPenalty: 0\r\n"
               "CallsTaken: 0\r\nLastCall: 0\r\nInCall: 0\r\nStatus: 1\r\nPaused: 0\r\n"
               "PausedReason: \r\nWrapuptime: 0" for n in range(count)]
    return Snapshot(tuple(frames))


STEADY_S = 4.0


def steady_rate(broker: int, folder: Path, agents: int) -> float:
    """Messages a second a daemon sends for a PBX where ``agents`` agents sit idle."""
    watcher = Watcher(broker)

    async def scenario() -> float:
        watching = asyncio.create_task(watcher.run())
        async with AmiServer(secret=SECRET, snapshot=members(agents),
                             auth_failure_delay=0.0) as server:
            config = parse_config(daemon_config_toml(
                server.port, folder / f"{agents}.sqlite",
                settings=f'[pbx]\nid = "idle{agents}"\n' + mqtt_settings(broker)))
            daemon = Daemon(config, tick_s=0.2, notifier=Notifier(None))
            running = asyncio.create_task(daemon.run())
            try:
                await until(lambda: daemon.ready)
                daemon.tracker.feed(Tick(time.time()))
                await asyncio.sleep(2.0)  # every retained topic sent once, on connecting
                start = time.monotonic()
                counted = len(watcher.arrivals)
                await asyncio.sleep(STEADY_S)
                rate = (len(watcher.arrivals) - counted) / (time.monotonic() - start)
                agent_topics = {t for _, t, _ in watcher.arrivals
                                if t.startswith(f"queuepulse/idle{agents}/agent/")}
                assert len(agent_topics) == 4 * agents  # the state and three windows each
            finally:
                daemon.stop()
                await running
                watching.cancel()
        return rate

    return asyncio.run(asyncio.wait_for(scenario(), 30))


def test_messages_a_second_at_steady_state_do_not_grow_with_idle_agents(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    few, many = steady_rate(mosquitto.port, tmp_path, 2), steady_rate(mosquitto.port,
                                                                      tmp_path, 60)
    print(f"idle call center: {few:.1f} messages/s with 2 agents, {many:.1f} with 60")
    # sending every agent's KPIs as their logged-in time grows was 3 more a second each
    assert many <= few + 2.0
    assert few <= 6.0
