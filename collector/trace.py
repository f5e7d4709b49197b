"""Recorded AMI streams: read them for replay, write them when recording.

Two formats are read:

* JSON Lines, one ``{"t": <receive time, epoch seconds>, "raw": "<frame text>"}`` per
  frame (what ``queuepulse record`` writes);
* a plain capture of AMI text (frames separated by a blank line). Such a capture has no
  receive times, so each frame gets the time of the last ``Timestamp`` header seen.

A file that is neither is refused at its first line, before a frame is read from it. A
JSON Lines trace whose last line was cut short (a ``record`` that was killed while
writing) ends at the line before: :class:`TraceReader` says which line it left out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from collector.user_files import describe, head


@dataclass(frozen=True, slots=True)
class Frame:
    """One AMI frame as it arrived: its text (CRLF line ends) and its receive time."""

    received_at: float
    text: str


class TraceFormatError(ValueError):
    """The file is neither a JSON Lines trace nor an AMI text capture."""


_AMI_FIRST_LINE = re.compile(r"(Asterisk Call Manager/|[A-Za-z][\w-]*: )")


def not_a_trace(path: Path) -> TraceFormatError:
    """The error for a file that is no recorded AMI stream, saying what it is instead."""
    try:
        kind = describe(head(path))
    except OSError:
        kind = "unreadable"
    hint = (" (a queue_log is read by 'queuepulse import-queue-log')" if "queue_log" in kind
            else " (a database goes to --db)" if "SQLite" in kind else "")
    return TraceFormatError(f"{path} is not an AMI trace: it is {kind}. Give the JSON Lines "
                            f"file 'queuepulse record' writes, or a capture of AMI text{hint}.")


def _bad_line(path: Path, number: int, error: Exception) -> TraceFormatError:
    if number == 1:
        return not_a_trace(path)
    return TraceFormatError(f"{path}:{number}: not a trace line ({error}). Each line must be "
                            '{"t": <epoch seconds>, "raw": "<AMI frame>"}; fix or delete it.')


def frame_timestamp(text: str) -> float | None:
    """The ``Timestamp`` header of a frame, as written (``None`` without one)."""
    start = text.find("Timestamp: ")
    if start < 0:
        return None
    end = text.find("\n", start)
    try:
        return float(text[start + 11 : end if end >= 0 else None].strip())
    except ValueError:
        return None


def _later(clock: float, text: str) -> float:
    """The time of a captured frame: its stamp, if it is a number, else the time before."""
    stamp = frame_timestamp(text)
    return stamp if stamp is not None and math.isfinite(stamp) else clock


def capture_frames(stream: IO[str]) -> Iterator[Frame]:
    """The frames of a plain capture of AMI text (blank-line separated), each at the time
    of the last ``Timestamp`` header seen."""
    clock = 0.0
    lines: list[str] = []
    for raw_line in stream:
        line = raw_line.rstrip("\r\n")
        if line:
            lines.append(line)
            continue
        if lines:
            text = "\r\n".join(lines)
            clock = _later(clock, text)
            yield Frame(clock, text)
            lines = []
    if lines:
        text = "\r\n".join(lines)
        yield Frame(_later(clock, text), text)


class TraceReader:
    """The frames of a recorded trace, in the order they arrived (iterate over it).

    Raises :class:`TraceFormatError` for a file that is not a trace, or a line that is not
    a trace line; a last line cut short ends the trace, and :attr:`torn_line` names it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.torn_line: int | None = None

    def __iter__(self) -> Iterator[Frame]:
        with self.path.open(encoding="utf-8", errors="replace", newline="") as stream:
            first = stream.readline()
            stream.seek(0)
            if first.lstrip().startswith("{"):
                yield from self._jsonl_frames(stream)
                return
            frames = capture_frames(stream)
            opening = next(frames, None)
            if opening is None or not _AMI_FIRST_LINE.match(opening.text):
                raise not_a_trace(self.path)
            yield opening
            yield from frames

    def _jsonl_frames(self, lines: IO[str]) -> Iterator[Frame]:
        bad: tuple[int, str, Exception] | None = None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if bad is not None:
                raise _bad_line(self.path, bad[0], bad[2])
            try:
                item = json.loads(line)
                frame = Frame(float(item["t"]), str(item["raw"]))
            except (ValueError, KeyError, TypeError) as error:
                bad = (number, line, error)
                continue
            yield frame
        if bad is not None:
            if bad[0] == 1 or bad[1].endswith("\n"):
                raise _bad_line(self.path, bad[0], bad[2])
            self.torn_line = bad[0]


def frame_line(frame: Frame) -> str:
    """One frame as a JSON Lines trace line (with its newline)."""
    return json.dumps({"t": frame.received_at, "raw": frame.text}, ensure_ascii=False) + "\n"
