"""Home Assistant discovery on a real broker: announced, tied to status, re-announced."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt

from tests.mosquitto import Mosquitto, mosquitto
from tests.test_publisher import live_run, run_async, trace_config, until

__all__ = ["mosquitto"]

CONFIG_TOPIC = "homeassistant/sensor/queuepulse_pbx/support_service_level/config"


def test_sensors_are_announced_per_queue_with_units_and_availability(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            await run.feed("smoke", speed=1000.0)
            await until(lambda: CONFIG_TOPIC in watcher.latest, 3)
            sensor = json.loads(watcher.latest[CONFIG_TOPIC])
            assert sensor["state_topic"] == "queuepulse/pbx/queue/support/kpi/today"
            assert sensor["unit_of_measurement"] == "%"
            assert sensor["state_class"] == "measurement"
            assert sensor["availability_topic"] == "queuepulse/pbx/status"
            assert sensor["device"]["identifiers"] == ["queuepulse_pbx"]
            asa = json.loads(watcher.latest[
                "homeassistant/sensor/queuepulse_pbx/all_asa_s/config"])
            assert (asa["unit_of_measurement"], asa["device_class"]) == ("s", "duration")
            offered = json.loads(watcher.latest[
                "homeassistant/sensor/queuepulse_pbx/sales_offered/config"])
            assert offered["state_class"] == "total_increasing"

    run_async(scenario)


def test_sensors_are_announced_again_when_home_assistant_comes_online(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = trace_config(mosquitto.port)

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):

            def announcements() -> int:
                return sum(1 for _, topic, _ in watcher.arrivals if topic == CONFIG_TOPIC)

            await run.feed("smoke", speed=1000.0)
            await until(lambda: announcements() == 1, 3)
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
                await client.publish("homeassistant/status", "online", qos=1)
            await until(lambda: announcements() == 2, 3)

    run_async(scenario)


def test_nothing_is_announced_when_discovery_is_off(mosquitto: Mosquitto,
                                                    tmp_path: Path) -> None:
    config = trace_config(mosquitto.port, "homeassistant = false\n")

    async def scenario() -> None:
        async with live_run(config, tmp_path) as (run, watcher):
            await run.feed("smoke", speed=1000.0)
            await until(lambda: "queuepulse/pbx/all/kpi/today" in watcher.latest, 3)
            await asyncio.sleep(0.2)
            assert not [t for t in watcher.latest if t.startswith("homeassistant/")]

    run_async(scenario)
