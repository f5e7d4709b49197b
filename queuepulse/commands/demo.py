"""``queuepulse demo``: queuepulse at work on a simulated call center, with no PBX at all.

A simulated call center (:mod:`queuepulse.pbxsim.demo`) speaks real AMI on a loopback port, faster
than life; the very daemon ``queuepulse run`` starts follows it with a generated
configuration, stores the calls in a SQLite file, publishes over MQTT when a broker
answers, and the wallboard of ``queuepulse top`` shows its live board.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
import zoneinfo
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from collector.errors import UserError
from collector.facts import CallRecord, Fact, Outcome
from queuepulse.commands.run import serve
from queuepulse.commands.top import Screen, broker_address, show_board
from queuepulse.config import Config, parse_config
from queuepulse.daemon import Daemon
from queuepulse.logs import configure_logging
from queuepulse.pbxsim.demo import DEMO_SECRET, DemoPbx
from queuepulse.sd_notify import Notifier

DEFAULT_DB = "queuepulse-demo.sqlite"
DEFAULT_SPEED = 10.0
DEFAULT_BROKER = "127.0.0.1:1883"


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="watch queuepulse follow a simulated call center (no PBX needed)",
        description="Start a simulated call center (three queues, ten agents, callers who "
        "wait, abandon, time out, are put on hold and transferred; agents who pause, do "
        "after-call work and log in and out) that speaks the Asterisk Manager Interface "
        "on 127.0.0.1, run the queuepulse daemon against it, and show the live wallboard. "
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
    parser.add_argument("--homeassistant", action="store_true",
                        help="also announce the demo's sensors to Home Assistant (MQTT "
                        "discovery); they stay there until the device is deleted")
    parser.add_argument("--no-top", action="store_true",
                        help="print a line of KPIs every few seconds instead of the wallboard")
    parser.add_argument("--seed", type=int, default=0,
                        help="the simulation's seed: the same seed gives the same calls")
    parser.set_defaults(handler=run)


def local_timezone() -> str:
    """This machine's IANA time zone name (``TZ``, ``/etc/localtime``), else ``UTC``."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            if name:
                zoneinfo.ZoneInfo(name)
                return name
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


def broker_answers(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def demo_config(pbx: DemoPbx, db: Path, broker: tuple[str, int] | None,
                homeassistant: bool, timezone: str) -> str:
    """The configuration the daemon follows the demo PBX with, as a TOML file's text."""
    queues = "".join(
        f"\n[queues.{q.name}]\nwrapuptime_s = {q.wrapuptime_s:g}\n"
        f"service_level_s = {q.service_level_s}\n"
        for q in pbx.center.config.queues
    )
    agents = "".join(f'"{a.interface}" = "{a.name}"\n' for a in pbx.center.config.agents)
    mqtt = (
        f'enabled = true\nhost = "{broker[0]}"\nport = {broker[1]}\n'
        f"homeassistant = {'true' if homeassistant else 'false'}\n"
        if broker is not None else "enabled = false\n"
    )
    return (
        "# Written by 'queuepulse demo' for its simulated PBX; the reference is\n"
        "# config/queuepulse.toml.\n"
        f'[pbx]\nid = "demo"\ntimezone = "{timezone}"\n\n'
        f'[ami]\nhost = "127.0.0.1"\nport = {pbx.port}\nusername = "queuepulse"\n'
        f'secret = "{DEMO_SECRET}"\nreconnect_max_s = 1.0\n'
        f"{queues}\n[agents]\n{agents}\n"
        f'[database]\npath = "{db}"\n\n'
        f"[mqtt]\n{mqtt}\n"
        '[log]\nlevel = "warning"\nformat = "console"\n'
    )


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


class _Demo:
    """One demo run: the simulated PBX, the daemon, and what the terminal shows."""

    def __init__(self, args: argparse.Namespace, console: Console,
                 broker: tuple[str, int] | None) -> None:
        self.args = args
        self.console = console
        self.broker = broker
        self.db = Path(args.db)
        self.config_path = self.db.with_suffix(".toml")
        self.daemon: Daemon | None = None
        self.started = time.monotonic()
        self.outcomes: Counter[Outcome] = Counter()

    def _count(self, facts: Sequence[Fact]) -> None:
        self.outcomes.update(f.outcome for f in facts if isinstance(f, CallRecord))

    async def run(self) -> None:
        speed = self.args.speed
        async with DemoPbx(speed=speed, seed=self.args.seed) as pbx:
            text = demo_config(pbx, self.db, self.broker, self.args.homeassistant,
                               local_timezone())
            try:
                self.config_path.write_text(text, encoding="utf-8")
            except OSError as error:
                raise UserError(f"cannot write {self.config_path} ({error.strerror}). Give "
                                "--db a path in a writable directory.") from error
            config = parse_config(text, str(self.config_path))
            self.console.print(
                f"demo PBX: AMI on 127.0.0.1:{pbx.port} at {speed:g}x real time; calls go "
                f"to {self.db}; configuration in {self.config_path}", highlight=False,
                soft_wrap=True)
            if self.broker is not None:
                self.console.print(
                    f"KPIs go to the MQTT broker at {self.broker[0]}:{self.broker[1]} under "
                    f"{config.mqtt.prefix}/{config.pbx.id}/ (another terminal: {_program()} "
                    f"top --config {self.config_path})", highlight=False, soft_wrap=True)
            # the PBX's clock runs `speed` times faster: the daemon's sense of elapsed time
            # must too, or after-call work and settling would end `speed` times too late
            daemon = Daemon(config, monotonic=lambda: time.monotonic() * speed,
                            notifier=Notifier(None), board=True)
            daemon.sinks.append(self._count)
            self.daemon = daemon
            async with asyncio.TaskGroup() as tasks:
                shown = tasks.create_task(self._show(daemon, config), name="wallboard")
                limit = tasks.create_task(self._stop_later(daemon), name="limit")
                await serve(daemon)
                shown.cancel()
                limit.cancel()

    def _screen(self) -> Screen | None:
        daemon = self.daemon
        if daemon is None or daemon.board is None or not daemon.ready:
            return None
        source = (f"the demo PBX at {self.args.speed:g}x, running "
                  f"{_elapsed(time.monotonic() - self.started)}")
        return Screen(daemon.board.snapshot(daemon.live()), source)

    async def _show(self, daemon: Daemon, config: Config) -> None:
        def log_above_the_board() -> None:
            configure_logging(config.log.level, config.log.format, stream=sys.stderr)

        await show_board(self._screen, self.console,
                         timezone=zoneinfo.ZoneInfo(config.pbx.timezone),
                         waiting="connecting to the demo PBX ...", started=log_above_the_board)

    async def _stop_later(self, daemon: Daemon) -> None:
        if self.args.minutes is not None:
            await asyncio.sleep(self.args.minutes * 60.0)
            daemon.stop()


def _first(group: BaseExceptionGroup[UserError]) -> UserError:
    """The first error of a (nested) group: the one to tell the user."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, UserError)
    return error


def _program() -> str:
    """How the user started queuepulse, so that suggested commands run as typed."""
    invoked = sys.argv[0]
    return invoked if "/" in invoked and Path(invoked).name == "queuepulse" else "queuepulse"


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
    configure_logging("warning", "console", stream=sys.stderr)
    demo = _Demo(args, console, broker)
    try:
        asyncio.run(demo.run())
    except* UserError as group:
        raise _first(group) from None
    calls, open_calls = sum(demo.outcomes.values()), demo.outcomes[Outcome.UNKNOWN]
    under_way = f" ({open_calls} still under way, stored as unknown)" if open_calls else ""
    prog = _program()
    console.print(
        f"\nstopped after {_elapsed(time.monotonic() - demo.started)}: {calls} calls stored "
        f"in {demo.db}{under_way}. Try:\n"
        f"  {prog} report --db {demo.db} --config {demo.config_path}\n"
        f"  {prog} top --db {demo.db} --config {demo.config_path} --once\n"
        f"  sqlite3 {demo.db} 'SELECT queue, outcome, count(*) FROM calls GROUP BY 1, 2'",
        highlight=False, markup=False, soft_wrap=True)
    return 0
