"""``queuepulse check-config``: read a configuration file and say what is wrong with it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from collector.secret import Secret
from queuepulse.config import exposed_secrets, load_config


def register(subparsers: Any) -> None:
    """Add the ``check-config`` command."""
    parser = subparsers.add_parser(
        "check-config",
        help="check a configuration file",
        description="Read a configuration file the way 'queuepulse run' does. Prints OK and "
        "what it will connect to, or the first mistake with the key and its fix (exit 2). "
        "With --no-secrets, secrets given by a variable or a file are not read, so a file "
        "that names a systemd credential can be checked outside the service.",
    )
    parser.add_argument("config", type=Path, help="configuration file")
    parser.add_argument("--no-secrets", action="store_true", dest="no_secrets",
                        help="do not read secrets from their *_env variable or *_file (a "
                        "systemd credential exists only inside the service)")
    parser.set_defaults(handler=run)


def _secret_state(secret: Secret) -> str:
    if secret.unread:
        return f"from {secret.unread} (not read: --no-secrets)"
    return "set" if secret.value else "NOT SET (queuepulse run needs it)"


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse check-config``."""
    config = load_config(args.config, resolve_secrets=not args.no_secrets)
    ami, db, mqtt = config.ami, config.database, config.mqtt
    print(f"{args.config}: OK")
    print(f"  AMI: {ami.username}@{ami.host}:{ami.port}, secret {_secret_state(ami.secret)}")
    print(f"  database: {db.path}")
    print(f"  MQTT: {f'{mqtt.host}:{mqtt.port}' if mqtt.enabled else 'off'}")
    for exposure in exposed_secrets(config, args.config):
        print(f"  warning: {exposure}")
    return 0
