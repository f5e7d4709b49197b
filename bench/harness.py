"""One run of ``queuepulse run`` against the simulated PBX, watched from outside.

A mosquitto broker, the simulated PBX process and the daemon process are started; an
:class:`~bench.observer.Observer` notes when each call reaches SQLite and the broker, and
the daemon's resident memory is sampled every 0.1 s, until the stream has been played and
the run has settled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

from bench.broker import Mosquitto
from bench.collector_process import PBX_ID, PREFIX, Collector
from bench.observer import Observer, Seen
from bench.pbx import Playback, Played, SimulatedPbx
from kpi.mqtt.topics import Topics

TOPICS = Topics(PREFIX, PBX_ID)
TIMEOUT_S = 120.0


class CollectorFailed(RuntimeError):
    """The daemon stopped, or never caught up, during a measurement."""


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the daemon: what the PBX sent, what was seen, the daemon's memory.

    ``rss`` holds (time, resident MB) samples taken every 0.1 s while the run lasted, and
    ``cpu`` (time, CPU seconds used so far) samples taken with them.
    """

    played: Played
    seen: Seen
    peak_rss_mb: float
    rss: list[tuple[float, float]]
    cpu: list[tuple[float, float]]

    def cpu_between(self, start: float, end: float) -> float:
        """The daemon's CPU seconds from the sample nearest ``start`` to the one nearest
        ``end`` (epoch seconds)."""
        def nearest(at: float) -> float:
            return min(self.cpu, key=lambda sample: abs(sample[0] - at))[1]

        return nearest(end) - nearest(start)


Settle = Callable[[Collector, Seen], Coroutine[object, object, None]]
"""Waits until the daemon has done all it will do with the stream."""


def until_quiet(quiet_s: float) -> Settle:
    """Settled once no call has reached SQLite or the broker for ``quiet_s`` seconds."""

    async def settle(collector: Collector, seen: Seen) -> None:
        counts = (-1, -1)
        changed = time.monotonic()
        while time.monotonic() - changed < quiet_s:
            now = (len(seen.stored), len(seen.published))
            if now != counts:
                counts, changed = now, time.monotonic()
            await asyncio.sleep(0.05)

    return settle


async def collector_run(playback: Playback, folder: Path, settle: Settle, *,
                        core_rate: bool = False, mqtt: bool = True) -> Run:
    """Play to ``queuepulse run`` and watch SQLite (and MQTT) until ``settle`` returns.

    ``mqtt`` false runs the daemon as configured by default: SQLite only, no KPI board.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if not mqtt:
        return await _run(playback, folder, None, settle, core_rate)
    with Mosquitto(folder) as broker:
        return await _run(playback, folder, broker.port, settle, core_rate)


async def _run(playback: Playback, folder: Path, mqtt_port: int | None, settle: Settle,
               core_rate: bool) -> Run:
    rss: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []
    async with SimulatedPbx(playback) as pbx:
        collector = Collector(folder, pbx.port, mqtt_port)
        async with Observer(collector.database, TOPICS, mqtt_port) as seen:
            with collector:
                await _watched(collector, pbx.fed(), rss, cpu)
                await _watched(collector, settle(collector, seen), rss, cpu)
                peak = collector.memory().peak_mb
                played = await pbx.played(core_rate=core_rate)
    return Run(played, seen, peak, rss, cpu)


async def _watched(collector: Collector, step: Coroutine[object, object, object],
                   rss: list[tuple[float, float]], cpu: list[tuple[float, float]]) -> None:
    """Await ``step`` (noting the daemon's memory and CPU time) unless the daemon dies or
    takes too long."""
    task = asyncio.ensure_future(step)
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not task.done():
            if not collector.alive():
                raise CollectorFailed(f"queuepulse run stopped:\n{collector.failure()}")
            if time.monotonic() > deadline:
                raise CollectorFailed(f"queuepulse run did not catch up in {TIMEOUT_S:g} s")
            now = time.time()
            rss.append((now, collector.memory().rss_mb))
            cpu.append((now, collector.cpu_seconds()))
            await asyncio.wait({task}, timeout=0.1)
    finally:
        task.cancel()
    task.result()
