"""The soak: a long, fuzzed stream with a broker restart and two AMI drops.

The simulated PBX plays the repeated trace at a steady 1,000 event frames a second (a
busy PBX, unfiltered) for ten minutes, roughed up: 1 % of the frames sent twice, swapped,
missing a header or cut short (:mod:`bench.fuzz`), and the pbxsim garbage frames (bytes
that are not UTF-8, lines without a colon, events without their fields) after every 500
events. Its first two sessions are dropped after a third of the stream each, so the
daemon reconnects twice and loses what is sent meanwhile; halfway the MQTT broker is
stopped and started again. ``queuepulse run`` follows it with MQTT on.

Reported: the daemon's resident memory (after the first minute, at its peak, at the end),
the calls the stream completed (the PBX's replay of the frames it sent) against those
stored in SQLite and those published on MQTT, and what the daemon logged as errors and
warnings. Afterwards the daemon must stop with exit status 0.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bench.broker import Mosquitto
from bench.collector_process import Collector
from bench.harness import TOPICS, CollectorFailed
from bench.observer import Observer
from bench.pbx import Playback, SimulatedPbx, call_key
from bench.stream import Stream
from bench.table import Figure, Goal, Target
from queuepulse.pbxsim.faults import Faults

RATE = 1000.0
"""Event frames a second."""
FUZZ = 0.01
GARBAGE_EVERY = 500
PEAK_LIMIT_MB = 100.0
"""The memory ceiling docs/service.md promises."""
STORED_SHARE = 0.99
"""Of the calls the stream completed, the share that must be stored: only those whose
whole life fell into a drop may be missing."""
_SAMPLE_S = 1.0
_BROKER_AWAY_S = 3.0
_SETTLE_S = 10.0


@dataclass(frozen=True, slots=True)
class SoakRun:
    """What one soak left: memory samples (seconds since start, MB), calls, the log."""

    rss: list[tuple[float, float]]
    peak_mb: float
    sent: int
    lost_events: int
    stored: int
    matched: int
    """Calls of the stream found stored (with their outcome, or ``unknown``)."""
    unknown: int
    published: int
    """Calls whose final record the broker acknowledged (the daemon's count)."""
    received: int
    """Distinct calls a subscriber received (it misses those sent while it reconnects)."""
    log: list[dict[str, object]]
    not_json: int
    status: int | None


def _calls(database: Path) -> dict[str, str]:
    """The stored calls' outcomes, by :func:`~bench.pbx.call_key`."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return {call_key(uniqueid, queue): outcome for uniqueid, queue, outcome
                in db.execute("SELECT uniqueid, queue, outcome FROM calls")}


def _log(collector: Collector) -> tuple[list[dict[str, object]], int]:
    lines, bad = [], 0
    for line in collector.log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            lines.append(json.loads(line, parse_constant=lambda c: 1 / 0))
        except (ValueError, ZeroDivisionError):
            bad += 1
    return lines, bad


async def run_soak(stream: Stream, folder: Path) -> SoakRun:
    """Play the fuzzed stream to ``queuepulse run``, restarting the broker halfway."""
    folder.mkdir(parents=True, exist_ok=True)
    third = int(stream.frames / 3)
    faults = (Faults(drop_after=third, garbage_every=GARBAGE_EVERY),
              Faults(drop_after=third, garbage_every=GARBAGE_EVERY),
              Faults(garbage_every=GARBAGE_EVERY))
    rss: list[tuple[float, float]] = []
    with Mosquitto(folder) as broker:
        async with SimulatedPbx(Playback(stream, RATE, faults, FUZZ)) as pbx:
            collector = Collector(folder, pbx.port, broker.port)
            async with Observer(collector.database, TOPICS, broker.port) as seen:
                with collector:
                    started = time.monotonic()
                    fed = asyncio.ensure_future(pbx.fed())
                    restarted = False
                    while not fed.done():
                        if not collector.alive():
                            raise CollectorFailed(f"queuepulse run stopped:\n"
                                                  f"{collector.failure()}")
                        elapsed = time.monotonic() - started
                        rss.append((elapsed, collector.memory().rss_mb))
                        if not restarted and elapsed >= stream.frames / RATE / 2:
                            restarted = True
                            await asyncio.to_thread(broker.stop)
                            await asyncio.sleep(_BROKER_AWAY_S)
                            await asyncio.to_thread(broker.start)
                        await asyncio.wait({fed}, timeout=_SAMPLE_S)
                    played = await pbx.played()
                    await asyncio.sleep(_SETTLE_S)  # the last ACW windows close by the clock
                    rss.append((time.monotonic() - started, collector.memory().rss_mb))
                    peak = collector.memory().peak_mb
                    stored = _calls(collector.database)
                status = collector.status
            log, not_json = _log(collector)
    closed = [e for e in log if e.get("event") == "mqtt.closed"]
    published = int(str(closed[-1]["finals_sent"])) if closed else 0
    return SoakRun(rss, peak, len(played.final_at), played.lost, len(stored),
                   len(stored.keys() & played.final_at.keys()),
                   sum(outcome == "unknown" for outcome in stored.values()), published,
                   len(seen.published), log, not_json, status)


def _quarters(rss: list[tuple[float, float]], seconds: float) -> list[str]:
    """The memory at each quarter of the run, and at the end."""
    marks = [next((mb for t, mb in rss if t >= seconds * q / 4), rss[-1][1]) for q in (1, 2, 3)]
    return [*(f"{mb:.1f}" for mb in marks), f"{rss[-1][1]:.1f} MB at the end"]


def figures(run: SoakRun, stream: Stream) -> list[Figure]:
    """The soak's figures."""
    minutes = stream.frames / RATE / 60
    warm_at = min(60.0, stream.frames / RATE / 3)
    warm = next((mb for t, mb in run.rss if t >= warm_at), run.rss[-1][1])
    end = run.rss[-1][1]
    levels = collections.Counter(str(e.get("level")) for e in run.log)
    warnings = collections.Counter(str(e.get("event")) for e in run.log
                                   if e.get("level") in ("warning", "error"))
    said = ", ".join(f"{event} x{n}" for event, n in sorted(warnings.items()))
    return [
        Figure("soak: daemon peak RSS", run.peak_mb, "MB", Target(Goal.AT_MOST, PEAK_LIMIT_MB),
               note=f"{stream.frames:,} frames at {RATE:,.0f} ev/s for {minutes:.0f} min, "
                    f"{FUZZ:.0%} fuzzed, garbage every {GARBAGE_EVERY} events, two AMI "
                    "drops, a broker restart"),
        Figure("soak: daemon RSS growth after warm-up", end - warm, "MB",
               note=f"RSS {warm:.1f} MB after {warm_at:.0f} s, then "
                    f"{', '.join(_quarters(run.rss, stream.frames / RATE))}"),
        Figure("soak: calls stored of those the stream completed", run.matched / run.sent * 100
               if run.sent else None, "%", Target(Goal.AT_LEAST, STORED_SHARE * 100),
               note=f"{run.matched:,} of {run.sent:,} ({run.unknown} stored as unknown); "
                    f"{run.lost_events:,} events sent during the drops; "
                    f"{run.stored - run.matched} more stored: callers the PBX's recorded "
                    "QueueStatus answer lists, not in the stream"),
        Figure("soak: calls published of those stored", run.published / run.stored * 100
               if run.stored else None, "%", Target(Goal.AT_LEAST, 100.0),
               note=f"{run.published:,} acknowledged by the broker across its restart; a "
                    f"subscriber received {run.received:,} distinct ones"),
        Figure("soak: errors logged", float(levels["error"] + run.not_json), "lines",
               Target(Goal.AT_MOST, 0.0),
               note=f"exit status {run.status}; {run.not_json} lines not JSON; warnings and "
                    f"errors: {said or 'none'}"),
    ]


async def measure(stream: Stream, folder: Path) -> list[Figure]:
    """Run the soak and return its figures."""
    run = await run_soak(stream, folder)
    found = figures(run, stream)
    if run.status != 0:
        return [*found, Figure("soak: daemon exit status", float(run.status or -1), "",
                               Target(Goal.AT_MOST, 0.0))]
    return found
