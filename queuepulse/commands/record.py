"""``queuepulse record``: capture the live AMI stream as a JSON Lines trace for replay."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, TextIO

from collector.ami.client import AmiConnection, AmiResponse, follow
from collector.ami.protocol import Clock
from collector.ami.settings import AmiConfig
from collector.errors import UserError
from collector.trace import frame_line
from queuepulse.config import check_ami_secret, load_config
from queuepulse.logs import configure_logging


def register(subparsers: Any) -> None:
    """Add the ``record`` command."""
    parser = subparsers.add_parser(
        "record",
        help="capture the live AMI stream to a trace file",
        description="Log in to the AMI and write every frame it sends (banner, responses "
        "and all events, not only those queuepulse uses), one JSON object per line with "
        "its receive time, until Ctrl-C, SIGTERM or --duration. Each (re)connection "
        "starts with a QueueStatus and QueueSummary snapshot, so the trace replays on its "
        "own with 'queuepulse replay'.",
    )
    parser.add_argument("out", type=Path, help="trace file to write (JSON Lines)")
    parser.add_argument("--config", type=Path, required=True, help="configuration file")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--events", help="event classes to ask for (default: ami.events; "
                        "'on' for every class the AMI user may read)")
    parser.set_defaults(handler=run)


def _ignore(response: AmiResponse) -> None:
    """Snapshot answers are recorded with the frames; the response itself needs nothing."""


class TraceSink(Protocol):
    """Where :func:`record` writes its lines: a text file, or anything with these two."""

    def writelines(self, lines: Iterable[str], /) -> None:
        """Append lines."""

    def flush(self) -> None:
        """Hand what was written to the file system."""


class _CreatedOnFirstFrame:
    """The trace file, created when the first frame arrives: a refused login or a PBX
    never reached leaves no empty file behind (and an older file as it was)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def writelines(self, lines: Iterable[str], /) -> None:
        if self._file is None:
            try:
                self._file = self.path.open("w", encoding="utf-8")
            except OSError as error:
                raise _unwritable(self.path, error) from error
        self._file.writelines(lines)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _unwritable(path: Path, error: OSError) -> UserError:
    return UserError(f"cannot write {path} ({error.strerror}). Choose a writable path.")


def _check_writable(path: Path) -> None:
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


async def _record_until_signal(config: AmiConfig, path: Path, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    out = _CreatedOnFirstFrame(path)
    try:
        return await record(config, out, stop, duration)
    except OSError as error:
        raise _unwritable(path, error) from error
    finally:
        out.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse record``."""
    config = load_config(args.config)
    check_ami_secret(config)
    _check_writable(args.out)
    ami = config.ami if args.events is None else dataclasses.replace(config.ami,
                                                                      events=args.events)
    configure_logging(config.log.level, config.log.format, stream=sys.stderr)
    count = asyncio.run(_record_until_signal(ami, args.out, args.duration))
    if count == 0:
        raise UserError(f"nothing recorded: no connection to the AMI at {ami.host}:{ami.port} "
                        f"(the log above says why), so {args.out} was not written. Check "
                        "ami.host and ami.port, and that Asterisk is running.")
    print(f"{count} frames recorded to {args.out}", file=sys.stderr)
    return 0
