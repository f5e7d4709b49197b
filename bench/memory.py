"""Memory: the peak with a crowded call center, and growth over a long soak.

**Peak.** A simulated call center (`queuepulse.pbxsim.callcenter`) with 2,000 agents in four
queues, callers arriving faster than the agents can take them, long talks and patient
callers, runs until 5,000 calls are in the queues at once: 2,000 talking, the rest
waiting. Its frames (unfiltered, as Asterisk 20 writes them) go

* through the parser and the tracker alone, in a fresh process: that process's peak RSS;
* from the simulated PBX to ``queuepulse run`` (SQLite, KPI board and MQTT on): the
  daemon's peak RSS once it has stored every event and published its KPIs.

**Soak.** The recorded trace repeated to a warm-up plus 1,000,000 event frames, through
the core alone (a fresh process) and through the daemon, as configured by default
(SQLite only) and with MQTT on (which adds the KPI board: it keeps the calls and agent
intervals of the day for the ``today`` KPIs): resident memory at the end of the warm-up
and at the end.

The daemon is fed at a steady rate it keeps up with (`SUSTAINED_RATE`), so that its memory
is its state, not a backlog of frames read faster than it can process them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

from bench.collector_process import Collector, Memory, memory_of
from bench.harness import Run, Settle, collector_run, until_quiet
from bench.observer import Seen
from bench.pbx import Playback, Written
from bench.stream import Stream, tracker
from bench.table import Figure, Goal, Target
from collector.parser import FrameParser
from collector.trace import Frame, TraceReader, frame_line
from collector.tracker import Tracker
from queuepulse.pbxsim.callcenter import CallCenter
from queuepulse.pbxsim.scenario import (
    FLAT_DAY,
    AgentSpec,
    Behaviour,
    CenterConfig,
    QueueSpec,
    Spread,
)
from queuepulse.pbxsim.trace_feed import TracePlayer

T = TypeVar("T")

PEAK_LIMIT_MB = 80.0
GROWTH_LIMIT_MB = 5.0
_QUEUES = 4
_LONG = Spread(3600.0, 0.1, 7200.0)
SUSTAINED_RATE = 40_000.0
"""Event frames a second for the daemon's memory runs: a very busy PBX, unfiltered."""


def crowd_config(agents: int) -> CenterConfig:
    """A call center that only fills up: calls arrive faster than long talks end."""
    queues = tuple(
        QueueSpec(f"q{n}", "rrmemory", f"70{n}", f"18005550{n:03d}", max_wait_s=7200.0)
        for n in range(_QUEUES)
    )
    members = tuple(
        AgentSpec(f"Agent {n}", f"agent{n}", (f"q{n % _QUEUES}",)) for n in range(agents)
    )
    patient = Behaviour(
        patience=_LONG, short_abandon_share=0.0, exit_key_share=0.0, no_answer_share=0.0,
        talk=_LONG, hold_counts=(1.0, 0.0, 0.0), session=Spread(86400.0, 0.1, 86400.0),
        break_every_s=86400.0,
    )
    # twice the calls the agents can take before they are all busy (talks last an hour)
    rate = max(3600.0, 36.0 * agents)
    return CenterConfig(queues=queues, agents=members, calls_per_hour=rate,
                        day_shape=FLAT_DAY, behaviour=patient)


@dataclass(frozen=True, slots=True)
class Crowd:
    """The frames of a call center filling up, written as a trace."""

    written: Written
    events: int
    """How many of the frames the parser turns into events (the daemon stores each)."""
    calls: int
    agents: int


def _feed(core: Tracker, parser: FrameParser, texts: list[str], at: float) -> int:
    events = 0
    for text in texts:
        event = parser.parse(text, at)
        if event is not None:
            core.feed(event)
            events += 1
    return events


def write_crowd(folder: Path, agents: int, calls: int) -> Crowd:
    """Simulate until ``calls`` callers are in the queues at once; write their frames."""
    center = CallCenter(crowd_config(agents), seed=1, start=time.time(), keep_truth=False)
    snapshot = center.snapshot()
    parser, core = FrameParser(), tracker()
    events = _feed(core, parser, snapshot.status_answer(""), center.now)
    path = folder / "crowd.jsonl"
    frames = 0
    live = 0
    with path.open("w", encoding="utf-8") as out:
        while live < calls:
            made = center.advance(center.now + 5.0)
            out.writelines(frame_line(Frame(at, text)) for at, text in made)
            events += _feed(core, parser, [text for _, text in made], center.now)
            frames += len(made)
            live = len(core.live().calls)
    return Crowd(Written(path, snapshot, frames), events, live, agents)


def _rss() -> Memory:
    return memory_of(os.getpid())


def core_peak(written: Written) -> Memory:
    """The crowd's frames through the parser and the tracker; this process's memory."""
    parser, core = FrameParser(), tracker()
    _feed(core, parser, written.snapshot.status_answer(""), 0.0)
    for frame in TraceReader(written.path):
        event = parser.parse(frame.text, frame.received_at)
        if event is not None:
            core.feed(event)
    return _rss()


def core_soak(stream: Stream, warmup: int) -> tuple[float, float]:
    """The stream through the parser and the tracker; RSS (MB) after warm-up and at the end."""
    return asyncio.run(_core_soak(stream, warmup))


async def _core_soak(stream: Stream, warmup: int) -> tuple[float, float]:
    parse, feed = FrameParser().parse, tracker().feed
    count = 0
    warm = 0.0
    async for item in TracePlayer(stream.path, repeat=stream.repeat):
        if not isinstance(item, str):
            continue
        event = parse(item, 0.0)
        if event is not None:
            feed(event)
        count += 1
        if count == warmup:
            warm = _rss().rss_mb
        if count == stream.frames:
            break
    return warm, _rss().rss_mb


async def in_fresh_process(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a new Python process, so that its memory is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


def _stored_events(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0])


def _events_settle(events: int, then_s: float) -> Settle:
    """Settled ``then_s`` after the daemon has stored ``events`` events."""

    async def settle(collector: Collector, seen: Seen) -> None:
        while True:
            try:
                if _stored_events(collector.database) >= events:
                    break
            except sqlite3.OperationalError:
                pass  # not created yet
            await asyncio.sleep(0.1)
        await asyncio.sleep(then_s)

    return settle


def _rss_at(run: Run, at: float) -> float:
    """The daemon's resident memory sampled closest after ``at``."""
    return next((rss for t, rss in run.rss if t >= at), run.rss[-1][1])


def _warm_at(run: Run, warmup: int) -> float:
    """When the daemon had stored the first call completed after the warm-up frames."""
    played, stored = run.played, run.seen.stored
    after = [stored[c] for c, index in played.final_at.items()
             if index >= warmup and c in stored]
    return min(after, default=run.rss[0][0])


async def _daemon_soak(soak: Stream, warmup: int, folder: Path, quiet_s: float,
                      mqtt: bool) -> Figure:
    run = await collector_run(Playback(soak, SUSTAINED_RATE), folder, until_quiet(quiet_s),
                              mqtt=mqtt)
    warm = _rss_at(run, _warm_at(run, warmup))
    end = run.rss[-1][1]
    name = "with MQTT and KPI board" if mqtt else "SQLite only (default)"
    return Figure(f"memory: daemon soak growth, {name}", end - warm, "MB",
                  Target(Goal.BELOW, GROWTH_LIMIT_MB),
                  note=f"RSS {warm:.1f} > {end:.1f} MB at {SUSTAINED_RATE:,.0f} ev/s")


async def measure(crowd: Crowd, soak: Stream, warmup: int, folder: Path, quiet_s: float,
                  kpi_wait_s: float) -> list[Figure]:
    """Peak memory with the crowd, and growth over the soak, for the core and the daemon.

    The crowd's run ends ``kpi_wait_s`` after the daemon stored its last event (time for
    KPI publishing), a soak's ``quiet_s`` after its last call.
    """
    shape = f"{crowd.calls:,} calls in the queues, {crowd.agents:,} agents"
    core = await in_fresh_process(core_peak, crowd.written)
    crowd_run = await collector_run(Playback(crowd.written, SUSTAINED_RATE), folder / "crowd",
                                    _events_settle(crowd.events, kpi_wait_s))
    core_warm, core_end = await in_fresh_process(core_soak, soak, warmup)
    soaked = f"{soak.frames - warmup:,} frames after {warmup:,} of warm-up"
    return [
        Figure("memory: parser + tracker peak RSS", core.peak_mb, "MB",
               Target(Goal.AT_MOST, PEAK_LIMIT_MB), note=shape),
        Figure("memory: daemon peak RSS", crowd_run.peak_rss_mb, "MB",
               Target(Goal.AT_MOST, PEAK_LIMIT_MB),
               note=f"{shape}, {crowd.written.frames:,} frames; SQLite, KPI board and MQTT on"),
        Figure("memory: parser + tracker soak growth", core_end - core_warm, "MB",
               Target(Goal.BELOW, GROWTH_LIMIT_MB), note=soaked),
        await _daemon_soak(soak, warmup, folder / "soak", quiet_s, mqtt=False),
        await _daemon_soak(soak, warmup, folder / "soak-mqtt", quiet_s, mqtt=True),
    ]
