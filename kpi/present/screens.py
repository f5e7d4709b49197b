"""What the wallboard shows, where it comes from, and drawing it every second.

A :class:`Screen` is a board snapshot with its source. :func:`show_board` draws any
source of screens every second (the live board of ``queuepulse demo``, the retained
topics of a broker, a database file); :class:`DatabaseBoard` is the source that reads a
database file, which holds finished calls but no live state.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text
from sqlite_utils import Database

from collector.ami.link import AmiLink
from collector.live import LiveView
from collector.store.opening import in_use, open_for_reading, unusable
from collector.store.reads import data_version, newest_moment, read_facts
from kpi.board import BoardSnapshot, KpiBoard
from kpi.present.wallboard import kpi_line, render
from kpi.settings import KpiSettings
from kpi.windows import earliest_live_start, local_date, local_midnight

REFRESH_S = 1.0
LINE_EVERY_S = 5.0
"""Off a terminal, one line of KPIs this often."""
_NOTHING_YET_S = 0.2


@dataclass(frozen=True, slots=True)
class Screen:
    """What to draw: a board snapshot, where it comes from, whether live state is known,
    and the AMI connection's state when the source knows it."""

    snapshot: BoardSnapshot
    source: str
    live_state: bool = True
    link: AmiLink | None = None


ScreenSource = Callable[[], Screen | None]
"""Returns the current screen, or ``None`` while there is nothing to show yet."""


SettingsOf = Callable[[Database], tuple[KpiSettings, str]]
"""The KPI settings and time zone to compute a database's figures with."""


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
            console.print(kpi_line(screen.snapshot, timezone=timezone, window=window,
                                   link=screen.link),
                          markup=False, highlight=False, soft_wrap=True)
            console.file.flush()
            await asyncio.sleep(line_every_s)

    def draw() -> RenderableType:
        screen = source()
        if screen is None:
            return Text(waiting, style="dim")
        return render(screen.snapshot, timezone=timezone, window=window, source=screen.source,
                      live_state=screen.live_state, link=screen.link)

    with Live(draw(), console=console, auto_refresh=False, transient=False) as live:
        if started is not None:
            started()
        while True:
            await asyncio.sleep(REFRESH_S)
            live.update(draw(), refresh=True)


def print_screen(screen: Screen, console: Console, timezone: ZoneInfo, window: str) -> None:
    """Print the screen once (``top --once``)."""
    console.print(render(screen.snapshot, timezone=timezone, window=window,
                         source=screen.source, live_state=screen.live_state, link=screen.link))


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

    The file is only read: opened read-only; ``settings`` finds the KPI settings and time
    zone to compute with (those ``queuepulse run`` stored in it, or a configuration's).
    """

    def __init__(self, path: str, settings: SettingsOf) -> None:
        self.path = path
        self._shared = in_use(path)
        self._db = open_for_reading(path)
        try:
            settings_found, timezone = settings(self._db)
        except sqlite3.Error as error:
            self._db.close()
            raise unusable(path, error) from error
        self._settings, self._timezone = settings_found, timezone
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
        version = data_version(self._db)
        at = board_time(newest_moment(self._db), time.time() if now is None else now, tz)
        if version != self._version:
            self._board = self._fresh_board()
            self._board.add(read_facts(self._db, earliest_live_start(at, tz), at))
            self._version = version
        snapshot = self._board.snapshot(LiveView(at, (), (), ()))
        return Screen(snapshot, Path(self.path).name, live_state=False)
