"""The live KPIs: the board fed with facts (and today's stored ones), and its outputs.

The daemon hands every batch of facts to :meth:`LiveKpis.add`. At start the board also
takes today's facts back from SQLite, so that ``today`` survives a restart; when the KPI
settings change (a reload), a board with the new settings is filled the same way beside
the running one and takes its place once complete, so no snapshot ever shows a board
half filled. With ``mqtt.enabled`` the :class:`~kpi.mqtt.publisher.MqttPublisher` keeps
the broker up to date with whichever board is current, and with ``web.enabled`` the
:class:`~kpi.web.server.WebServer` shows it to browsers (and to Prometheus).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial

import structlog

from collector.ami.link import AmiLink
from collector.facts import Fact
from collector.live import LiveView
from collector.store.reads import read_facts
from collector.store.writer import Writer
from kpi.board import BoardSnapshot, KpiBoard
from kpi.mqtt.publisher import MqttPublisher
from kpi.settings import KpiSettings
from kpi.web.server import WebServer
from kpi.windows import earliest_live_start
from queuepulse.config import Config
from queuepulse.kpi_settings import settings_from_config, store_kpi_settings

log = structlog.get_logger("queuepulse.daemon")


class LiveKpis:
    """The KPI board of the live daemon, its MQTT publisher when MQTT is enabled and its
    web server when the web wallboard is."""

    def __init__(self, config: Config, store: Callable[[], Writer],
                 live: Callable[[], LiveView], link: Callable[[], AmiLink],
                 clock: Callable[[], float]) -> None:
        self.board = KpiBoard(settings_from_config(config), config.pbx.timezone,
                              alerts=config.alert_watch())
        self.publisher = (MqttPublisher(config.mqtt, config.pbx.id, self.board, live, link)
                          if config.mqtt.enabled else None)
        self.web: WebServer | None = None
        """The web server, once it listens (``[web] enabled``)."""
        self._config = config
        self._live = live
        self._store = store
        self._clock = clock
        self._filling: KpiBoard | None = None

    def add(self, facts: Sequence[Fact]) -> None:
        """A fact sink: the facts go to the board (and to one being filled), and to the
        web server's counters."""
        self.board.add(facts)
        if self._filling is not None:
            self._filling.add(facts)
        if self.web is not None:
            self.web.facts(facts)

    def snapshot(self) -> BoardSnapshot | None:
        """The board now, or ``None`` before the first event (there is no "now" yet)."""
        live = self._live()
        return self.board.snapshot(live) if live.at > 0 else None

    async def run(self) -> None:
        """Fill the board with today's stored facts, then publish and serve it until
        cancelled."""
        await self._fill(self.board)
        async with asyncio.TaskGroup() as outputs:
            if self.publisher is not None:
                outputs.create_task(self._publish(self.publisher), name="mqtt")
            if self._config.web.enabled:
                outputs.create_task(self._serve_web(), name="web")

    async def use(self, settings: KpiSettings, timezone: str) -> bool:
        """Compute with ``settings`` in ``timezone`` from now on; whether they changed."""
        if settings == self.board.settings and timezone == self.board.timezone.key:
            return False
        board = KpiBoard(settings, timezone, alerts=self._config.alert_watch())
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

    @staticmethod
    async def _publish(publisher: MqttPublisher) -> None:
        async with publisher:
            await publisher.run()

    async def _serve_web(self) -> None:
        """The browser wallboard and ``/metrics``, on whichever board is current."""
        server = WebServer(self._config.web, self._config.pbx.id, self.snapshot)
        async with server:
            self.web = server
            try:
                await server.run()
            finally:
                self.web = None

    async def _fill(self, board: KpiBoard) -> None:
        """Add the stored facts the live windows reach to ``board``; those that come
        meanwhile reach it through :meth:`add` as well, and the board keeps one of each."""
        at = self._clock()
        since = earliest_live_start(at, board.timezone)
        stored = await self._store().call(partial(read_facts, start=since, end=at))
        board.add(stored)
        log.info("kpi.board_primed", facts=len(stored), since=since)


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
