"""The queue_log files an import or a check reads: opened, in time order, to facts.

Files are plain or gzip'd, rotated pieces in any order, or ``-`` for standard input
(:class:`~collector.queue_log.QueueLogReader` puts their lines in order). A damaged gzip
stream ends its file, counted among the skipped lines, not the whole run.
"""

from __future__ import annotations

import io
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.errors import UserError
from collector.queue_log import QueueLogLine, QueueLogReader, decoded
from collector.queue_log_import import ImportFact, QueueLogImporter
from collector.user_files import Progress

_PROGRESS_EVERY = 16_384
"""Lines between two progress reports."""


@dataclass(slots=True)
class QueueLogInput:
    """One queue_log file being read: its text, and its raw bytes for progress."""

    name: str
    raw: io.BufferedReader
    size: int | None
    text: IO[str]


def _open(name: str) -> QueueLogInput:
    if name == "-":
        # typeshed calls stdin's buffer a BinaryIO; it is a BufferedReader, which can peek
        raw = cast(io.BufferedReader, sys.stdin.buffer)
        return QueueLogInput("standard input", raw, None, decoded(raw))
    path = Path(name)
    try:
        raw = path.open("rb")
    except OSError as error:
        raise UserError(f"cannot read queue_log file {name} ({error.strerror}). "
                        "Check the path and that queuepulse may read it.") from error
    return QueueLogInput(name, raw, path.stat().st_size, decoded(raw))


@contextmanager
def open_inputs(names: Sequence[str]) -> Iterator[list[QueueLogInput]]:
    """The queue_log files, open for reading, closed afterwards."""
    if names.count("-") > 1:
        raise UserError("standard input ('-') can be read only once. Name it once.")
    with ExitStack() as stack:
        inputs = []
        for name in names:
            opened = _open(name)
            if name != "-":
                stack.callback(opened.text.close)
            inputs.append(opened)
        yield inputs


def _text_lines(source: QueueLogInput, skipped: Counter[str]) -> Iterator[str]:
    """A file's lines; a damaged gzip stream ends the file, counted, not the import."""
    try:
        yield from source.text
    except (OSError, EOFError, zlib.error) as error:
        skipped[f"unreadable end of {source.name} ({error})"] += 1


def time_zone(name: str) -> ZoneInfo:
    """The time zone of date-time stamps, by its IANA name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(f"unknown time zone {name!r}. Use an IANA name such as "
                        "'Europe/Berlin' or 'UTC'.") from error


def read_lines(inputs: list[QueueLogInput], reader: QueueLogReader,
               progress: Progress | None = None) -> Iterator[QueueLogLine]:
    """Every line of the inputs in time order; ``progress`` hears of the bytes read, when
    the size of every input is known."""
    lines = reader.read([_text_lines(i, reader.skipped) for i in inputs])
    if progress is None or None in (i.size for i in inputs):
        return lines
    return _reporting(lines, inputs, progress)


def _reporting(lines: Iterator[QueueLogLine], inputs: list[QueueLogInput],
               progress: Progress) -> Iterator[QueueLogLine]:
    total = sum(i.size or 0 for i in inputs)
    for count, line in enumerate(lines):
        if count % _PROGRESS_EVERY == 0:
            progress(sum((i.size or 0) if i.raw.closed else i.raw.tell() for i in inputs),
                     total)
        yield line


def imported_facts(lines: Iterable[QueueLogLine], importer: QueueLogImporter,
                   batch: int = 1) -> Iterator[list[ImportFact]]:
    """The facts of the lines, then of the input's end, in lists of at least ``batch``
    facts (but the last)."""
    feed = importer.feed
    facts: list[ImportFact] = []
    for line in lines:
        done = feed(line)
        if done:
            facts += done
            if len(facts) >= batch:
                yield facts
                facts = []
    facts += importer.finish()
    yield facts
