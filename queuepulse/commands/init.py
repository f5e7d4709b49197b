"""``queuepulse init``: write the example configuration and the systemd unit to start from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from queuepulse.starter import write_examples


def register(subparsers: Any) -> None:
    """Add the ``init`` command."""
    parser = subparsers.add_parser(
        "init",
        help="write the example configuration and the systemd unit into a folder",
        description="Write queuepulse.toml (the example configuration, every key with its "
        "default and what it does) and queuepulse.service (the systemd unit) into DIR, "
        "to copy into /etc/queuepulse and /etc/systemd/system. An existing file is left "
        "as it is (and nothing written) unless --force is given.",
    )
    parser.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="DIR",
                        help="where to write them (default: the current folder)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files of those names")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse init``."""
    for path in write_examples(args.folder, force=args.force):
        print(f"wrote {path}")
    return 0
