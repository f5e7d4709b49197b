"""``queuepulse demo``: queuepulse at work on a simulated call center, with no PBX at all
(:mod:`queuepulse.demo_run`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from collector.errors import UserError
from collector.facts import Outcome
from kpi.mqtt.settings import MqttConfig, broker_address
from kpi.web.settings import WebConfig
from queuepulse.demo_run import DemoRun, broker_answers, elapsed, program
from queuepulse.logs import LogConfig, configure_logging

DEFAULT_DB = "queuepulse-demo.sqlite"
DEFAULT_SPEED = 10.0
DEFAULT_BROKER = f"{MqttConfig().host}:{MqttConfig().port}"
"""The broker ``[mqtt]`` points at by default: a local one."""
DEFAULT_WEB = f"{WebConfig().host}:{WebConfig().port}"


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="watch queuepulse follow a simulated call center (no PBX needed)",
        description="Start a simulated call center (three queues, ten agents, callers who "
        "wait, abandon, time out, are put on hold and transferred; agents who pause, do "
        "after-call work and log in and out) that speaks the Asterisk Manager Interface "
        "on 127.0.0.1, run the queuepulse daemon against it, and show the live wallboard (in "
        "the terminal, and in a browser at the address it prints). "
        "Calls are stored in a SQLite file; KPIs are published over MQTT when a broker "
        "answers. Ctrl-C stops it.",
    )
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                        help=f"simulated seconds per real second (default {DEFAULT_SPEED:g})")
    parser.add_argument("--minutes", type=float,
                        help="stop after this many real minutes (default: run until Ctrl-C)")
    parser.add_argument("--db", default=DEFAULT_DB,
                        help=f"SQLite file to store the calls in (default {DEFAULT_DB}); the "
                        "generated configuration is written next to it (.toml)")
    parser.add_argument("--mqtt", metavar="HOST:PORT", default=DEFAULT_BROKER,
                        help=f"MQTT broker to publish to, if it answers (default {DEFAULT_BROKER})")
    parser.add_argument("--web", metavar="HOST:PORT", default=DEFAULT_WEB,
                        help=f"serve the browser wallboard there (default {DEFAULT_WEB}; "
                        "another free port when that one is taken)")
    parser.add_argument("--no-web", action="store_true",
                        help="do not serve the browser wallboard")
    parser.add_argument("--homeassistant", action="store_true",
                        help="also announce the demo's sensors to Home Assistant (MQTT "
                        "discovery); they stay there until the device is deleted")
    parser.add_argument("--no-top", action="store_true",
                        help="print a line of KPIs every few seconds instead of the wallboard")
    parser.add_argument("--seed", type=int, default=0,
                        help="the simulation's seed: the same seed gives the same calls")
    parser.set_defaults(handler=run)


def _first(group: BaseExceptionGroup[UserError]) -> UserError:
    """The first error of a (nested) group: the one to tell the user."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, UserError)
    return error


def web_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` of the browser wallboard as a host and a port."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UserError(f"--web {text!r}: write it as HOST:PORT, e.g. 127.0.0.1:8080.")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse demo``."""
    if args.speed <= 0:
        raise UserError(f"--speed {args.speed:g}: give a positive factor, e.g. 10.")
    console = Console(force_terminal=None if not args.no_top else False)
    host, port = broker_address(args.mqtt)
    broker: tuple[str, int] | None = (host, port)
    if not broker_answers(host, port):
        console.print(f"no MQTT broker at {host}:{port}; continuing without MQTT (install "
                      "mosquitto to see the topics)", highlight=False, soft_wrap=True)
        broker = None
    configure_logging(LogConfig(level="warning", format="console"), stream=sys.stderr)
    web = None if args.no_web else web_address(args.web)
    demo = DemoRun(Path(args.db), console, broker, speed=args.speed, seed=args.seed,
                   minutes=args.minutes, homeassistant=args.homeassistant, web=web)
    try:
        asyncio.run(demo.run())
    except* UserError as group:
        raise _first(group) from None
    calls, open_calls = sum(demo.outcomes.values()), demo.outcomes[Outcome.UNKNOWN]
    under_way = f" ({open_calls} still under way, stored as unknown)" if open_calls else ""
    prog = program()
    console.print(
        f"\nstopped after {elapsed(time.monotonic() - demo.started)}: {calls} calls stored "
        f"in {demo.db}{under_way}. Try:\n"
        f"  {prog} report --db {demo.db} --config {demo.config_path}\n"
        f"  {prog} top --db {demo.db} --config {demo.config_path} --once\n"
        f"  sqlite3 {demo.db} 'SELECT queue, outcome, count(*) FROM calls GROUP BY 1, 2'",
        highlight=False, markup=False, soft_wrap=True)
    return 0
