"""One run of the demo: the simulated PBX, the daemon and the wallboard in one process.

A simulated call center (:mod:`queuepulse.pbxsim.demo_pbx`) speaks real AMI on a loopback
port, faster than life; the very daemon ``queuepulse run`` starts follows it with a
generated configuration, stores the calls in a SQLite file, publishes over MQTT when a
broker answers, and the wallboard of ``queuepulse top`` shows its live board.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import zoneinfo
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from collector.errors import UserError
from collector.facts import CallRecord, Fact, Outcome
from kpi.present.screens import Screen, show_board
from queuepulse.config import Config, parse_config
from queuepulse.daemon import Daemon
from queuepulse.logs import configure_logging
from queuepulse.pbxsim.demo_pbx import DEMO_SECRET, DEMO_USERNAME, DemoPbx
from queuepulse.sd_notify import Notifier
from queuepulse.service import serve


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


_PROBE_S = 0.5
"""How long the demo waits for its broker to accept a connection: a broker on this host
or the LAN takes milliseconds, and the demo must not seem to hang before it starts."""


def broker_answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_S):
            return True
    except OSError:
        return False


def free_to_listen(host: str, port: int) -> bool:
    """Whether a server may listen on ``host:port`` (nothing else does)."""
    try:
        with socket.create_server((host, port)):
            return True
    except OSError:
        return False


def demo_config(pbx: DemoPbx, db: Path, broker: tuple[str, int] | None,
                homeassistant: bool, timezone: str, *,
                web: tuple[str, int] | None = None) -> str:
    """The configuration the daemon follows the demo PBX with, as a TOML file's text;
    ``web``: where to serve the browser wallboard, if anywhere."""
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
        f'[ami]\nhost = "127.0.0.1"\nport = {pbx.port}\nusername = "{DEMO_USERNAME}"\n'
        f'secret = "{DEMO_SECRET}"\nreconnect_max_s = 1.0\n'
        f"{queues}\n[agents]\n{agents}\n"
        f'[database]\npath = "{db}"\n\n'
        f"[mqtt]\n{mqtt}\n"
        + (f'[web]\nenabled = true\nhost = "{web[0]}"\nport = {web[1]}\n\n' if web else "")
        +
        '[log]\nlevel = "warning"\nformat = "console"\n'
    )


def elapsed(seconds: float) -> str:
    """A span of real time as ``m:ss``."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


class DemoRun:
    """One demo run: the simulated PBX, the daemon, and what the terminal shows.

    ``speed``: simulated seconds per real second; ``minutes``: stop after that long (or
    run until stopped); ``broker``: where to publish, if anywhere; ``homeassistant``:
    announce the sensors too; ``web``: where to serve the browser wallboard (on a free
    port instead when that one is taken), if anywhere; ``seed``: the simulation's.
    """

    def __init__(self, db: Path, console: Console, broker: tuple[str, int] | None, *,
                 speed: float, seed: int, minutes: float | None,
                 homeassistant: bool, web: tuple[str, int] | None = None) -> None:
        self.console = console
        self.broker = broker
        self.speed, self.seed, self.minutes = speed, seed, minutes
        self.homeassistant = homeassistant
        self.web = web
        self.db = db
        self.config_path = self.db.with_suffix(".toml")
        self.daemon: Daemon | None = None
        self.started = time.monotonic()
        self.outcomes: Counter[Outcome] = Counter()

    def _count(self, facts: Sequence[Fact]) -> None:
        self.outcomes.update(f.outcome for f in facts if isinstance(f, CallRecord))

    async def run(self) -> None:
        """Start the PBX and the daemon, and show the board until stopped."""
        speed = self.speed
        async with DemoPbx(speed=speed, seed=self.seed) as pbx:
            web = self.web
            if web is not None and not free_to_listen(*web):
                web = (web[0], 0)
            text = demo_config(pbx, self.db, self.broker, self.homeassistant,
                               local_timezone(), web=web)
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
                    f"{config.mqtt.prefix}/{config.pbx.id}/ (another terminal: {program()} "
                    f"top --config {self.config_path})", highlight=False, soft_wrap=True)
            # the PBX's clock runs `speed` times faster: the daemon's sense of elapsed time
            # must too, or after-call work and settling would end `speed` times too late,
            # and frames arrive on its clock, or their stamps would seem to run ahead
            daemon = Daemon(config, clock=lambda: pbx.now,
                            monotonic=lambda: time.monotonic() * speed,
                            notifier=Notifier(None), board=True)
            daemon.sinks.append(self._count)
            self.daemon = daemon
            async with asyncio.TaskGroup() as tasks:
                shown = tasks.create_task(self._show(daemon, config), name="wallboard")
                limit = tasks.create_task(self._stop_later(daemon), name="limit")
                told = tasks.create_task(self._tell_web_address(daemon), name="web_address")
                await serve(daemon)
                for task in (shown, limit, told):
                    task.cancel()

    def _screen(self) -> Screen | None:
        daemon = self.daemon
        if daemon is None or daemon.board is None or not daemon.ready:
            return None
        source = (f"the demo PBX at {self.speed:g}x, running "
                  f"{elapsed(time.monotonic() - self.started)}")
        return Screen(daemon.board.snapshot(daemon.live()), source, link=daemon.link)

    async def _show(self, daemon: Daemon, config: Config) -> None:
        def log_above_the_board() -> None:
            configure_logging(config.log, stream=sys.stderr)

        await show_board(self._screen, self.console,
                         timezone=zoneinfo.ZoneInfo(config.pbx.timezone),
                         waiting="connecting to the demo PBX ...", started=log_above_the_board)

    async def _tell_web_address(self, daemon: Daemon) -> None:
        """Say where the browser wallboard is, once it listens."""
        if not daemon.config.web.enabled:
            return
        while daemon.web is None:
            await asyncio.sleep(0.05)
        self.console.print(f"the wallboard in a browser: {daemon.web.url}", highlight=False,
                           soft_wrap=True)

    async def _stop_later(self, daemon: Daemon) -> None:
        if self.minutes is not None:
            await asyncio.sleep(self.minutes * 60.0)
            daemon.stop()


def program() -> str:
    """How the user started queuepulse, so that suggested commands run as typed."""
    invoked = sys.argv[0]
    return invoked if "/" in invoked and Path(invoked).name == "queuepulse" else "queuepulse"
