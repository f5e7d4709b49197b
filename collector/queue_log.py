"""Asterisk's queue_log: ``time|callid|queue|agent|event|data1|data2|...`` lines.

The time is a Unix epoch written by Asterisk's file logger (``1795484831``), or, in
queue_log tables exported from a realtime database, a ``DATETIME`` text
(``2026-11-24 01:47:08`` or ``2026-11-24 01:47:08.123456``) in the PBX's local time unless
``queue_log_realtime_use_gmt = yes``. An epoch names an instant by itself; a date-time text
is read in the time zone it is given.

Rotated logs come as several files (``queue_log``, ``queue_log.1``, ``queue_log.2.gz``), in
any order and sometimes overlapping. :class:`QueueLogReader` puts them in time order,
drops the lines a later piece repeats, and counts every line it could not read; it never
raises on content.
"""

from __future__ import annotations

import gzip
import io
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import IO, NamedTuple

GARBAGE = "not a queue_log line"
DUPLICATE = "repeated by an overlapping file"


class QueueLogLine(NamedTuple):
    """One queue_log line, split into its fields; ``at`` is UTC epoch seconds.

    A named tuple, not a dataclass: one is built for every line of a log of millions.
    """

    at: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_stamp(text: str, timezone: tzinfo = UTC) -> float | None:
    """The instant a queue_log time field names; ``None`` when it names none."""
    if text.isdigit():
        return float(text)
    try:
        epoch = float(text)
    except ValueError:
        pass
    else:
        return epoch if math.isfinite(epoch) else None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone)
    return stamp.timestamp()


def parse_line(line: str, timezone: tzinfo = UTC) -> QueueLogLine | None:
    """Split one line; ``None`` when it is not a queue_log line."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[4]:
        return None
    stamp = parts[0]
    # Asterisk's own file logger writes whole epoch seconds: the common case, first
    at = float(stamp) if stamp.isdigit() else parse_stamp(stamp, timezone)
    if at is None:
        return None
    return QueueLogLine(at, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def decoded(raw: io.BufferedReader) -> IO[str]:
    """A binary queue_log stream as text, gunzipped if it is gzip'd (told by its content)."""
    if raw.peek(2)[:2] == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")


@dataclass(slots=True)
class _Piece:
    """One input file, with the lines read ahead to learn when it starts."""

    ahead: list[str]
    rest: Iterator[str]
    first_at: float
    order: int

    def lines(self) -> Iterator[str]:
        return itertools.chain(self.ahead, self.rest)


@dataclass(slots=True)
class QueueLogReader:
    """Reads one or more queue_log pieces as one log, in time order, each line once.

    Pieces are ordered by their first time. Where a piece starts before the pieces read
    so far end, its lines up to that end are compared with the log read so far: a line
    that log already holds (same text, as many times as this piece repeats it) is skipped
    as a repeat; anything else is kept.
    """

    timezone: tzinfo = UTC
    lines_read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def read(self, streams: Sequence[Iterable[str]]) -> Iterator[QueueLogLine]:
        """Every usable line of the pieces, in time order."""
        pieces = sorted(
            (self._piece(stream, order) for order, stream in enumerate(streams)),
            key=lambda p: (p.first_at, p.order),
        )
        merged: Counter[str] = Counter()
        read_until = float("-inf")
        for index, piece in enumerate(pieces):
            next_starts = pieces[index + 1].first_at if index + 1 < len(pieces) else None
            for line in self._lines(piece, merged, read_until, next_starts):
                read_until = max(read_until, line.at)
                yield line

    def _piece(self, stream: Iterable[str], order: int) -> _Piece:
        rest = iter(stream)
        ahead: list[str] = []
        for line in rest:
            ahead.append(line)
            parsed = parse_line(line, self.timezone)
            if parsed is not None:
                return _Piece(ahead, rest, parsed.at, order)
        return _Piece(ahead, rest, float("inf"), order)

    def _lines(self, piece: _Piece, merged: Counter[str], overlap_until: float,
               next_starts: float | None) -> Iterator[QueueLogLine]:
        mine: Counter[str] = Counter()
        timezone, skipped = self.timezone, self.skipped
        for text in piece.lines():
            line = parse_line(text, timezone)
            if line is None:
                if text.strip():
                    self.lines_read += 1
                    skipped[GARBAGE] += 1
                continue
            self.lines_read += 1
            if line.at <= overlap_until:
                key = text.rstrip("\r\n")
                mine[key] += 1
                if mine[key] <= merged[key]:
                    skipped[DUPLICATE] += 1
                    continue
            if next_starts is not None and line.at >= next_starts:
                merged[text.rstrip("\r\n")] += 1
            yield line
