"""The live daemon: the one module that wires the AMI, the tracker, the store and systemd.

One TaskGroup, named tasks:

* ``ami``: :class:`~queuepulse.ami_session.AmiSessions` keeps a connection open, asks
  each one for a QueueStatus/QueueSummary snapshot, then puts every frame, in arrival
  order, through the parser and the one tracker, and the raw rows to the store;
* ``tick``: feeds :class:`~collector.events.Tick` so that time-based rules (after-call
  work, settling after a caller left) fire while the PBX is quiet;
* ``watchdog``: ``WATCHDOG=1`` to systemd while the event loop and the writer live;
* ``maintenance``: retention and the reference tables (:mod:`queuepulse.maintenance`);
* ``kpi_tables``: the KPI tables, at most ``database.kpi_interval_s`` behind the calls
  (:class:`~queuepulse.kpi_tables.KpiTableKeeper`);
* ``kpis`` (when ``mqtt.enabled`` or ``web.enabled``, or a board is asked for): the KPI
  board, fed with facts, its MQTT publisher when MQTT is enabled and the browser
  wallboard with ``/metrics`` when the web is (:mod:`queuepulse.live_kpis`);
* ``queue_log`` (when ``pbx.queue_log`` is set): follows Asterisk's queue_log and stores
  the calls the stream did not show whole
  (:class:`~queuepulse.queue_log_follower.QueueLogFollower`);
* ``reload``: applies the settings :meth:`Daemon.reload` was given;
* ``stop``: waits for :meth:`Daemon.stop` and ends the others.

Facts go to the writer and to every callable in :attr:`Daemon.sinks`;
:meth:`Daemon.live` is the tracker's view of the present and :attr:`Daemon.link` the AMI
connection's state. Those are where further consumers (the MQTT publisher) plug in.
Nothing a consumer does can stop collection: a consumer that raises is logged and the
others go on, and the publisher retries whatever went wrong in it on its own.

systemd hears ``READY=1`` as soon as the database is open, without waiting for the PBX
(which may boot later, or refuse logins for a while): ``STATUS=`` says what the AMI
connection is doing. The AMI stream is read only as fast as the store commits it: while
the writer is behind, reading pauses (see :data:`collector.store.writer.BACKLOG_HIGH`).
:func:`queuepulse.service.serve` runs a daemon until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial

import structlog

from collector.ami.link import AmiLink
from collector.ami.protocol import Clock
from collector.errors import UserError
from collector.events import Event, StintResumed, Tick
from collector.facts import CallRecord, Fact, Phase
from collector.live import LiveView
from collector.parser import FrameParser
from collector.store.opening import unusable
from collector.store.reads import left_open
from collector.store.writer import Writer
from collector.tracker import Tracker
from kpi.board import KpiBoard
from kpi.web.server import WebServer
from queuepulse.ami_session import AmiSessions, DaemonStats
from queuepulse.config import Config
from queuepulse.kpi_settings import settings_from_config, store_kpi_settings
from queuepulse.kpi_tables import KpiTableKeeper
from queuepulse.live_kpis import LiveKpis, take_kpi_settings
from queuepulse.maintenance import maintain
from queuepulse.queue_log_follower import QueueLogFollower
from queuepulse.sd_notify import Notifier

log = structlog.get_logger("queuepulse.daemon")

FactSink = Callable[[Sequence[Fact]], None]
"""Receives every batch of facts, in order, as the tracker completes them."""

def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class Daemon:
    """Follows one PBX live and stores what happens; ``await daemon.run()`` until stopped."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        tick_s: float | None = 0.5,
        notifier: Notifier | None = None,
        board: bool = False,
    ) -> None:
        self.config = config
        self.tracker = Tracker(config.tracker_config())
        self.sinks: list[FactSink] = []
        """Further consumers of facts (the MQTT publisher); called in the event loop."""
        self.stats = DaemonStats()
        self.kpis = (LiveKpis(config, self._store, self.live, lambda: self.link, clock)
                     if config.mqtt.enabled or config.web.enabled or board else None)
        """The live KPIs, their MQTT publisher and web server; ``board=True`` keeps them
        without either."""
        self.kpi_tables = KpiTableKeeper(settings_from_config(config), config.pbx.timezone,
                                         config.database.kpi_interval_s, monotonic=monotonic)
        """The KPI tables of the database, kept up to date with the facts."""
        self.queue_log = (QueueLogFollower(config.pbx.queue_log, config.tracker_config(),
                                           config.pbx.timezone)
                          if config.pbx.queue_log else None)
        """The backfill from Asterisk's queue_log (``pbx.queue_log``), when configured."""
        self._clock = clock
        self._monotonic = monotonic
        self._tick_s = tick_s
        self._notifier = notifier if notifier is not None else Notifier.from_environment()
        self.ami = AmiSessions(config.ami, tracker=self.tracker, apply=self._apply,
                               emit=self._emit, store=self._store,
                               raw_events=config.database.raw_events, stats=self.stats,
                               notifier=self._notifier, queue_log=self.queue_log,
                               on_link=self._link,
                               clock=clock, monotonic=monotonic)
        """The AMI connections, one at a time."""
        self._writer: Writer | None = None
        self._stopping = asyncio.Event()
        self._reload_due: Config | None = None
        self._reload_asked = asyncio.Event()

    # -- the seam for further consumers -------------------------------------------

    def live(self) -> LiveView:
        """What is going on right now (waiting callers, agents, queues)."""
        return self.tracker.live()

    @property
    def board(self) -> KpiBoard | None:
        """The live KPI board, if the daemon keeps one."""
        return None if self.kpis is None else self.kpis.board

    @property
    def web(self) -> WebServer | None:
        """The web server, once it listens (``[web] enabled``)."""
        return None if self.kpis is None else self.kpis.web

    @property
    def link(self) -> AmiLink:
        """The AMI connection's state, for whoever shows figures."""
        return self.ami.link

    @property
    def parser(self) -> FrameParser:
        """The parser of the AMI frames (its counters)."""
        return self.ami.parser

    @property
    def received_bytes(self) -> int:
        """Bytes read from the AMI over every connection so far."""
        return self.ami.received_bytes

    @property
    def connected(self) -> bool:
        """Whether an AMI connection is open and logged in right now."""
        return self.ami.connected

    @property
    def ready(self) -> bool:
        """Whether the first login and snapshot have completed (systemd hears READY=1
        earlier: once the database is open)."""
        return self.ami.ready

    def stop(self) -> None:
        """Ask the daemon to finish: close open records, commit, return from :meth:`run`."""
        self._stopping.set()

    def reload(self, config: Config) -> None:
        """Take the settings that can change while running from ``config`` (the KPI
        thresholds and targets), and commit what is pending; the rest of ``config`` waits
        for a restart, and the log says which of it differs."""
        self._reload_due = config
        self._reload_asked.set()

    # -- lifetime ------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`; raises a :class:`UserError` (refused login, unusable DB)."""
        database = self.config.database
        async with Writer(database.path, commit_interval_s=database.commit_interval_s) as writer:
            self._writer = writer
            try:
                await writer.call(partial(store_kpi_settings, settings=settings_from_config(
                    self.config), timezone=self.config.pbx.timezone))
                await self.kpi_tables.prepare(writer)
                if self.queue_log is not None:
                    # the stored records first: what the resumed stints revise comes after
                    await self.queue_log.prepare(writer, self._clock())
                await self._resume(writer)
            except sqlite3.Error as error:
                raise unusable(database.path, error, "database.path") from error
            # the PBX may boot later or refuse logins for a while: STATUS= says so
            self._notifier.send("READY=1", f"STATUS=Connecting to AMI at {self.link.address}")
            try:
                await self._run_tasks()
            finally:
                self._emit(self.tracker.finish(self._now()))
                if self.queue_log is not None:
                    await self.queue_log.finish(writer, self._now(), self._to_sinks)
                await self.kpi_tables.finish(writer)
                self._notifier.send("STOPPING=1")
                log.info("daemon.stopped", calls=self.stats.calls, frames=self.stats.frames,
                         connections=self.stats.connections)

    async def _resume(self, writer: Writer) -> None:
        """Follow on what an earlier run that did not stop cleanly left open: callers
        waiting, calls under way. The first event says how long the gap since was."""
        left = await writer.call(left_open)
        if left.last_moment is None:
            return
        self.ami.resumed_since = left.last_moment
        for stored in left.stints:
            self._apply(StintResumed(left.last_moment, stored))
        if left.stints:
            log.info("daemon.resumed", open_calls=len(left.stints),
                     since=round(left.last_moment, 3))

    async def _run_tasks(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                running = [
                    tasks.create_task(self.ami.run(), name="ami"),
                    tasks.create_task(maintain(self.config.database, self._store, self.live,
                                               self._clock, self._monotonic),
                                      name="maintenance"),
                    tasks.create_task(self._reload(), name="reload"),
                    tasks.create_task(self.kpi_tables.run(self._store()), name="kpi_tables"),
                ]
                if self.kpis is not None:
                    running.append(tasks.create_task(self._show(self.kpis), name="kpis"))
                if self._tick_s:
                    running.append(tasks.create_task(self._tick(self._tick_s), name="tick"))
                if self.queue_log is not None:
                    running.append(tasks.create_task(self.queue_log.run(
                        self._store(), self._following, lambda: self.tracker.now, self._now,
                        self._to_sinks), name="queue_log"))
                interval = self._notifier.watchdog_interval_s
                if interval:
                    running.append(tasks.create_task(self._watchdog(interval), name="watchdog"))
                tasks.create_task(self._stop_when_asked(running), name="stop")
        except BaseExceptionGroup as group:
            fatal = group.subgroup(UserError)
            if fatal is not None:
                raise fatal.exceptions[0] from None
            raise

    async def _stop_when_asked(self, running: list[asyncio.Task[None]]) -> None:
        await self._stopping.wait()
        for task in running:
            task.cancel()

    # -- facts -------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        facts = self.tracker.feed(event)
        if facts:
            self._emit(facts)

    def _emit(self, facts: Sequence[Fact]) -> None:
        if not facts:
            return
        for fact in facts:
            # a stint's record is revised as the call goes on: one line when it is final
            if isinstance(fact, CallRecord) and fact.phase is Phase.DONE:
                self.stats.calls += 1
                log.info("call.finished", call_id=fact.call_id, queue=fact.queue,
                         outcome=fact.outcome.value, agent=fact.agent,
                         wait_s=_seconds(fact.wait_s), talk_s=_seconds(fact.talk_s),
                         hold_s=_seconds(fact.hold_s), acw_s=_seconds(fact.acw_s),
                         acw_source=fact.acw_source.value, handle_s=_seconds(fact.handle_s),
                         rings=fact.ring_attempts, transferred=bool(fact.transferred))
        self._store().add_facts(facts)
        if self.queue_log is not None:
            self.queue_log.observed(facts)
        self._to_sinks(facts)

    def _to_sinks(self, facts: Sequence[Fact]) -> None:
        for sink in self.sinks:
            try:
                sink(facts)
            except Exception:  # one broken consumer must not stop the collector
                log.exception("daemon.sink_failed", sink=repr(sink))

    def _following(self) -> list[tuple[str, str, float]]:
        """The stints the tracker follows now."""
        return [(c.uniqueid, c.queue, c.entered_at) for c in self.tracker.live().calls]

    def _store(self) -> Writer:
        if self._writer is None:
            raise RuntimeError("the writer is not running")
        return self._writer

    def _link(self, link: AmiLink) -> None:
        if self.kpis is not None and self.kpis.publisher is not None:
            self.kpis.publisher.wake()

    def _now(self) -> float:
        """Event time now: the last event's time plus the time elapsed since it arrived."""
        base = self.ami.tick_base
        if base is None:
            return self.tracker.now
        at, mark = base
        return max(self.tracker.now, at + (self._monotonic() - mark))

    # -- background tasks ------------------------------------------------------------------

    async def _show(self, kpis: LiveKpis) -> None:
        """KPIs: the board fed with facts (and today's stored ones), its publisher and its
        web server."""
        self.sinks.append(kpis.add)
        if kpis.publisher is not None:
            self.sinks.append(kpis.publisher.facts)
        await kpis.run()

    async def _reload(self) -> None:
        while True:
            await self._reload_asked.wait()
            self._reload_asked.clear()
            config, self._reload_due = self._reload_due, None
            if config is None:
                continue
            changed = await take_kpi_settings(self._store(), self.kpis, config)
            await self._store().flush()
            self.stats.reloads += 1
            log.info("daemon.reloaded", kpis_changed=changed)

    async def _tick(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            now = self._now()
            if now > self.tracker.now:
                self._apply(Tick(now))

    async def _watchdog(self, every: float) -> None:
        while True:
            if self._store().alive:
                self._notifier.send("WATCHDOG=1")
            else:
                log.error("store.writer_stopped", fix="restart queuepulse; report the log above")
            await asyncio.sleep(every)
