"""Alerts end to end: the demo PBX over AMI, the daemon, its board and a real broker."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.demo_run import demo_config
from queuepulse.pbxsim.demo_pbx import DemoPbx
from queuepulse.sd_notify import Notifier
from tests.live_pbx import until
from tests.mosquitto import Mosquitto, mosquitto
from tests.test_publisher import Watcher

__all__ = ["mosquitto"]

SPEED = 60.0
ALERTS = """
[alerts]
for_s = 3
waiting = 1
waiting_clear = 0
longest_wait_s = 0
service_level_below = 0
agent_paused_min = 0
no_agent_available = false
"""


def test_a_queue_with_callers_waiting_raises_and_clears_its_alert_on_mqtt(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    watcher = Watcher(mosquitto.port)
    changes: list[dict[str, Any]] = []

    def alert_changes() -> list[dict[str, Any]]:
        found = [json.loads(payload) for _, topic, payload in watcher.arrivals
                 if topic.startswith("queuepulse/demo/queue/") and "/alert/waiting" in topic]
        return [p for p in found if p["queue"] == "support"]

    def raised_and_cleared() -> bool:
        changes[:] = alert_changes()
        states = [c["active"] for c in changes]
        return True in states and False in states[states.index(True):]

    async def scenario() -> None:
        watching = asyncio.create_task(watcher.run())
        async with DemoPbx(speed=SPEED, seed=2) as pbx:
            text = demo_config(pbx, tmp_path / "d.sqlite", ("127.0.0.1", mosquitto.port),
                               True, "UTC")
            config = parse_config(text + ALERTS)
            daemon = Daemon(config, monotonic=lambda: time.monotonic() * SPEED,
                            notifier=Notifier(None))
            running = asyncio.create_task(daemon.run())
            try:
                await until(raised_and_cleared, timeout=40)
            finally:
                daemon.stop()
                await running
                watching.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    first = changes[[c["active"] for c in changes].index(True)]
    assert first["value"] >= first["threshold"] == 1
    assert first["since"] is not None
    later = [c for c in changes if c["since"] is not None and c["since"] > first["since"]]
    cleared = next(c for c in later if not c["active"])
    # published at most once a cycle: a caller may have joined again since the clear
    assert cleared["clear"] == 0 and cleared["threshold"] == 1
    discovery = watcher.latest[
        "homeassistant/binary_sensor/queuepulse_demo/support_alert_waiting/config"]
    config = json.loads(discovery)
    assert config["state_topic"] == "queuepulse/demo/queue/support/alert/waiting"
    assert config["device_class"] == "problem"
