"""Run the tracker over a recorded stream: the same core the live daemon uses, into SQLite
if asked."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from collector.ami.protocol import BANNER_PREFIX
from collector.errors import UserError
from collector.events import StreamGap
from collector.facts import CallRecord, Fact
from collector.parser import FrameParser
from collector.store.opening import writing
from collector.store.writes import write_facts
from collector.trace import Frame, TraceFormatError, TraceReader, not_a_trace
from collector.tracker import Tracker
from collector.user_files import Progress

_BATCH = 5000
_FRAME_OVERHEAD = 32
"""About how many bytes longer a frame's line in a trace is than its text."""


def replay(frames: Iterable[Frame], tracker: Tracker, parser: FrameParser) -> Iterator[Fact]:
    """Feed every frame through the parser and the tracker, then close the stream.

    The stream ends at the last frame's time; calls still open then are closed with what
    was observed of them. An implausible Timestamp is an anomaly (:mod:`collector.clock`).
    A banner after the first frame is a new connection: the time since the frame before
    is a gap, as the live daemon sees it.
    """
    last: float | None = None
    for frame in frames:
        if last is not None and frame.text.startswith(BANNER_PREFIX):
            clock = parser.clock
            yield from tracker.feed(StreamGap(at=clock.estimate(frame.received_at),
                                              since=clock.estimate(last)))
        last = frame.received_at if last is None else max(last, frame.received_at)
        event = parser.parse(frame.text, frame.received_at)
        if event is not None:
            yield from parser.anomalies()
            yield from tracker.feed(event)
    end = parser.clock.estimate(last) if last is not None else 0.0
    yield from tracker.finish(max(end, tracker.now))


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay stored: each stint's final call record, and the torn last line it left
    out, if any."""

    calls: tuple[CallRecord, ...]
    torn_line: int | None


def _reporting(frames: Iterator[Frame], size: int, progress: Progress) -> Iterator[Frame]:
    done = 0
    for frame in frames:
        done += len(frame.text) + _FRAME_OVERHEAD
        progress(done, size)
        yield frame


def replay_to_database(trace: Path, db_path: str, tracker: Tracker,
                       progress: Progress | None = None) -> Replayed:
    """Replay a trace into the database, in one transaction; return what it stored.

    A file that is not a trace is refused before the database is opened; a bad line in
    the middle stores nothing (and a database this created is removed). ``progress``
    hears how much of the file was replayed.
    """
    if not trace.is_file():
        raise UserError(f"no trace file at {trace}. Give the path of a recorded AMI stream.")
    reader = TraceReader(trace)
    frames: Iterator[Frame] = iter(reader)
    try:
        first = next(frames, None)
    except TraceFormatError as error:
        raise UserError(str(error)) from error
    if first is None:
        raise UserError(str(not_a_trace(trace)))
    frames = itertools.chain([first], frames)
    if progress is not None:
        frames = _reporting(frames, trace.stat().st_size, progress)
    calls: dict[str, CallRecord] = {}
    batch: list[Fact] = []
    with writing(db_path) as db, db.atomic():
        try:
            for fact in replay(frames, tracker, FrameParser()):
                batch.append(fact)
                if isinstance(fact, CallRecord):
                    # a stint's record is revised as its call goes on: the last one stays
                    calls[fact.call_id] = fact
                if len(batch) >= _BATCH:
                    write_facts(db, batch, source="replay")
                    batch.clear()
        except TraceFormatError as error:
            raise UserError(str(error)) from error
        write_facts(db, batch, source="replay")
    return Replayed(tuple(calls.values()), reader.torn_line)
