"""``queuepulse run``: the live daemon, in the foreground (systemd runs it as a service)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from queuepulse.config import check_ami_secret, load_config
from queuepulse.daemon import Daemon
from queuepulse.logs import configure_logging

# The store's writer thread releases the GIL at every SQLite step, then waits for the
# event loop's thread to hand it back: up to 5 ms each time by default, so a busy stream
# starves the writer. Switching every 0.5 ms lets it commit at the stream's pace.
_SWITCH_INTERVAL_S = 0.0005


def register(subparsers: Any) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser(
        "run",
        help="follow the PBX live and store every call (the daemon)",
        description="Connect to the Asterisk Manager Interface, follow the queue events, "
        "store finished calls and agent states in SQLite, and keep going across lost "
        "connections and PBX restarts until stopped (Ctrl-C or SIGTERM). Under systemd it "
        "reports READY=1 after the first login and snapshot, and pings the watchdog.",
    )
    parser.add_argument("--config", type=Path, required=True, help="configuration file")
    parser.set_defaults(handler=run)


async def serve(daemon: Daemon) -> None:
    """Run the daemon until SIGINT or SIGTERM asks it to stop."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, daemon.stop)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    try:
        await daemon.run()
    finally:
        sys.setswitchinterval(switch_interval)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse run``."""
    config = load_config(args.config)
    check_ami_secret(config)
    configure_logging(config.log.level, config.log.format)
    asyncio.run(serve(Daemon(config)))
    return 0
