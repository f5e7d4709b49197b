"""Ingest throughput and durability lag: the whole daemon against a bare AMI client.

Three rates over the same stream (the recorded trace repeated with fresh ids, served by
the simulated PBX over loopback TCP at full speed):

* **end to end**: ``queuepulse run`` in its own process, from the first frame leaving
  the PBX until the last call record the stream completes is committed in SQLite and has
  arrived at an MQTT subscriber through mosquitto;
* **panoramisk bare dispatch**: a ``panoramisk.Manager`` whose ``*`` callback only
  counts, from the first frame leaving the PBX to the last one dispatched;
* **parser + tracker only**: the same frames through the pure core, no I/O.

In the same end-to-end run, the durability lag of each call: from the frame that made
its record final leaving the PBX to its row being visible to another SQLite connection.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from panoramisk import Manager

from bench.harness import TIMEOUT_S, collector_run
from bench.pbx import SECRET, USERNAME, Playback, Played, SimulatedPbx
from bench.stream import Stream
from bench.table import Figure, Goal, Target
from kpi.definitions import percentile

END_TO_END_FACTOR = 3.0
DURABILITY_LIMIT_MS = 1000.0


async def panoramisk_rate(stream: Stream) -> float:
    """Event frames a second that panoramisk 1.4 reads and dispatches to a ``*`` callback."""
    async with SimulatedPbx(Playback(stream)) as pbx:
        done = asyncio.Event()
        counted = 0
        last = 0.0

        def count(manager: Manager, message: object) -> None:
            nonlocal counted, last
            counted += 1
            if counted > stream.frames:  # the stream, and the FullyBooted of the login
                last = time.time()
                done.set()

        manager = Manager(host="127.0.0.1", port=pbx.port, username=USERNAME, secret=SECRET,
                          ping_delay=3600, loop=asyncio.get_running_loop())
        manager.register_event("*", count)
        try:
            await manager.connect()
            await asyncio.wait_for(done.wait(), TIMEOUT_S)
        finally:
            manager.close()
        first, _ = await pbx.fed()
    return stream.frames / (last - first)


def _ms(values: list[float], p: float) -> float | None:
    value = percentile(values, p)
    return None if value is None else value * 1000


def _missing(played: Played, arrived: dict[str, float], where: str) -> str:
    missing = len(set(played.final_at) - set(arrived))
    return f"{missing} of {len(played.final_at)} calls never reached {where}" if missing else ""


async def measure(stream: Stream, folder: Path) -> list[Figure]:
    """The ingest and durability figures, from one run of each client."""
    bare = await panoramisk_rate(stream)
    run = await collector_run(Playback(stream), folder, core_rate=True)
    played, seen = run.played, run.seen
    calls = list(played.final_at)
    stored = [c for c in calls if c in seen.stored]
    published = [c for c in calls if c in seen.published]
    mqtt_note = _missing(played, seen.published, "the MQTT subscriber")
    done_at = [seen.stored[c] for c in stored] + [seen.published[c] for c in published]
    last_frame = max((played.final_at[c] for c in calls), default=0)
    elapsed = max(done_at, default=0.0) - played.sent[0]
    end_to_end = (last_frame + 1) / elapsed if done_at and elapsed > 0 else None
    lags = [seen.stored[c] - played.sent[played.final_at[c]] for c in stored]
    sample = f"{len(calls):,} calls over {stream.frames:,} frames"
    notes = "; ".join(n for n in (_missing(played, seen.stored, "SQLite"), mqtt_note) if n)
    return [
        Figure("ingest: parser + tracker only, no I/O", played.core_rate, "ev/s",
               note=f"same {stream.frames:,} frames"),
        Figure("ingest: panoramisk 1.4 bare dispatch", bare, "ev/s",
               note="Manager with a '*' callback that only counts"),
        Figure("ingest: end to end (AMI > SQLite + MQTT)", end_to_end, "ev/s",
               Target(Goal.AT_LEAST, END_TO_END_FACTOR * bare, "panoramisk", bare),
               note=notes or sample),
        Figure("durability: call final > row committed, p50", _ms(lags, 50), "ms"),
        Figure("durability: call final > row committed, max", _ms(lags, 100), "ms",
               Target(Goal.AT_MOST, DURABILITY_LIMIT_MS),
               note=f"{len(lags):,} calls at full load; rows polled every 10 ms"),
        Figure("ingest: daemon peak RSS", run.peak_rss_mb, "MB"),
    ]
