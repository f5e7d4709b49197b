"""Following Asterisk's queue_log while Asterisk writes it, as ``tail -F`` does.

:class:`QueueLogTail` keeps the file open between reads and hands out each line once:

* only whole lines: a last line still being written waits for its newline;
* through rotation by renaming (logrotate's default): the old file is read to its end,
  then the new one from its start; the old one stays open, and is read first, until
  Asterisk has moved to the new one (its ``logger reload``);
* through rotation by copying and truncating (``copytruncate``), noticed when the file
  gets shorter than what was read or its first line changes: what was written between
  the last read and the truncation is read from the copy (``queue_log.1`` or
  ``queue_log-DATE``, not compressed yet) when there is one;
* from a moment in the past: :meth:`QueueLogTail.start` bisects the file for the first
  line of that moment (queue_log lines are in time order), so a large file is not read
  from its start.

Blocking file I/O and no decisions: the daemon reads from a worker thread and decides
what the lines mean elsewhere (:mod:`collector.queue_log_backfill`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path

from collector.queue_log import GARBAGE, QueueLogLine, parse_line

_BLOCK = 65_536
"""Bytes read at a time while looking for a moment; below this much, bisecting stops."""
_PROBE = 4096
"""Bytes first read to look at a line: lines are short, and bisecting reads many places."""
_READ = 1 << 20
"""Bytes read at a time while following."""
_HEAD = 64
"""Bytes of the file's start remembered, to notice it truncated and written again."""
TORN = "torn by a rotation"
"""The skip reason of a last line that a rotation cut before it was finished."""


@dataclass(slots=True)
class TailStats:
    """What the tail read: lines handed out, bytes read, rotations it followed."""

    lines: int = 0
    bytes_read: int = 0
    rotations: int = 0
    truncations: int = 0
    unrecovered: int = 0
    """Truncations with no copy to read the lines written just before them from."""
    skipped: Counter[str] = field(default_factory=Counter)


class _Reader:
    """One open file and how far it was read (``partial``: a last line without its end)."""

    def __init__(self, path: Path, stats: TailStats, timezone: tzinfo) -> None:
        self.handle = path.open("rb", buffering=0)
        self.fd = self.handle.fileno()
        stat = os.fstat(self.fd)
        self.identity = (stat.st_dev, stat.st_ino)
        self.offset = 0
        self.partial = b""
        self.head = os.pread(self.fd, _HEAD, 0)
        self._stats = stats
        self._timezone = timezone

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read(self, lines: list[QueueLogLine], budget: int) -> int:
        """Take the whole lines written past ``offset``, up to ``budget`` bytes; how many
        bytes were read."""
        taken = 0
        while taken < budget:
            chunk = os.pread(self.fd, min(budget - taken, _READ), self.offset)
            if not chunk:
                break
            if self.offset < _HEAD:
                self.head = os.pread(self.fd, _HEAD, 0)
            self.take(chunk, lines)
            taken += len(chunk)
        return taken

    def take(self, chunk: bytes, lines: list[QueueLogLine]) -> None:
        """Take the lines ``chunk`` completes; it was read at ``offset``."""
        stats = self._stats
        stats.bytes_read += len(chunk)
        self.offset += len(chunk)
        *whole, self.partial = (self.partial + chunk).split(b"\n")
        for raw in whole:
            text = raw.decode("utf-8", errors="replace")
            line = parse_line(text, self._timezone)
            if line is not None:
                lines.append(line)
                stats.lines += 1
            elif text.strip():
                stats.skipped[GARBAGE] += 1

    def truncated(self) -> bool:
        """Whether the file was emptied since it was read (and maybe written again)."""
        return self.size() < self.offset or os.pread(self.fd, len(self.head), 0) != self.head

    def restart(self) -> None:
        """Read the file again from its start (it was truncated)."""
        self.tear()
        self.offset = 0
        self.head = os.pread(self.fd, _HEAD, 0)

    def tear(self) -> None:
        """Give up the unfinished last line: the file will not finish it."""
        if self.partial.strip():
            self._stats.skipped[TORN] += 1
        self.partial = b""

    def close(self) -> None:
        self.handle.close()


class QueueLogTail:
    """One queue_log file followed across reads; ``timezone`` is that of date-time stamps."""

    def __init__(self, path: Path, timezone: tzinfo = UTC) -> None:
        self.path = path
        self.stats = TailStats()
        self._timezone = timezone
        self._current: _Reader | None = None
        self._previous: _Reader | None = None
        """The file before a rotation by renaming, until Asterisk writes the new one."""

    def start(self, since: float | None) -> bool:
        """Open the file, to read from its first line dated ``since`` or later (``None``:
        from its end, the lines written from now on).

        Returns False when there is no file yet: it is read from its start once it
        appears. Raises :class:`OSError` when the file is there but cannot be read.
        """
        self.close()
        try:
            reader = self._current = self._open()
        except FileNotFoundError:
            return False
        size = reader.size()
        reader.offset = _last_line_end(reader.fd, size) if since is None else self._find(
            reader, since, size)
        return True

    def read(self, limit: int = 4 * _READ) -> list[QueueLogLine]:
        """The lines completed since the last read, in the file's order: about ``limit``
        bytes of them at most, the rest at the next read."""
        lines: list[QueueLogLine] = []
        budget = limit
        if self._previous is not None:
            from_previous = self._previous.read(lines, budget)
            budget -= from_previous
            if not from_previous and self._current is not None and self._current.size():
                self._previous.tear()
                self._previous.close()
                self._previous = None
        if self._current is None:
            try:
                self._current = self._open()
            except FileNotFoundError:
                return lines
        if self._current.truncated():  # before reading on: past the old end is new text
            self._restart(self._current, lines)
        while budget > 0:
            taken = self._current.read(lines, budget)
            budget -= taken
            if not taken and not self._follow_rotation(lines):
                break
        return lines

    def close(self) -> None:
        """Close the file (a later :meth:`read` opens it again, from its start)."""
        for reader in (self._previous, self._current):
            if reader is not None:
                reader.close()
        self._current = self._previous = None

    def _open(self) -> _Reader:
        return _Reader(self.path, self.stats, self._timezone)

    def _follow_rotation(self, lines: list[QueueLogLine]) -> bool:
        """At the end of the open file: move on to the file now at the path, if it is a
        new one; whether there may be more to read."""
        current = self._current
        assert current is not None
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return False  # renamed away, not created again yet: Asterisk still writes the old
        if (stat.st_dev, stat.st_ino) != current.identity:
            try:
                self._current = self._open()
            except FileNotFoundError:
                return False
            self.stats.rotations += 1
            if self._previous is not None:
                self._previous.tear()
                self._previous.close()
            self._previous = current
            return True
        if current.truncated():
            self._restart(current, lines)
            return True
        return False

    def _restart(self, reader: _Reader, lines: list[QueueLogLine]) -> None:
        """The file was truncated: what it held past what was read is in its copy."""
        self.stats.truncations += 1
        if not self._read_copy(reader, lines):
            self.stats.unrecovered += 1
        reader.restart()

    def _read_copy(self, reader: _Reader, lines: list[QueueLogLine]) -> bool:
        """Read what the copy made before a truncation holds beyond what was read."""
        name = self.path.name
        copies = sorted(self.path.parent.glob(f"{name}-*"), key=_modified, reverse=True)
        for copy in [self.path.with_name(f"{name}.1"), *copies]:
            try:
                with copy.open("rb", buffering=0) as handle:
                    fd = handle.fileno()
                    if (os.fstat(fd).st_size < reader.offset
                            or os.pread(fd, len(reader.head), 0) != reader.head):
                        continue
                    while chunk := os.pread(fd, _READ, reader.offset):
                        reader.take(chunk, lines)
            except OSError:
                continue
            return True
        return False

    # -- finding a moment -------------------------------------------------------------

    def _lines_from(self, reader: _Reader, offset: int, end: int,
                    ) -> Iterator[tuple[int, bytes]]:
        """The lines starting at or after ``offset`` and before ``end``, with where each
        starts; the first is whole only when ``offset`` is a line's start."""
        pending = b""
        start = read_to = offset
        block = _PROBE
        while start < end:
            chunk = os.pread(reader.fd, block, read_to)
            block = min(2 * block, _BLOCK)
            if not chunk:
                return
            self.stats.bytes_read += len(chunk)
            read_to += len(chunk)
            *whole, pending = (pending + chunk).split(b"\n")
            for raw in whole:
                if start >= end:
                    return
                yield start, raw
                start += len(raw) + 1

    def _stamp(self, raw: bytes) -> float | None:
        line = parse_line(raw.decode("utf-8", errors="replace"), self._timezone)
        return None if line is None else line.at

    def _line_start_after(self, reader: _Reader, offset: int, size: int) -> int:
        """Where the first line starting at or after ``offset`` starts (``size``: none)."""
        if offset == 0:
            return 0
        # the "line" from offset - 1 is the rest of the line offset is in, or nothing
        for start, raw in self._lines_from(reader, offset - 1, size):
            return start + len(raw) + 1
        return size

    def _find(self, reader: _Reader, since: float, size: int) -> int:
        """Where the first line dated ``since`` or later starts (or the last line ends)."""
        low, high = 0, size
        while high - low > _BLOCK:
            middle = (low + high) // 2
            stamp = None
            for _, raw in self._lines_from(reader, self._line_start_after(
                    reader, middle, size), high):
                stamp = self._stamp(raw)
                if stamp is not None:
                    break
            if stamp is not None and stamp < since:
                low = middle
            else:
                high = middle
        end = self._line_start_after(reader, low, size)
        for start, raw in self._lines_from(reader, end, size):
            stamp = self._stamp(raw)
            if stamp is not None and stamp >= since:
                return start
            end = start + len(raw) + 1
        return end


def _last_line_end(fd: int, size: int) -> int:
    """Where the file's last whole line ends: a line still being written is read whole."""
    start = size
    while start > 0:
        start = max(0, start - _BLOCK)
        cut = os.pread(fd, min(_BLOCK, size - start), start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
    return 0


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
