"""``queuepulse run``: the live daemon, in the foreground (systemd runs it as a service)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import structlog

from queuepulse.config import check_ami_secret, exposed_secrets, load_config
from queuepulse.daemon import Daemon
from queuepulse.logs import configure_logging
from queuepulse.service import serve

log = structlog.get_logger("queuepulse.run")


def register(subparsers: Any) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser(
        "run",
        help="follow the PBX live and store every call (the daemon)",
        description="Connect to the Asterisk Manager Interface, follow the queue events, "
        "store finished calls and agent states in SQLite, and keep going across lost "
        "connections, refused logins and PBX restarts until stopped (Ctrl-C or SIGTERM). "
        "SIGHUP reads the configuration file again and applies the log and KPI settings. "
        "Under systemd it reports READY=1 once the database is open, STATUS= with the AMI "
        "connection's state, and pings the watchdog.",
    )
    parser.add_argument("--config", type=Path, required=True, help="configuration file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse run``."""
    config = load_config(args.config)
    check_ami_secret(config)
    configure_logging(config.log)
    for exposure in exposed_secrets(config, args.config):
        log.warning("config.secret_readable", key=exposure.key, path=exposure.path,
                    mode=f"{exposure.mode:04o}", fix=exposure.fix)
    asyncio.run(serve(Daemon(config), args.config))
    return 0
