"""Recorded AMI streams: read them for replay, write them when recording.

Two formats are read:

* JSON Lines, one ``{"t": <receive time, epoch seconds>, "raw": "<frame text>"}`` per
  frame (what ``queuepulse record`` writes);
* a plain capture of AMI text (frames separated by a blank line). Such a capture has no
  receive times, so each frame gets the time of the last ``Timestamp`` header seen.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True, slots=True)
class Frame:
    """One AMI frame as it arrived: its text (CRLF line ends) and its receive time."""

    received_at: float
    text: str


class TraceFormatError(ValueError):
    """The file is neither a JSON Lines trace nor an AMI text capture."""


def _jsonl_frames(lines: Iterator[str], path: Path) -> Iterator[Frame]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            yield Frame(float(item["t"]), str(item["raw"]))
        except (ValueError, KeyError, TypeError) as error:
            raise TraceFormatError(
                f"{path}:{number}: not a trace line ({error}); expected "
                '{"t": <epoch seconds>, "raw": "<AMI frame>"}'
            ) from error


def _timestamp_of(text: str) -> float | None:
    start = text.find("Timestamp: ")
    if start < 0:
        return None
    end = text.find("\n", start)
    try:
        return float(text[start + 11 : end if end >= 0 else None].strip())
    except ValueError:
        return None


def frames_from_text(text: str) -> Iterator[Frame]:
    """The frames of AMI text (blank-line separated), as from a plain capture."""
    yield from _raw_frames(io.StringIO(text))


def _raw_frames(stream: IO[str]) -> Iterator[Frame]:
    clock = 0.0
    lines: list[str] = []
    for raw_line in stream:
        line = raw_line.rstrip("\r\n")
        if line:
            lines.append(line)
            continue
        if lines:
            text = "\r\n".join(lines)
            clock = _timestamp_of(text) or clock
            yield Frame(clock, text)
            lines = []
    if lines:
        text = "\r\n".join(lines)
        yield Frame(_timestamp_of(text) or clock, text)


def read_frames(path: Path) -> Iterator[Frame]:
    """Yield the frames of a recorded trace in the order they arrived."""
    with path.open(encoding="utf-8", errors="replace", newline="") as stream:
        first = stream.readline()
        stream.seek(0)
        if first.lstrip().startswith("{"):
            yield from _jsonl_frames(iter(stream), path)
        else:
            yield from _raw_frames(stream)


def frame_line(frame: Frame) -> str:
    """One frame as a JSON Lines trace line (with its newline)."""
    return json.dumps({"t": frame.received_at, "raw": frame.text}, ensure_ascii=False) + "\n"
