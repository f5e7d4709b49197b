"""Ingest throughput and durability lag: the whole daemon against a bare AMI client.

Five rates over the same stream (the recorded trace repeated with fresh ids, served by
the simulated PBX over loopback TCP at full speed):

* **end to end**: ``queuepulse run`` in its own process, from the first frame leaving
  the PBX until the last call record the stream completes is committed in SQLite and has
  arrived at an MQTT subscriber through mosquitto;
* **panoramisk bare dispatch**: a ``panoramisk.Manager`` whose ``*`` callback only
  counts, from the first frame leaving the PBX to the last one dispatched;
* **the Python ceiling**: a plain asyncio reader that cuts the stream into frames and
  builds one dict per frame, nothing else: what any Python AMI client pays at least;
* **AMI client + parser + tracker**: queuepulse's own AMI connection reading the stream
  into the parser and the tracker, the daemon's input path without its outputs;
* **parser + tracker only**: the same frames through the pure core, no I/O.

Then the durability lag of each call: from the frame that made its record final leaving
the PBX to its row being visible to another SQLite connection, at full load (the stream
paced at 80% of the end-to-end rate just measured) and, for reference, in the full-speed
run, where the PBX outpaces the daemon and the backlog waits in the sockets' buffers.

A call that never reached SQLite or the subscriber is a failure, not a call left out:
its lag counts as infinite, and the end-to-end rate of a run that lost one is 0.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import replace
from pathlib import Path

from panoramisk import Manager

from bench.harness import TIMEOUT_S, Run, collector_run, until_quiet
from bench.pbx import SECRET, USERNAME, Playback, Played, SimulatedPbx
from bench.stream import Stream, tracker
from bench.table import Figure, Goal, Target
from collector.ami.client import AmiConnection
from collector.ami.settings import AmiConfig
from collector.parser import FrameParser
from collector.secret import Secret
from kpi.definitions import percentile

END_TO_END_FACTOR = 3.0
DURABILITY_LIMIT_MS = 1000.0
DURABILITY_LOAD = 0.8
"""Full load for the durability lag: this share of the end-to-end rate just measured, the
most the daemon keeps up with without a backlog building up."""
DURABILITY_S = 5.0


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


async def python_ceiling_rate(stream: Stream) -> float:
    """Event frames a second that a plain asyncio reader cuts out of the stream and turns
    into one dict each: the least a Python AMI client can do with a frame."""
    async with SimulatedPbx(Playback(stream)) as pbx:
        reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
        writer.write(f"Action: Login\r\nUsername: {USERNAME}\r\nSecret: {SECRET}\r\n\r\n"
                     .encode())
        events = 0
        last = 0.0
        rest = b""
        try:
            # the stream, the login's response, and its FullyBooted
            while events <= stream.frames:
                data = await asyncio.wait_for(reader.read(1 << 16), TIMEOUT_S)
                if not data:
                    raise ConnectionError("the simulated PBX closed the connection")
                *frames, rest = (rest + data).split(b"\r\n\r\n")
                for frame in frames:
                    fields = dict(line.split(": ", 1) for line in frame.decode().split("\r\n")
                                  if ": " in line)
                    events += "Event" in fields
            last = time.time()
        finally:
            writer.close()
        first, _ = await pbx.fed()
    return stream.frames / (last - first)


async def ami_core_rate(stream: Stream) -> float:
    """Event frames a second read by queuepulse's AMI client, parsed and tracked: the
    daemon's input path, without SQLite, MQTT or the KPI board."""
    async with SimulatedPbx(Playback(stream)) as pbx:
        config = AmiConfig(port=pbx.port, username=USERNAME, secret=Secret(SECRET),
                           ping_interval_s=3600.0)
        parse, feed = FrameParser().parse, tracker().feed
        events = 0
        last = 0.0
        async with AmiConnection(config) as ami:
            async for batch in ami.frames():
                for text in batch.texts:
                    event = parse(text, batch.received_at)
                    if event is not None:
                        feed(event)
                    events += text.startswith("Event: ")
                if events > stream.frames:  # the stream, and the FullyBooted of the login
                    last = time.time()
                    break
        first, _ = await pbx.fed()
    return stream.frames / (last - first)


def _ms(values: list[float], p: float) -> float | None:
    value = percentile(values, p)
    return None if value is None else value * 1000


def _missing(played: Played, arrived: dict[str, float], where: str) -> str:
    missing = len(set(played.final_at) - set(arrived))
    return f"{missing} of {len(played.final_at)} calls never reached {where}" if missing else ""


def _lags(run: Run) -> list[float]:
    """For each call, from its final frame leaving the PBX to its row being visible
    (infinite: never)."""
    played, stored = run.played, run.seen.stored
    return [stored[c] - played.sent[i] if c in stored else math.inf
            for c, i in played.final_at.items()]


def _rate(run: Run) -> float | None:
    """Frames a second, from the first frame sent to the last call stored and published
    (0 when a call never was; ``None`` when the stream completed none)."""
    played, seen = run.played, run.seen
    if not played.final_at:
        return None
    if any(c not in seen.stored or c not in seen.published for c in played.final_at):
        return 0.0
    done = max(max(seen.stored[c], seen.published[c]) for c in played.final_at)
    last_frame = max(played.final_at.values())
    return (last_frame + 1) / (done - played.sent[0])


async def measure(stream: Stream, folder: Path, quiet_s: float) -> list[Figure]:
    """The ingest and durability figures; a run ends ``quiet_s`` after the last call."""
    bare = await panoramisk_rate(stream)
    ceiling = await python_ceiling_rate(stream)
    input_path = await ami_core_rate(stream)
    run = await collector_run(Playback(stream), folder / "full-speed", until_quiet(quiet_s),
                              core_rate=True)
    end_to_end = _rate(run)
    played, seen = run.played, run.seen
    notes = "; ".join(n for n in (_missing(played, seen.stored, "SQLite"),
                                  _missing(played, seen.published, "the MQTT subscriber")) if n)
    figures = [
        Figure("ingest: parser + tracker only, no I/O", played.core_rate, "ev/s",
               note=f"same {stream.frames:,} frames"),
        Figure("ingest: panoramisk 1.4 bare dispatch", bare, "ev/s",
               note="Manager with a '*' callback that only counts"),
        Figure("ingest: Python ceiling (asyncio reader, dict per frame)", ceiling, "ev/s",
               note="frames cut from the stream and split into a dict each, nothing else"),
        Figure("ingest: AMI client + parser + tracker", input_path, "ev/s",
               note="the daemon's input path alone: no SQLite, MQTT or KPI board"),
        Figure("ingest: end to end (AMI > SQLite + MQTT)", end_to_end, "ev/s",
               Target(Goal.AT_LEAST, END_TO_END_FACTOR * bare, "panoramisk", bare),
               note=notes or f"{len(played.final_at):,} calls over {stream.frames:,} frames"),
        Figure("ingest: daemon peak RSS", run.peak_rss_mb, "MB"),
    ]
    overload = _lags(run)
    if not end_to_end:  # none completed, or calls lost: no rate to pace at
        return [*figures, Figure("durability: call final > row committed, max", None, "ms",
                                 Target(Goal.AT_MOST, DURABILITY_LIMIT_MS))]
    load = DURABILITY_LOAD * end_to_end
    frames = min(stream.frames, int(load * DURABILITY_S))
    paced = await collector_run(Playback(replace(stream, frames=frames), load),
                                folder / "full-load", until_quiet(quiet_s))
    lags = _lags(paced)
    return [
        *figures,
        Figure("durability: call final > row committed, p50", _ms(lags, 50), "ms"),
        Figure("durability: call final > row committed, max", _ms(lags, 100), "ms",
               Target(Goal.AT_MOST, DURABILITY_LIMIT_MS),
               note=f"{len(lags):,} calls at {load:,.0f} ev/s ({DURABILITY_LOAD:.0%} of the "
                    "end-to-end rate); rows polled every 10 ms"),
        Figure("durability: same, at full speed (overload), max", _ms(overload, 100), "ms",
               note="the PBX sending faster than the daemon reads: the backlog waits in "
                    "socket buffers"),
    ]
