"""``queuepulse check-config``: read a configuration file and say what is wrong with it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from collector.config import load_config


def register(subparsers: Any) -> None:
    """Add the ``check-config`` command."""
    parser = subparsers.add_parser(
        "check-config",
        help="check a configuration file",
        description="Read a configuration file the way 'queuepulse run' does. Prints OK and "
        "what it will connect to, or the first mistake with the key and its fix (exit 2).",
    )
    parser.add_argument("config", type=Path, help="configuration file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse check-config``."""
    config = load_config(args.config)
    ami, db, mqtt = config.ami, config.database, config.mqtt
    print(f"{args.config}: OK")
    secret = "set" if ami.secret.value else "NOT SET (queuepulse run needs it)"
    print(f"  AMI: {ami.username}@{ami.host}:{ami.port}, secret {secret}")
    print(f"  database: {db.path}")
    print(f"  MQTT: {f'{mqtt.host}:{mqtt.port}' if mqtt.enabled else 'off'}")
    return 0
