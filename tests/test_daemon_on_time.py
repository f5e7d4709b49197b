"""Records on time: a recording served over TCP as fast as it happened (sped up), and each
call stored in SQLite and published on a real broker within half a second of its end."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import sqlite3
import statistics
import time
from pathlib import Path

from tests.live_pbx import TracePbx, run_live, stored_calls
from tests.mosquitto import Mosquitto, mosquitto
from tests.test_publisher import Watcher
from tests.traces import replayed_calls

__all__ = ["mosquitto"]

SPEED = 10.0
"""How much faster than recorded the PBX plays the recording: the latencies are wall time,
so the daemon has ten times less time between events than on the real PBX."""
ON_TIME_S = 0.5


def ended_calls(db: Path) -> dict[str, float]:
    """Each stored stint whose end is known (its record past ``talking``), and now."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT uniqueid, queue FROM calls WHERE phase != 'talking'")
        return {f"{u}@{q}": time.monotonic() for u, q in rows}


def test_each_call_is_stored_and_published_within_half_a_second_of_its_end(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    name = "lab-basic"
    expected = replayed_calls(name)
    db = tmp_path / "live.sqlite"
    pbx = TracePbx(name, speed=SPEED)
    watcher = Watcher(mosquitto.port)
    stored_at: dict[str, float] = {}

    async def watch_the_file() -> None:
        while True:
            if db.exists():
                with contextlib.suppress(sqlite3.OperationalError):
                    for key, seen in ended_calls(db).items():
                        stored_at.setdefault(key, seen)
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        watching = asyncio.create_task(watcher.run())
        polling = asyncio.create_task(watch_the_file())
        await run_live(pbx, db, settings=f"[mqtt]\nenabled = true\nport = {mosquitto.port}\n",
                       tick_s=0.05)
        watching.cancel()
        polling.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 90))
    calls, _ = stored_calls(db)
    assert set(calls) == set(expected)

    published_at = first_final_publication(watcher)
    late: dict[str, tuple[float, float]] = {}
    stored_lags, published_lags = [], []
    for (uniqueid, queue), call in expected.items():
        # the moment the PBX sent the event that ended the stint (or decided it)
        end = call.ended_at if call.ended_at is not None else call.entered_at
        sent = sent_when(pbx, end)
        key = f"{uniqueid}@{queue}"
        stored, published = stored_at[key] - sent, published_at[key] - sent
        stored_lags.append(stored)
        published_lags.append(published)
        if max(stored, published) > ON_TIME_S:
            late[key] = (round(stored, 3), round(published, 3))
    print(f"{name} at {SPEED:g}x: stored after {statistics.median(stored_lags):.3f} s "
          f"(median), {max(stored_lags):.3f} s (max); published after "
          f"{statistics.median(published_lags):.3f} s, {max(published_lags):.3f} s")
    assert late == {}



def sent_when(pbx: TracePbx, stamp: float) -> float:
    """The monotonic moment the PBX sent its first event stamped ``stamp`` or later."""
    stamps = [s for s, _ in pbx.sent_at]
    return pbx.sent_at[min(bisect.bisect_left(stamps, stamp - 0.001), len(stamps) - 1)][1]


def first_final_publication(watcher: Watcher) -> dict[str, float]:
    """When each stint's call event past ``talking`` first reached the subscriber."""
    published_at: dict[str, float] = {}
    for arrived, topic, payload in watcher.arrivals:
        if topic.endswith("/call"):
            call = json.loads(payload)
            if call["phase"] != "talking":
                published_at.setdefault(f"{call['uniqueid']}@{call['queue']}", arrived)
    return published_at
