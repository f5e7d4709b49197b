"""Files the user names on the command line: what a file given in the wrong place looks like,
outputs a failed command takes back, and progress through a long input.

Swapped arguments are the commonest mistake (a configuration given as ``--db``, a database
given as the trace); an error that says what the file *is* makes the fix obvious.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
_HEAD_BYTES = 512
_QUEUE_LOG_LINE = re.compile(r"^(\d+(\.\d+)?|\d{4}-\d\d-\d\d[ T][\d:.]+)\|[^|]*\|")

Progress = Callable[[int, int], None]
"""Told, now and then, how many bytes of a long input were read so far, and of how many."""


def head(path: Path) -> bytes:
    """The first bytes of a file (enough to tell what it is); raises :class:`OSError`."""
    with path.open("rb") as stream:
        return stream.read(_HEAD_BYTES)


def is_sqlite(start: bytes) -> bool:
    """Whether bytes are the start of a SQLite database file."""
    return start.startswith(SQLITE_HEADER)


def describe(start: bytes) -> str:
    """What a file starting with these bytes looks like, for an error message."""
    if not start:
        return "an empty file"
    if is_sqlite(start):
        return "a SQLite database"
    if start.startswith(b"\x1f\x8b"):
        return "gzip-compressed data"
    try:
        text = start.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(start) - 3:  # not merely a character cut at the end
            return "binary data, not text"
        text = start[: error.start].decode("utf-8-sig")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.startswith("{") and '"raw"' in first:
        return "a JSON Lines trace (as 'queuepulse record' writes)"
    if _QUEUE_LOG_LINE.match(first):
        return "an Asterisk queue_log"
    shown = first if len(first) <= 40 else first[:40] + "..."
    return f"text starting with {shown!r}"


@contextmanager
def removed_on_failure(path: Path, companions: tuple[str, ...] = ()) -> Iterator[None]:
    """Delete ``path`` (and ``path`` + each companion suffix) if the block fails and the
    file did not exist before it: a failed command leaves no empty output behind."""
    existed = path.exists()
    try:
        yield
    except BaseException:
        if not existed:
            for name in (str(path), *(str(path) + suffix for suffix in companions)):
                Path(name).unlink(missing_ok=True)
        raise
