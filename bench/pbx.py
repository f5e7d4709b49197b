"""The simulated PBX the benchmark talks to, in a process of its own.

It serves the repeated trace over loopback TCP with :class:`queuepulse.pbxsim.ami_server.AmiServer`
(at full speed, or paced to a steady rate), restamped as live so that the collector's
clock and the events' agree, and notes when it handed each frame to the server: the
moment the frame "leaves the PBX".

Afterwards it replays the very frames it sent through the parser and the tracker alone
(no I/O): that gives the core's rate on the same input, and the frame at which each call
record became final, which is what latencies are measured from.

Running apart from the collector keeps the PBX's own work off the collector's core; the
machine's clock (``time.time``) is shared, so times taken in both processes compare.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from array import array
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from itertools import repeat
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from bench.fuzz import Fuzzer
from bench.stream import Stream, tracker
from collector.facts import CallRecord, Phase
from collector.parser import FrameParser
from collector.trace import TraceReader
from queuepulse.pbxsim.ami_server import AmiServer, FrameBlock
from queuepulse.pbxsim.faults import Faults
from queuepulse.pbxsim.snapshot import Snapshot
from queuepulse.pbxsim.trace_feed import TracePlayer

USERNAME = "bench"
SECRET = "bench-secret"

_FED = "fed"
_REPLAY = "replay"
_STOP = "stop"


@dataclass(frozen=True, slots=True)
class Written:
    """Frames already made (a JSON Lines trace) and what the PBX reports before them."""

    path: Path
    snapshot: Snapshot
    frames: int

    def kept(self, frame: str) -> bool:
        """Every frame written is played."""
        return True


@dataclass(frozen=True, slots=True)
class Playback:
    """What to play: a stream, at full speed (``rate`` ``None``) or ``rate`` frames a second.

    ``faults`` are the plans of the first sessions to log in (see
    :class:`~queuepulse.pbxsim.faults.Faults`); with ``fuzz`` that share of the frames of a
    paced stream is roughed up (:class:`~bench.fuzz.Fuzzer`).
    """

    stream: Stream | Written
    rate: float | None = None
    faults: tuple[Faults, ...] = ()
    fuzz: float = 0.0


def call_key(uniqueid: str, queue: str) -> str:
    """A call of the stream as the benchmark matches it: its caller and its queue. (Its
    ``call_id`` also holds its entry time, which for a caller the PBX's QueueStatus answer
    shows depends on the moment the answer arrived: not the same in a replay.)"""
    return f"{uniqueid}@{queue}"


@dataclass(frozen=True, slots=True)
class Played:
    """What the PBX sent, and what the core alone made of it.

    ``sent[i]`` is when event frame ``i`` was handed to the server (epoch seconds);
    ``final_at[key]`` (:func:`call_key`) the index of the frame after which the tracker
    had finished that call's record; ``core_rate`` the parser and tracker's frames per
    second over the same frames, without any I/O.
    """

    sent: array[float]
    final_at: dict[str, int] = field(default_factory=dict)
    core_rate: float = 0.0
    lost: int = 0
    """Event frames sent while no client listened (between a drop and the reconnect)."""

    def final_sent(self, key: str) -> float | None:
        """When the frame that made a call's record final left the PBX."""
        index = self.final_at.get(key)
        return None if index is None else self.sent[index]


class SimulatedPbx:
    """``async with SimulatedPbx(playback) as pbx``: the PBX process, listening on ``port``."""

    def __init__(self, playback: Playback) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(playback, child), name="bench-pbx", daemon=True
        )
        self.port = 0

    async def __aenter__(self) -> SimulatedPbx:
        self._process.start()
        port = await self._receive()
        assert isinstance(port, int)
        self.port = port
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None and self._process.is_alive():
            self._conn.send(_STOP)
            await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.kill()
            await asyncio.to_thread(self._process.join)
        self._conn.close()

    async def fed(self) -> tuple[float, float]:
        """Wait until every frame was handed to the server; return when the first and the
        last were."""
        message = await self._receive()
        assert isinstance(message, tuple) and message[0] == _FED
        return float(message[1]), float(message[2])

    async def played(self, *, core_rate: bool = False) -> Played:
        """The send times and the core's replay of the frames (its rate too if asked)."""
        self._conn.send((_REPLAY, core_rate))
        played = await self._receive()
        assert isinstance(played, Played)
        return played

    async def _receive(self) -> object:
        try:
            return await asyncio.to_thread(self._conn.recv)
        except EOFError as error:
            raise RuntimeError(
                f"the simulated PBX process ended (exit code {self._process.exitcode})"
            ) from error


def _child(playback: Playback, conn: Connection) -> None:
    asyncio.run(_serve(playback, conn))


async def _written(source: Written) -> AsyncIterator[str]:
    for frame in TraceReader(source.path):
        yield frame.text


BLOCK_FRAMES = 128
"""Frames a full-speed PBX hands its server at once (about 50 KB)."""

Item = str | FrameBlock | Snapshot


async def _blocks(player: AsyncIterable[str | Snapshot], spec: Stream | Written,
                  texts: list[str]) -> list[Item]:
    """The whole feed made in advance, as blocks of ready-made frames between its snapshot
    updates, so that playing it at full speed costs the PBX next to nothing; ``texts``
    gets every frame."""
    items: list[Item] = []
    block: list[str] = []

    def close_block() -> None:
        if block:
            items.append(FrameBlock("".join(f"{t}\r\n\r\n" for t in block).encode(),
                                    len(block)))
            block.clear()

    async for item in player:
        if isinstance(item, Snapshot):
            close_block()
            items.append(item)
            continue
        if not spec.kept(item):
            continue
        texts.append(item)
        block.append(item)
        if len(block) == BLOCK_FRAMES:
            close_block()
        if len(texts) >= spec.frames:
            break
    close_block()
    return items


async def _serve(playback: Playback, conn: Connection) -> None:
    spec = playback.stream
    player: AsyncIterable[str | Snapshot]
    if isinstance(spec, Written):
        player, snapshot = _written(spec), spec.snapshot
    else:
        trace = TracePlayer(spec.path, repeat=spec.repeat, live_timestamps=True)
        player, snapshot = trace, trace.snapshot
    texts: list[str] = []
    sent: array[float] = array("d")
    fed = asyncio.Event()

    async def paced(rate: float) -> AsyncIterator[Item]:
        clock = time.time
        loop = asyncio.get_running_loop()
        start = loop.time()
        fuzzer = Fuzzer(playback.fuzz)
        async for item in player:
            if not isinstance(item, str):
                yield item
                continue
            if not spec.kept(item):
                continue
            for frame in fuzzer.frames(item):
                delay = start + len(texts) / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                texts.append(frame)
                sent.append(clock())
                yield frame
            if len(texts) >= spec.frames:
                break
        fed.set()

    async def full_speed(items: list[Item]) -> AsyncIterator[Item]:
        clock = time.time
        for item in items:
            if isinstance(item, FrameBlock):
                sent.extend(repeat(clock(), item.frames))
            yield item
        fed.set()

    rate = playback.rate
    # at full speed the frames are made before the client connects, not while it reads
    feed = (paced(rate) if rate is not None
            else full_speed(await _blocks(player, spec, texts)))
    async with AmiServer(feed, username=USERNAME, secret=SECRET, snapshot=snapshot,
                         faults=playback.faults) as server:
        conn.send(server.port)
        await fed.wait()
        conn.send((_FED, sent[0], sent[-1]))
        while True:
            request = await asyncio.to_thread(conn.recv)
            if request == _STOP:
                break
            _, with_rate = request
            rate = core_rate(texts) if with_rate else 0.0
            conn.send(Played(sent, final_at(texts, sent, snapshot), rate, server.stats.lost))


def core_rate(texts: list[str]) -> float:
    """Frames per second through the parser and the tracker alone."""
    parse = FrameParser().parse
    feed = tracker().feed
    started = time.perf_counter()
    for text in texts:
        event = parse(text, 0.0)
        if event is not None:
            feed(event)
    return len(texts) / (time.perf_counter() - started)


def final_at(texts: list[str], sent: array[float], snapshot: Snapshot) -> dict[str, int]:
    """For each call record the tracker makes of the frames, the frame that made it final.

    The replay starts, as the collector does, from the PBX's QueueStatus answer.
    """
    parse = FrameParser().parse
    core = tracker()
    start = sent[0] if sent else 0.0
    for text in snapshot.status_answer(""):
        event = parse(text, start)
        if event is not None:
            core.feed(event)
    final: dict[str, int] = {}
    for index, text in enumerate(texts):
        event = parse(text, sent[index])
        if event is None:
            continue
        for fact in core.feed(event):
            # a call's record is revised as it goes: final once its phase is done
            if isinstance(fact, CallRecord) and fact.phase is Phase.DONE:
                final.setdefault(call_key(fact.uniqueid, fact.queue), index)
    return final
