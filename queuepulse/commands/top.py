"""``queuepulse top``: the live wallboard in a terminal, beside a running service.

The figures come from MQTT's retained topics (``--mqtt``, or ``--config`` with MQTT
enabled): the same KPIs, live queue state and agent states the service publishes, read
back into the board's own objects (:mod:`kpi.mqtt.retained`). A database file (``--db``, or
``--config`` without MQTT) holds finished calls but no live state, so from a file the
board shows the KPIs alone. :func:`show_board` draws any source every second; ``queuepulse
demo`` uses it for the board it runs in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text
from sqlite_utils import Database

from collector.errors import UserError
from collector.live import LiveView
from collector.store.opening import in_use, open_for_reading, unusable
from collector.store.reads import read_facts
from kpi.board import BoardSnapshot, KpiBoard
from kpi.mqtt.retained import board_from_retained, updated_at
from kpi.mqtt.topics import Topics, unescape
from kpi.present.wallboard import kpi_line, render
from kpi.windows import LIVE_WINDOWS, earliest_live_start, local_date, local_midnight
from queuepulse.config import Config, load_config
from queuepulse.kpi_settings import kpi_settings_to_read

REFRESH_S = 1.0
LINE_EVERY_S = 5.0
"""Off a terminal, one line of KPIs this often."""
_SETTLE_S = 1.0
"""With --once, retained messages are taken as complete after this long without one."""
_ONCE_TIMEOUT_S = 5.0
_NOTHING_YET_S = 0.2


@dataclass(frozen=True, slots=True)
class Screen:
    """What to draw: a board snapshot, where it comes from, and whether live state is known."""

    snapshot: BoardSnapshot
    source: str
    live_state: bool = True


ScreenSource = Callable[[], Screen | None]
"""Returns the current screen, or ``None`` while there is nothing to show yet."""


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


def broker_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``, port 1883) as a host and a port."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = port, "1883"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"cannot read MQTT broker address {text!r}. Write it as HOST:PORT, "
                        "e.g. 127.0.0.1:1883.")
    return host, int(port)


async def show_board(source: ScreenSource, console: Console, *, timezone: ZoneInfo,
                     window: str = "today", waiting: str = "waiting for the first figures",
                     line_every_s: float = LINE_EVERY_S,
                     started: Callable[[], None] | None = None) -> None:
    """Draw ``source`` every second on a terminal, else print a KPI line every few seconds.

    ``started`` is called once the board is up (and ``sys.stderr`` prints above it). Runs
    until cancelled.
    """
    if not console.is_terminal:
        if started is not None:
            started()
        while True:
            screen = source()
            if screen is None:
                await asyncio.sleep(_NOTHING_YET_S)
                continue
            console.print(kpi_line(screen.snapshot, timezone=timezone, window=window),
                          markup=False, highlight=False, soft_wrap=True)
            console.file.flush()
            await asyncio.sleep(line_every_s)

    def draw() -> RenderableType:
        screen = source()
        if screen is None:
            return Text(waiting, style="dim")
        return render(screen.snapshot, timezone=timezone, window=window, source=screen.source,
                      live_state=screen.live_state)

    with Live(draw(), console=console, auto_refresh=False, transient=False) as live:
        if started is not None:
            started()
        while True:
            await asyncio.sleep(REFRESH_S)
            live.update(draw(), refresh=True)


# -- from a database file ----------------------------------------------------------------


def _newest(db: Database) -> float | None:
    """The latest moment the file knows of: a call's end, an agent state's end, an event."""
    queries = ["SELECT max(max(entered_at), coalesce(max(ended_at), 0)) FROM calls",
               "SELECT max(ended_at) FROM agent_states"]
    if "events" in db.table_names():
        queries.append("SELECT max(coalesce(timestamp, received_at)) FROM events")
    found = [row[0] for q in queries for row in db.execute(q).fetchall() if row[0] is not None]
    return max(found, default=None)


def board_time(newest: float | None, now: float, timezone: ZoneInfo) -> float:
    """The moment a database board shows: now, unless the file lies elsewhere in time.

    A file whose newest row is ahead of the clock (a demo running faster than life)
    shows its newest moment; a file of an earlier day shows the moment that day ended.
    """
    if newest is None:
        return now
    today = local_midnight(local_date(now, timezone), timezone)
    return newest if newest > now or newest < today else now


class DatabaseBoard:
    """Today's KPIs from a database file, re-read whenever another process commits to it.

    The file is only read: opened read-only, with the settings ``queuepulse run`` stored
    in it unless a configuration is given.
    """

    def __init__(self, path: str, config: Config | None) -> None:
        self.path = path
        self._shared = in_use(path)
        self._db = open_for_reading(path)
        try:
            settings, timezone = kpi_settings_to_read(self._db, config)
        except sqlite3.Error as error:
            self._db.close()
            raise unusable(path, error) from error
        self._settings, self._timezone = settings, timezone
        self._version: int | None = None
        self._board = self._fresh_board()

    @property
    def timezone(self) -> ZoneInfo:
        """The time zone of the board's days."""
        return self._board.timezone

    def _fresh_board(self) -> KpiBoard:
        return KpiBoard(self._settings, self._timezone)

    def screen(self, now: float | None = None) -> Screen:
        """The board as of now (see :func:`board_time`), re-reading the file if it changed."""
        if not self._shared and in_use(self.path):
            # a file nobody had open was read as immutable, which never sees a commit:
            # a writer has started since, so read alongside it from now on
            self._db.close()
            self._shared = in_use(self.path)
            self._db = open_for_reading(self.path)
            self._version = None
        try:
            return self._screen(now)
        except sqlite3.Error as error:
            raise unusable(self.path, error) from error

    def _screen(self, now: float | None) -> Screen:
        tz = self._board.timezone
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        at = board_time(_newest(self._db), time.time() if now is None else now, tz)
        if version != self._version:
            self._board = self._fresh_board()
            self._board.add(read_facts(self._db, earliest_live_start(at, tz), at))
            self._version = version
        snapshot = self._board.snapshot(LiveView(at, (), (), ()))
        return Screen(snapshot, Path(self.path).name, live_state=False)


# -- from MQTT ----------------------------------------------------------------------------


class RetainedBoard:
    """The latest payload of every topic under ``<prefix>/``, kept by :meth:`run`."""

    def __init__(self, config: Config, host: str, port: int, pbx: str | None) -> None:
        self.host, self.port = host, port
        self.retained: dict[str, bytes] = {}
        self.connected = asyncio.Event()
        self.last_message = 0.0
        self._config = config
        self._prefix = config.mqtt.prefix
        self._pbx = pbx
        self._stamp: tuple[float, float] | None = None

    @property
    def address(self) -> str:
        """The broker, as ``host:port``."""
        return f"{self.host}:{self.port}"

    def _client(self) -> aiomqtt.Client:
        mqtt = self._config.mqtt
        return aiomqtt.Client(self.host, self.port, username=mqtt.username or None,
                              password=mqtt.password.value or None, timeout=5,
                              tls_context=ssl.create_default_context() if mqtt.tls else None)

    async def run(self) -> None:
        """Follow the broker until cancelled; raises :class:`UserError` if it is never reached."""
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(f"{self._prefix}/#", qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        self._take(message.topic.value, message.payload)
            except aiomqtt.MqttError as error:
                if not self.connected.is_set():
                    raise UserError(
                        f"cannot reach the MQTT broker at {self.address} ({error}). Start "
                        "it, or give the broker queuepulse publishes to (--mqtt HOST:PORT "
                        "or mqtt.host in --config)."
                    ) from error
            await asyncio.sleep(1.0)

    def _take(self, topic: str, payload: Any) -> None:
        self.last_message = time.monotonic()
        if not isinstance(payload, bytes) or not payload:
            self.retained.pop(topic, None)
            return
        self.retained[topic] = payload
        stamp = updated_at(payload)
        if stamp is not None and (self._stamp is None or stamp >= self._stamp[0]):
            self._stamp = (stamp, time.monotonic())

    def pbx_ids(self) -> list[str]:
        """The PBX ids whose topics the broker holds."""
        start = self._prefix + "/"
        return sorted({unescape(t[len(start):].split("/", 1)[0]) for t in self.retained
                       if t.startswith(start)})

    def topics(self) -> Topics | None:
        """The topics of the PBX shown: the configured one, else the first the broker has."""
        if self._pbx is not None:
            return Topics(self._prefix, self._pbx)
        ids = self.pbx_ids()
        return Topics(self._prefix, ids[0]) if ids else None

    def now(self) -> float:
        """PBX time now: the newest figures' time, plus the time since they arrived."""
        if self._stamp is None:
            return time.time()
        stamp, mark = self._stamp
        return stamp + (time.monotonic() - mark)

    def screen(self) -> Screen | None:
        """The board the retained topics describe, or ``None`` while there are none."""
        topics = self.topics()
        if topics is None:
            return None
        snapshot = board_from_retained(topics, self.retained, self.now())
        if not snapshot.kpis and not snapshot.queues:
            return None
        status = self.retained.get(topics.status, b"").decode(errors="replace")
        note = " (queuepulse offline)" if status == "offline" else ""
        return Screen(snapshot, f"mqtt {self.address} {topics.base}{note}")

    def missing(self) -> str:
        """Why there is nothing to show, with what to check."""
        where = f"{self._prefix}/{self._pbx or '<pbx.id>'}/"
        return (f"no queuepulse figures under {where} on the MQTT broker at {self.address}. "
                "Is queuepulse running with [mqtt] enabled = true, publishing to this broker "
                "(and with this pbx.id and mqtt.prefix)?")

    async def settled(self) -> None:
        """Wait until the retained messages have arrived (a short quiet spell after them)."""
        await asyncio.wait_for(self.connected.wait(), _ONCE_TIMEOUT_S)
        deadline = time.monotonic() + _ONCE_TIMEOUT_S
        start = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            quiet_since = max(self.last_message, start)
            if time.monotonic() - quiet_since >= _SETTLE_S and self.screen() is not None:
                return


# -- the command ---------------------------------------------------------------------------


def _print_once(screen: Screen, console: Console, timezone: ZoneInfo, window: str) -> None:
    console.print(render(screen.snapshot, timezone=timezone, window=window,
                         source=screen.source, live_state=screen.live_state))


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
            _print_once(screen, console, timezone, window)
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
        board = RetainedBoard(config, host, port, config.pbx.id if args.config else None)
        try:
            asyncio.run(_follow_mqtt(board, console, timezone, args.window, args.once))
        except* UserError as group:
            raise group.exceptions[0] from None
        except* KeyboardInterrupt:
            pass  # Ctrl-C is how a wallboard is closed
        return 0
    database = DatabaseBoard(args.db or config.database.path,
                             config if args.config is not None else None)
    if args.once:
        _print_once(database.screen(), console, database.timezone, args.window)
        return 0
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a wallboard is closed
        asyncio.run(show_board(database.screen, console, timezone=database.timezone,
                               window=args.window))
    return 0
