"""``queuepulse run``: the live daemon, in the foreground (systemd runs it as a service)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from queuepulse.config import check_ami_secret, load_config
from queuepulse.daemon import Daemon
from queuepulse.logs import configure_logging
from queuepulse.service import serve


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


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse run``."""
    config = load_config(args.config)
    check_ami_secret(config)
    configure_logging(config.log)
    asyncio.run(serve(Daemon(config)))
    return 0
