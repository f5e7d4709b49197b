"""Home Assistant discovery on a real broker: announced, tied to status, re-announced."""

from __future__ import annotations

import asyncio
import json
import re
from importlib import metadata
from pathlib import Path

import aiomqtt
from hypothesis import given
from hypothesis import strategies as st

from kpi.mqtt.homeassistant import SENSORS, discovery_messages
from kpi.mqtt.topics import Topics
from tests.mosquitto import Mosquitto, mosquitto
from tests.test_publisher import live_run, run_async, trace_config, until

__all__ = ["mosquitto"]

CONFIG_TOPIC = "homeassistant/sensor/queuepulse_pbx/support_service_level/config"
TOPICS = Topics("queuepulse", "pbx")


def test_sensors_of_each_queue_are_announced_with_units_availability_and_origin(
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
            # object_id was deprecated in HA 2025.10 and is gone in 2026.4
            assert "object_id" not in sensor
            assert sensor["default_entity_id"] == "sensor.queuepulse_pbx_support_service_level"
            assert sensor["origin"]["name"] == "queuepulse"
            assert sensor["origin"]["sw_version"] == metadata.version("queuepulse")
            # agents talking, paused and in after-call work, read from the live topics
            agents = [f"homeassistant/sensor/queuepulse_pbx/{queue}_agents_{state}/config"
                      for queue in ("support", "all") for state in ("talking", "paused", "acw")]
            await until(lambda: all(t in watcher.latest for t in agents), 3)
            for topic in agents:
                sensor = json.loads(watcher.latest[topic])
                field = sensor["value_template"].removeprefix("{{ value_json.").removesuffix(
                    " }}")
                live = json.loads(watcher.latest[sensor["state_topic"]])
                assert sensor["state_topic"].endswith("/live")
                assert field.split(".")[0] == "agents"
                assert isinstance(live["agents"][field.split(".")[1]], int), topic
                assert sensor["unit_of_measurement"] == "agents"

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


def test_a_queue_named_all_is_not_taken_for_all_queues() -> None:
    messages = discovery_messages(TOPICS, ("all", "All", "all_queues", "sales"),
                                  "homeassistant", "1.0")
    configs = [json.loads(m.body) for m in messages]
    for key in ("unique_id", "default_entity_id", "name"):
        assert len({c[key] for c in configs}) == len(configs), key
    assert len({m.topic for m in messages}) == len(messages)
    by_id = {c["unique_id"]: c for c in configs}
    assert by_id["queuepulse_pbx_all_waiting"]["state_topic"] == "queuepulse/pbx/all/live"
    queue_all = [c for c in configs if c["state_topic"] == "queuepulse/pbx/queue/all/live"
                 and c["value_template"] == "{{ value_json.waiting }}"]
    assert [c["name"] for c in queue_all] == ["all waiting"]
    assert queue_all[0]["unique_id"] == "queuepulse_pbx_all_d87c44_waiting"  # as documented


@given(st.lists(st.text(min_size=1, max_size=12), max_size=6, unique=True))
def test_every_sensor_of_every_queue_has_its_own_id(queues: list[str]) -> None:
    messages = discovery_messages(TOPICS, tuple(queues), "homeassistant", "1.0")
    ids = [json.loads(m.body)["unique_id"] for m in messages]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"sensor\.[a-z0-9]+(_[a-z0-9]+)*", json.loads(m.body)[
        "default_entity_id"]) for m in messages)


def test_a_queue_with_a_very_long_name_gets_a_short_id_and_label() -> None:
    long_name = "Sales " * 12_000
    configs = [json.loads(m.body) for m in discovery_messages(
        TOPICS, (long_name, long_name + "2"), "homeassistant", "1.0")]
    ids = {c["unique_id"] for c in configs}
    assert len(ids) == len(configs) and max(map(len, ids)) < 100
    assert max(len(c["name"]) for c in configs) < 100
    assert max(len(c["state_topic"].encode()) for c in configs) < 300


def test_the_pbx_connection_is_a_connectivity_binary_sensor() -> None:
    [config] = [json.loads(m.body) for m in discovery_messages(
        TOPICS, ("sales",), "homeassistant", "1.0", ami=True) if "binary_sensor" in m.topic]
    assert config["default_entity_id"] == "binary_sensor.queuepulse_pbx_pbx_connected"
    assert (config["state_topic"], config["json_attributes_topic"]) == (TOPICS.ami,) * 2
    assert (config["device_class"], config["availability_topic"]) == ("connectivity",
                                                                      TOPICS.status)


def test_no_sensor_key_ends_with_another_so_ids_cannot_collide() -> None:
    keys = [s.key for s in SENSORS] + ["occupancy"]
    for key in keys:
        assert not [other for other in keys if other != key and other.endswith("_" + key)]


def test_the_origin_names_where_to_get_help_when_it_is_known() -> None:
    with_url = json.loads(discovery_messages(TOPICS, ("sales",), "homeassistant", "1.2",
                                             "https://example.org/issues")[0].body)
    assert with_url["origin"] == {"name": "queuepulse", "sw_version": "1.2",
                                  "support_url": "https://example.org/issues"}
    without = json.loads(discovery_messages(TOPICS, ("sales",), "homeassistant", "1.2")[0].body)
    assert without["origin"] == {"name": "queuepulse", "sw_version": "1.2"}
