"""``queuepulse top``: the live wallboard in a terminal, beside a running service.

The figures come from MQTT's retained topics (``--mqtt``, or ``--config`` with MQTT
enabled): the same KPIs, live queue state and agent states the service publishes
(:mod:`kpi.mqtt.subscriber`). A database file (``--db``, or ``--config`` without MQTT)
holds finished calls but no live state, so from a file the board shows the KPIs alone
(:mod:`kpi.present.screens`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from collector.errors import UserError
from kpi.mqtt.settings import broker_address
from kpi.mqtt.subscriber import RetainedBoard
from kpi.present.screens import DatabaseBoard, print_screen, show_board
from kpi.windows import LIVE_WINDOWS
from queuepulse.config import load_config
from queuepulse.kpi_settings import kpi_settings_to_read


def register(subparsers: Any) -> None:
    """Add the ``top`` command."""
    parser = subparsers.add_parser(
        "top",
        help="the live wallboard in the terminal",
        description="Show each queue's KPIs (offered, answered, abandoned, service level, "
        "ASA, AHT, abandon rate), the callers waiting and the longest wait, and every "
        "agent's state with its timer, refreshed every second. The figures come from the "
        "MQTT broker the service publishes to (--mqtt, or --config with [mqtt] enabled); "
        "from a database file (--db) only the KPIs of finished calls can be shown. From a "
        "file of an earlier day the board is the one that day ended with.",
    )
    parser.add_argument("--config", type=Path,
                        help="the service's configuration file (broker, pbx.id, thresholds)")
    parser.add_argument("--mqtt", metavar="HOST:PORT",
                        help="read the retained topics of this MQTT broker")
    parser.add_argument("--db", metavar="FILE", help="read finished calls from this database")
    parser.add_argument("--window", choices=LIVE_WINDOWS, default="today",
                        help="the KPI window to show (default: today)")
    parser.add_argument("--once", action="store_true",
                        help="print the board once and exit (for scripts)")
    parser.set_defaults(handler=run)


async def _follow_mqtt(board: RetainedBoard, console: Console, timezone: ZoneInfo,
                       window: str, once: bool) -> None:
    async with asyncio.TaskGroup() as tasks:
        following = tasks.create_task(board.run(), name="mqtt")
        if once:
            with contextlib.suppress(TimeoutError):
                await board.settled()
            following.cancel()
            screen = board.screen()
            if screen is None:
                raise UserError(board.missing())
            print_screen(screen, console, timezone, window)
            return
        await board.connected.wait()
        await show_board(board.screen, console, timezone=timezone, window=window,
                         waiting=board.missing())


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse top``."""
    config = load_config(args.config)
    timezone = ZoneInfo(config.pbx.timezone)
    console = Console()
    use_mqtt = args.mqtt is not None or (args.db is None and config.mqtt.enabled)
    if args.mqtt is not None and args.db is not None:
        raise UserError("give --mqtt or --db, not both: the wallboard reads one source.")
    if use_mqtt:
        host, port = (broker_address(args.mqtt) if args.mqtt is not None
                      else (config.mqtt.host, config.mqtt.port))
        board = RetainedBoard(config.mqtt, host, port, config.pbx.id if args.config else None)
        try:
            asyncio.run(_follow_mqtt(board, console, timezone, args.window, args.once))
        except* UserError as group:
            raise group.exceptions[0] from None
        except* KeyboardInterrupt:
            pass  # Ctrl-C is how a wallboard is closed
        return 0
    database = DatabaseBoard(args.db or config.database.path, partial(
        kpi_settings_to_read, config=config if args.config is not None else None))
    if args.once:
        print_screen(database.screen(), console, database.timezone, args.window)
        return 0
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a wallboard is closed
        asyncio.run(show_board(database.screen, console, timezone=database.timezone,
                               window=args.window))
    return 0
