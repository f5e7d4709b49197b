"""``queuepulse record``: capture the live AMI stream as a JSON Lines trace for replay."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from pathlib import Path
from typing import Any

from collector.ami.settings import AmiConfig
from collector.errors import UserError
from collector.recording import TraceFile, check_writable, record, unwritable
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


async def _record_until_signal(config: AmiConfig, path: Path, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    out = TraceFile(path)
    try:
        return await record(config, out, stop, duration)
    except OSError as error:
        raise unwritable(path, error) from error
    finally:
        out.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse record``."""
    config = load_config(args.config)
    check_ami_secret(config)
    check_writable(args.out)
    ami = config.ami if args.events is None else dataclasses.replace(config.ami,
                                                                      events=args.events)
    configure_logging(config.log, stream=sys.stderr)
    count = asyncio.run(_record_until_signal(ami, args.out, args.duration))
    if count == 0:
        raise UserError(f"nothing recorded: no connection to the AMI at {ami.host}:{ami.port} "
                        f"(the log above says why), so {args.out} was not written. Check "
                        "ami.host and ami.port, and that Asterisk is running.")
    print(f"{count} frames recorded to {args.out}", file=sys.stderr)
    return 0
