"""The whole daemon with MQTT on: simulated PBX -> AMI -> tracker -> SQLite and mosquitto."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from queuepulse.daemon import Daemon
from tests.live_pbx import TracePbx, run_live_with_mqtt, stored_calls, until
from tests.mosquitto import Mosquitto, mosquitto
from tests.test_publisher import BASE, Watcher, from_queue_log
from tests.traces import logged_calls

__all__ = ["mosquitto"]

STOP_AT, START_AT = 2000, 5000
"""Feed events of mixed-a after which the broker is stopped, and started again."""


def offered(daemon: Daemon) -> int:
    """The calls offered today as the daemon's own board counts them."""
    assert daemon.board is not None
    snapshot = daemon.board.snapshot(daemon.live())
    return next(k.calls.offered for k in snapshot.kpis
                if k.queue is None and k.window.name == "today")


def test_daemon_publishes_kpis_equal_to_queue_log_across_a_broker_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    logged = list(logged_calls("mixed-a").values())
    db = tmp_path / "live.sqlite"
    figures: dict[str, float] = {}
    pbx = TracePbx("mixed-a")

    async def stop_broker() -> None:
        await asyncio.to_thread(mosquitto.stop)
        await asyncio.sleep(0.5)  # the publisher notices; the feed goes on without a broker

    async def start_broker() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        await asyncio.to_thread(mosquitto.start)
        returned = time.monotonic()

        def current() -> bool:
            fresh = [t for t, topic, _ in watcher.arrivals
                     if topic == f"{BASE}/all/kpi/today" and t >= returned]
            return bool(fresh) and watcher.json("all/kpi/today")["offered"] == offered(daemon)

        await until(current, timeout=5)
        figures["restored_s"] = time.monotonic() - returned

    pbx.hooks[STOP_AT] = stop_broker
    pbx.hooks[START_AT] = start_broker
    watcher = Watcher(mosquitto.port)

    async def scenario() -> None:
        watching = asyncio.create_task(watcher.run())
        await run_live_with_mqtt(
            pbx, db, mosquitto.port,
            lambda daemon: f"{BASE}/all/kpi/today" in watcher.latest and watcher.json(
                "all/kpi/today")["offered"] == len(logged) and len(watcher.calls) >= 1,
            within_s=5)
        await until(lambda: watcher.latest.get(f"{BASE}/status") == b"offline", timeout=3)
        watching.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    calls, rows = stored_calls(db)
    assert rows == len(logged)
    published = watcher.json("all/kpi/today")
    expected = from_queue_log(logged, {"support": 20, "sales": 20})
    assert (published["offered"], published["answered"], published["abandoned"],
            published["short_abandoned"]) == (expected.offered, expected.answered,
                                              expected.abandoned, expected.short_abandoned)
    assert expected.sl_lowest is not None and expected.sl_highest is not None
    assert round(expected.sl_lowest, 4) <= published["service_level"] <= round(
        expected.sl_highest, 4)
    assert expected.asa_s is not None and abs(published["asa_s"] - expected.asa_s) <= 1.0
    assert {c["call_id"] for c in watcher.calls} <= {str(r["call_id"]) for r in calls.values()}
    print(f"daemon: retained state current {figures['restored_s']:.2f} s after the broker "
          "returned")
    assert figures["restored_s"] < 5.0

