"""A broker that wants a password, or is not there: queuepulse logs in, or says which
setting to fix and when it tries again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from collector.live import LiveView
from kpi.board import KpiBoard
from kpi.mqtt.publisher import MqttPublisher
from kpi.settings import KpiSettings
from tests.mosquitto import Mosquitto
from tests.test_daemon_commands import free_port
from tests.test_publisher import trace_config, until


def connect_with(tmp_path: Path,
                 password: str) -> tuple[MqttPublisher, list[MutableMapping[str, Any]]]:
    broker = Mosquitto(tmp_path, users={"queuepulse": "s3cret-mqtt"})
    broker.start()
    config = trace_config(broker.port, f'username = "queuepulse"\npassword = "{password}"\n')

    async def scenario() -> MqttPublisher:
        async with MqttPublisher(config.mqtt, config.pbx.id, KpiBoard(KpiSettings()),
                                 lambda: LiveView(0.0, (), (), ())) as publisher:
            task = asyncio.create_task(publisher.run())
            with contextlib.suppress(AssertionError):  # refused: never connected
                await until(lambda: publisher.connected, 1.5)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return publisher

    try:
        with capture_logs() as logs:
            publisher = asyncio.run(scenario())
    finally:
        broker.stop()
    return publisher, logs


def test_username_and_password_from_the_config_log_in(tmp_path: Path) -> None:
    publisher, _ = connect_with(tmp_path, "s3cret-mqtt")
    assert publisher.connections == 1


def test_a_wrong_password_is_logged_with_the_settings_to_fix(tmp_path: Path) -> None:
    publisher, logs = connect_with(tmp_path, "wrong")
    assert publisher.connections == 0
    (refused, *_) = [e for e in logs if e["event"] == "mqtt.unavailable"]
    assert "mqtt.username and mqtt.password" in str(refused["fix"])
    assert "wrong" not in repr(logs)


def test_while_the_broker_is_away_a_retry_waits_at_most_mqtt_reconnect_max_s() -> None:
    config = trace_config(free_port(), "reconnect_max_s = 0.05\n")

    async def scenario() -> None:
        async with MqttPublisher(config.mqtt, config.pbx.id, KpiBoard(KpiSettings()),
                                 lambda: LiveView(0.0, (), (), ())) as publisher:
            task = asyncio.create_task(publisher.run())
            await until(lambda: any(e["event"] == "mqtt.unavailable" for e in logs), 5)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    with capture_logs() as logs:
        asyncio.run(scenario())
    (away, *_) = [e for e in logs if e["event"] == "mqtt.unavailable"]
    assert away["attempt"] == 1 and 0.0 <= away["retry_in_s"] <= 0.05
    assert "mqtt.host and mqtt.port" in str(away["fix"])
