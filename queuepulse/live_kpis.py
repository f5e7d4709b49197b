"""The live KPIs: the board fed with facts (and today's stored ones), and its publisher.

The daemon hands every batch of facts to :meth:`LiveKpis.add`. At start the board also
takes today's facts back from SQLite, so that ``today`` survives a restart; when the KPI
settings change (a reload), a board with the new settings is filled the same way beside
the running one and takes its place once complete, so no snapshot ever shows a board
half filled. With ``mqtt.enabled`` the :class:`~kpi.mqtt.publisher.MqttPublisher` keeps
the broker up to date with whichever board is current.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial

import structlog

from collector.ami.link import AmiLink
from collector.facts import Fact
from collector.live import LiveView
from collector.store.reads import read_facts
from collector.store.writer import Writer
from kpi.board import KpiBoard
from kpi.definitions import KpiSettings
from kpi.mqtt.publisher import MqttPublisher
from kpi.windows import earliest_live_start
from queuepulse.config import Config
from queuepulse.kpi_settings import settings_from_config, store_kpi_settings

log = structlog.get_logger("queuepulse.daemon")


class LiveKpis:
    """The KPI board of the live daemon, and its MQTT publisher when MQTT is enabled."""

    def __init__(self, config: Config, store: Callable[[], Writer],
                 live: Callable[[], LiveView], link: Callable[[], AmiLink],
                 clock: Callable[[], float]) -> None:
        self.board = KpiBoard(settings_from_config(config), config.pbx.timezone)
        self.publisher = (MqttPublisher(config.mqtt, config.pbx.id, self.board, live, link)
                          if config.mqtt.enabled else None)
        self._store = store
        self._clock = clock
        self._filling: KpiBoard | None = None

    def add(self, facts: Sequence[Fact]) -> None:
        """A fact sink: the facts go to the board (and to one being filled)."""
        self.board.add(facts)
        if self._filling is not None:
            self._filling.add(facts)

    async def run(self) -> None:
        """Fill the board with today's stored facts, then publish it until cancelled."""
        await self._fill(self.board)
        if self.publisher is not None:
            async with self.publisher:
                await self.publisher.run()

    async def use(self, settings: KpiSettings, timezone: str) -> bool:
        """Compute with ``settings`` in ``timezone`` from now on; whether they changed."""
        if settings == self.board.settings and timezone == self.board.timezone.key:
            return False
        board = KpiBoard(settings, timezone)
        self._filling = board
        try:
            # the facts handed to the store before the new board took any are read back
            await self._store().flush()
            await self._fill(board)
        finally:
            self._filling = None
        self.board = board
        if self.publisher is not None:
            self.publisher.board = board
        return True

    async def _fill(self, board: KpiBoard) -> None:
        """Add the stored facts the live windows reach to ``board``; those that come
        meanwhile reach it through :meth:`add` as well, and the board keeps one of each."""
        at = self._clock()
        board.add(await self._store().call(partial(
            read_facts, start=earliest_live_start(at, board.timezone), end=at)))


async def take_kpi_settings(store: Writer, kpis: LiveKpis | None, config: Config) -> bool:
    """Store the KPI settings of ``config`` for the SQL views, and have the live KPIs (if
    any) computed with them from now on; whether the live KPIs changed."""
    settings = settings_from_config(config)
    try:
        await store.call(partial(store_kpi_settings, settings=settings,
                                 timezone=config.pbx.timezone))
    except sqlite3.Error as error:  # the live figures change regardless; the views later
        log.error("store.kpi_settings_failed", error=str(error))
    return kpis is not None and await kpis.use(settings, config.pbx.timezone)
