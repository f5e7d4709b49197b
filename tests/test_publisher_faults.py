"""The live daemon's MQTT side when names, the publisher or the PBX misbehave: collection
never depends on it, and what it publishes says how fresh the figures are."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from structlog.testing import capture_logs

from collector.events import Tick
from kpi.mqtt.payloads import Message
from kpi.mqtt.topics import MAX_LEVEL_BYTES
from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.pbxsim.ami_server import AmiServer
from queuepulse.pbxsim.faults import Faults
from queuepulse.pbxsim.snapshot import Snapshot
from queuepulse.sd_notify import Notifier
from tests.live_pbx import SECRET, TracePbx, daemon_config_toml, stored_calls, until
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
                       published: Callable[[Daemon], bool]) -> Daemon:
    """Run the daemon with MQTT over the whole trace, until ``published`` holds."""
    watching = asyncio.create_task(watcher.run())
    async with pbx.server as server:
        config = parse_config(daemon_config_toml(server.port, db,
                                                 settings=mqtt_settings(broker)))
        daemon = Daemon(config, clock=pbx.now, monotonic=pbx.now, tick_s=0.2,
                        notifier=Notifier(None))
        pbx.daemon = daemon
        pbx.start_when = lambda: daemon.ready
        running = asyncio.create_task(daemon.run())
        try:
            await until(lambda: pbx.finished.is_set() or running.done(), timeout=30)
            pbx.to_the_end()
            await until(lambda: published(daemon) or running.done(), timeout=10)
        finally:
            daemon.stop()
            await running
    watching.cancel()
    return daemon


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


def test_queues_named_with_70000_characters_or_a_nul_leave_everything_else_published(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db = tmp_path / "q.sqlite"
    pbx = TracePbx("smoke")
    watcher = Watcher(mosquitto.port)
    expected = len(replayed_calls("smoke")) + 2

    async def odd_queues() -> None:
        now = pbx.now()
        for frame in [*abandoned(now, "9001.1", LONG_NAME),
                      *abandoned(now, "9001.2", NUL_NAME)]:
            await pbx.server.send(frame)

    pbx.hooks[HALFWAY] = odd_queues
    with capture_logs() as logs:
        daemon = asyncio.run(asyncio.wait_for(follow_trace(
            pbx, db, mosquitto.port, watcher,
            lambda d: today_offered(watcher) == expected), 60))
    calls, _ = stored_calls(db)
    assert len(calls) == expected
    assert calls[("9001.1", LONG_NAME)]["outcome"] == "abandoned"
    assert calls[("9001.2", NUL_NAME)]["outcome"] == "abandoned"
    publisher = daemon.kpis.publisher if daemon.kpis else None
    assert publisher is not None
    assert (publisher.connections, publisher.errors) == (1, 0)
    assert not [e for e in logs if e["event"] in ("mqtt.publish_failed", "mqtt.unavailable")]
    assert watcher.json("queue/support/kpi/today")["offered"] > 0
    odd = {topic for topic in watcher.latest if topic.startswith(f"{BASE}/queue/")
           and topic.endswith("/kpi/today")} - {f"{BASE}/queue/support/kpi/today",
                                                 f"{BASE}/queue/sales/kpi/today"}
    assert len(odd) == 2
    long_topic = next(t for t in odd if "~" in t)
    assert len(long_topic.split("/")[3].encode()) <= MAX_LEVEL_BYTES
    assert f"{BASE}/queue/sup%00port/kpi/today" in odd
    assert json.loads(watcher.latest[long_topic])["queue"] == LONG_NAME
    assert len({c["call_id"] for c in watcher.calls}) == expected


def test_an_unexpected_error_in_publishing_is_counted_logged_and_publishing_resumes(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db = tmp_path / "q.sqlite"
    pbx = TracePbx("smoke")
    watcher = Watcher(mosquitto.port)
    expected = len(replayed_calls("smoke"))
    failures = [RuntimeError("a bug in a source of retained messages")]

    def failing_once() -> Iterable[Message]:
        if failures:
            raise failures.pop()
        return ()

    async def break_publisher() -> None:
        daemon = pbx.daemon
        assert daemon is not None and daemon.kpis is not None
        assert daemon.kpis.publisher is not None
        daemon.kpis.publisher.sources.append(failing_once)

    pbx.hooks[HALFWAY] = break_publisher
    with capture_logs() as logs:
        daemon = asyncio.run(asyncio.wait_for(follow_trace(
            pbx, db, mosquitto.port, watcher,
            lambda d: today_offered(watcher) == expected), 60))
    calls, rows = stored_calls(db)
    assert rows == len(calls) == expected
    publisher = daemon.kpis.publisher if daemon.kpis else None
    assert publisher is not None
    assert (publisher.errors, publisher.connections) == (1, 2)
    [failed] = [e for e in logs if e["event"] == "mqtt.publish_failed"]
    assert (failed["errors"], failed["error"]) == (1, "RuntimeError")
    assert len({c["call_id"] for c in watcher.calls}) == expected


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
