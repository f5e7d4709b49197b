"""Ingest throughput and durability lag: the whole daemon against a bare AMI client.

Rates over the recorded trace repeated with fresh ids, served by the simulated PBX over
loopback TCP at full speed, as three streams (:data:`bench.stream.KEEP`): unfiltered, the
read classes ``agent,call,system`` (the least-privilege user, ``ami.events``' default)
and only the frames the tracker uses (behind the documented event filter). On each:

* **panoramisk bare dispatch**: a ``panoramisk.Manager`` whose ``*`` callback only
  counts, from the first frame leaving the PBX to the last one dispatched;
* **Python ceiling**: a plain asyncio protocol that cuts the bytes into frames and
  builds one dict per frame, nothing else: what a Python reader cannot beat;
* **AMI client + parser + tracker**: queuepulse's own AMI connection reading the stream
  into the parser and the tracker, the daemon's input path without its outputs.

On the least-privilege stream, also:

* **end to end**: ``queuepulse run`` in its own process, from the first frame leaving
  the PBX until the last call record the stream completes is committed in SQLite and has
  arrived at an MQTT subscriber through mosquitto;
* **parser + tracker only**: the same frames through the pure core, no I/O.

Then the durability lag of each call: from the frame that made its record final leaving
the PBX to its row being visible to another SQLite connection, at full load (the stream
paced at 80% of the end-to-end rate just measured) and, for reference, in the full-speed
run, where the PBX outpaces the daemon and the backlog waits in the sockets' buffers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from panoramisk import Manager

from bench.harness import TIMEOUT_S, Run, collector_run, until_quiet
from bench.pbx import SECRET, USERNAME, Playback, Played, SimulatedPbx
from bench.stream import Stream, stream, tracker
from bench.table import Figure, Goal, Target
from collector.ami.client import AmiConnection
from collector.ami.settings import AmiConfig
from collector.parser import FrameParser, wanted_frame
from collector.secret import Secret
from kpi.definitions import percentile

END_TO_END_FACTOR = 3.0
INPUT_FACTOR = 3.0
STREAMS = {"all": "unfiltered", "classes": "agent,call,system", "used": "tracker's frames"}
"""The streams the input path is measured on, and how the table names them."""
END_TO_END_STREAM = "classes"
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


class _CeilingProtocol(asyncio.Protocol):
    """Cuts the bytes into frames and makes one dict of each: the least a reader does."""

    def __init__(self, frames: int, done: asyncio.Future[float]) -> None:
        self._rest = b""
        self._left = frames + 1  # the stream, and the FullyBooted of the login
        self._done = done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(f"Action: Login\r\nUsername: {USERNAME}\r\nSecret: {SECRET}\r\n"
                        "Events: on\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        parts = (self._rest + data).split(b"\r\n\r\n")
        self._rest = parts.pop()
        for part in parts:
            message = dict(line.split(": ", 1) for line in
                           part.decode("utf-8", "replace").split("\r\n") if ": " in line)
            self._left -= "Event" in message
        if self._left <= 0 and not self._done.done():
            self._done.set_result(time.time())


async def ceiling_rate(stream: Stream) -> float:
    """Event frames a second that a plain asyncio reader cuts and makes dicts of."""
    async with SimulatedPbx(Playback(stream)) as pbx:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[float] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: _CeilingProtocol(stream.frames, done), "127.0.0.1", pbx.port)
        try:
            last = await asyncio.wait_for(done, TIMEOUT_S)
        finally:
            transport.close()
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
            splitter = ami.protocol.splitter
            splitter.wanted = wanted_frame  # as the daemon reads
            async for batch in ami.frames():
                for text in batch.texts:
                    event = parse(text, batch.received_at)
                    if event is not None:
                        feed(event)
                    events += text.startswith("Event: ")
                # the stream, and the FullyBooted of the login
                if events + splitter.skipped > stream.frames:
                    last = time.time()
                    break
        first, _ = await pbx.fed()
    return stream.frames / (last - first)


def _ms(values: list[float], p: float) -> float | None:
    value = percentile(values, p)
    return None if value is None else value * 1000


def _failed(played: Played, stored: dict[str, float], published: dict[str, float]) -> str:
    """The calls of the stream missing in SQLite or at the subscriber: failures, said."""
    calls = set(played.final_at)
    missing = len(calls - (set(stored) & set(published)))
    return (f"FAILED: {missing} of {len(calls):,} calls never reached SQLite and the "
            "MQTT subscriber" if missing else "")


def _lags(run: Run) -> list[float]:
    """For each call stored, from its final frame leaving the PBX to its row being visible."""
    played, stored = run.played, run.seen.stored
    return [stored[c] - played.sent[i] for c, i in played.final_at.items() if c in stored]


def _rate(run: Run) -> float | None:
    """Frames a second, from the first frame sent to the last call stored and published;
    ``None`` (a failure) when a call of the stream never reached both."""
    played, seen = run.played, run.seen
    calls = list(played.final_at)
    if not calls or any(c not in seen.stored or c not in seen.published for c in calls):
        return None
    done = max(max(seen.stored[c], seen.published[c]) for c in calls)
    last_frame = max(played.final_at[c] for c in calls)
    return (last_frame + 1) / (done - played.sent[0])


async def _input_figures(played: Stream, label: str) -> tuple[list[Figure], float]:
    """panoramisk, the Python ceiling and queuepulse's input path on one stream; and
    panoramisk's rate."""
    bare = await panoramisk_rate(played)
    ceiling = await ceiling_rate(played)
    input_path = await ami_core_rate(played)
    return [
        Figure(f"ingest ({label}): panoramisk 1.4 bare dispatch", bare, "ev/s",
               note="Manager with a '*' callback that only counts"),
        Figure(f"ingest ({label}): Python ceiling", ceiling, "ev/s",
               note="asyncio protocol: split into frames, one dict per frame"),
        Figure(f"ingest ({label}): AMI client + parser + tracker", input_path, "ev/s",
               Target(Goal.AT_LEAST, INPUT_FACTOR * bare, "panoramisk", bare),
               note="the daemon's input path alone: no SQLite, MQTT or KPI board"),
    ], bare


async def measure(trace: Path, frames: int, folder: Path, quiet_s: float) -> list[Figure]:
    """The ingest and durability figures on ``frames`` frames of each stream cut from
    ``trace``; a run ends ``quiet_s`` after the last call."""
    figures: list[Figure] = []
    bare = 0.0
    for keep, label in STREAMS.items():
        found, rate = await _input_figures(stream(trace, frames, keep), label)
        figures += found
        if keep == END_TO_END_STREAM:
            bare = rate
    played_stream = stream(trace, frames, END_TO_END_STREAM)
    run = await collector_run(Playback(played_stream), folder / "full-speed",
                              until_quiet(quiet_s), core_rate=True)
    end_to_end = _rate(run)
    played, seen = run.played, run.seen
    failed = _failed(played, seen.stored, seen.published)
    label = STREAMS[END_TO_END_STREAM]
    figures += [
        Figure(f"ingest ({label}): parser + tracker only, no I/O", played.core_rate, "ev/s",
               note=f"same {frames:,} frames"),
        Figure(f"ingest ({label}): end to end (AMI > SQLite + MQTT)", end_to_end, "ev/s",
               Target(Goal.AT_LEAST, END_TO_END_FACTOR * bare, "panoramisk", bare),
               note=failed or f"{len(played.final_at):,} calls over {frames:,} frames"),
        Figure("ingest: daemon peak RSS", run.peak_rss_mb, "MB"),
    ]
    overload = _lags(run)
    if end_to_end is None:
        return [*figures, Figure("durability: call final > row committed, max", None, "ms",
                                 Target(Goal.AT_MOST, DURABILITY_LIMIT_MS))]
    load = DURABILITY_LOAD * end_to_end
    paced_frames = min(frames, int(load * DURABILITY_S))
    paced = await collector_run(Playback(replace(played_stream, frames=paced_frames), load),
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
