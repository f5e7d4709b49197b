"""Recording the live AMI stream: every frame, with its receive time, into a trace file.

The trace is the JSON Lines :mod:`collector.trace` reads back for ``queuepulse replay``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, TextIO

from collector.ami.client import AmiConnection, AmiResponse, follow
from collector.ami.protocol import Clock
from collector.ami.settings import AmiConfig
from collector.errors import UserError
from collector.trace import frame_line


def _ignore(response: AmiResponse) -> None:
    """Snapshot answers are recorded with the frames; the response itself needs nothing."""


class TraceSink(Protocol):
    """Where :func:`record` writes its lines: a text file, or anything with these two."""

    def writelines(self, lines: Iterable[str], /) -> None:
        """Append lines."""

    def flush(self) -> None:
        """Hand what was written to the file system."""


class TraceFile:
    """The trace file, created when the first frame arrives: a refused login or a PBX
    never reached leaves no empty file behind (and an older file as it was)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def writelines(self, lines: Iterable[str], /) -> None:
        """Append lines, creating the file first if need be."""
        if self._file is None:
            try:
                self._file = self.path.open("w", encoding="utf-8")
            except OSError as error:
                raise unwritable(self.path, error) from error
        self._file.writelines(lines)

    def flush(self) -> None:
        """Hand what was written to the file system."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Close the file, if it was created."""
        if self._file is not None:
            self._file.close()


def unwritable(path: Path, error: OSError) -> UserError:
    """The error for a trace file that cannot be written."""
    return UserError(f"cannot write {path} ({error.strerror}). Choose a writable path.")


def check_writable(path: Path) -> None:
    """Refuse an output that cannot be written before logging in, not after."""
    folder = path.parent
    problem = ("is a directory" if path.is_dir() else
               "no such directory" if not folder.is_dir() else
               "permission denied" if not os.access(path if path.exists() else folder,
                                                    os.W_OK) else None)
    if problem is not None:
        raise UserError(f"cannot write {path} ({problem}). Choose a writable path.")


async def record(config: AmiConfig, out: TraceSink, stop: asyncio.Event,
                 duration: float | None = None, clock: Clock = time.time) -> int:
    """Write every frame to ``out`` until ``stop`` is set or ``duration`` passes.

    Returns how many frames were written; ``clock`` stamps their receive time.
    """
    count = 0

    async def session(ami: AmiConnection) -> None:
        nonlocal count
        ami.request("QueueStatus", _ignore)
        ami.request("QueueSummary", _ignore)
        async for batch in ami.frames():
            out.writelines(frame_line(frame) for frame in batch.frames())
            out.flush()
            count += len(batch.texts)

    following = asyncio.create_task(follow(config, session, clock=clock), name="ami")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    try:
        await asyncio.wait({following, stopping}, timeout=duration,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not following.done():
            following.cancel()
        await asyncio.wait({following, stopping})
    if not following.cancelled() and following.exception() is not None:
        raise following.exception()  # type: ignore[misc]  # checked just above
    return count
