"""Asterisk's queue_log: ``epoch|callid|queue|agent|event|data1|data2|...`` lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One queue_log line, split into its fields."""

    epoch: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_line(line: str) -> QueueLogLine | None:
    """Split one line; ``None`` when it is not a queue_log line."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5:
        return None
    try:
        epoch = int(float(parts[0]))
    except ValueError:
        return None
    return QueueLogLine(epoch, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def read_queue_log(path: Path) -> Iterator[QueueLogLine]:
    """The queue_log lines of a file, skipping any that do not parse."""
    with path.open(encoding="utf-8", errors="replace") as stream:
        for line in stream:
            parsed = parse_line(line)
            if parsed is not None:
                yield parsed
