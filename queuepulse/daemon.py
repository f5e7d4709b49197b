"""The live daemon: the one module that wires the AMI, the tracker, the store and systemd.

One TaskGroup, named tasks:

* ``ami``: :func:`collector.ami.client.follow` keeps a connection open and hands each one
  to :meth:`Daemon._session`, which notes the gap since the last connection, asks for a
  QueueStatus/QueueSummary snapshot, then puts every frame, in arrival order, through
  the parser and the one tracker;
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
from dataclasses import dataclass, field
from functools import partial

import structlog

from collector.ami.client import AmiConnection, AmiResponse, follow
from collector.ami.link import AmiLink
from collector.ami.protocol import Clock, FrameBatch
from collector.errors import UserError
from collector.events import Event, PbxBooted, SnapshotEnd, StintResumed, StreamGap, Tick
from collector.facts import CallRecord, Fact, Phase
from collector.live import LiveView
from collector.parser import FrameParser, event_name
from collector.store.opening import unusable
from collector.store.reads import left_open
from collector.store.writer import Writer
from collector.store.writes import EventRow, Reference
from collector.trace import frame_timestamp
from collector.tracker import Tracker
from kpi.board import KpiBoard
from kpi.web.server import WebServer
from queuepulse.config import Config
from queuepulse.kpi_settings import settings_from_config, store_kpi_settings
from queuepulse.kpi_tables import KpiTableKeeper
from queuepulse.live_kpis import LiveKpis, take_kpi_settings
from queuepulse.maintenance import maintain
from queuepulse.queue_log_follower import QueueLogFollower
from queuepulse.sd_notify import Notifier
from queuepulse.stream_health import StreamHealth

log = structlog.get_logger("queuepulse.daemon")

FactSink = Callable[[Sequence[Fact]], None]
"""Receives every batch of facts, in order, as the tracker completes them."""

_SNAPSHOT_FIX = (
    "queuepulse cannot rebuild queue state after a reconnect. Give the AMI user "
    "read = agent,call,system in manager_custom.conf and run 'manager reload'"
)


@dataclass(slots=True)
class DaemonStats:
    """Counters of the live daemon, for logs and tests."""

    connections: int = 0
    frames: int = 0
    events: int = 0
    calls: int = 0
    """Stints whose record is final (``phase`` done)."""
    snapshots: int = 0
    failed: int = 0
    """Events the tracker raised on (logged as ``daemon.event_failed``, then skipped)."""
    reloads: int = 0
    """Reloads applied (SIGHUP)."""
    gaps: list[float] = field(default_factory=list)
    """Length of each stream gap (seconds between the last frame and the reconnect)."""


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
        self.parser = FrameParser()
        self.sinks: list[FactSink] = []
        """Further consumers of facts (the MQTT publisher); called in the event loop."""
        self.stats = DaemonStats()
        self.link = AmiLink(False, clock(), f"{config.ami.host}:{config.ami.port}",
                            "not connected yet")
        """The AMI connection's state, for whoever shows figures."""
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
        self._writer: Writer | None = None
        self._stopping = asyncio.Event()
        self._ready = False
        self._last_received: float | None = None
        self._resumed_since: float | None = None
        """The last moment an earlier run saw: the time until the first event is a gap."""
        self._tick_base: tuple[float, float] | None = None
        self._snapshot_pending = False
        self._booted_seen = False
        self._health = StreamHealth(monotonic)
        self._ami: AmiConnection | None = None
        self._bytes_before = 0
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
    def received_bytes(self) -> int:
        """Bytes read from the AMI over every connection so far."""
        current = self._ami.protocol.splitter.bytes if self._ami is not None else 0
        return self._bytes_before + current

    @property
    def connected(self) -> bool:
        """Whether an AMI connection is open and logged in right now."""
        return self._ami is not None

    @property
    def ready(self) -> bool:
        """Whether the first login and snapshot have completed (systemd hears READY=1
        earlier: once the database is open)."""
        return self._ready

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
        self._resumed_since = left.last_moment
        for stored in left.stints:
            self._apply(StintResumed(left.last_moment, stored))
        if left.stints:
            log.info("daemon.resumed", open_calls=len(left.stints),
                     since=round(left.last_moment, 3))

    async def _run_tasks(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                running = [
                    tasks.create_task(
                        follow(self.config.ami, self._session, clock=self._clock,
                               on_down=self._down, retry_refused=True),
                        name="ami",
                    ),
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

    # -- one AMI connection ------------------------------------------------------------

    async def _session(self, ami: AmiConnection) -> None:
        now = self._clock()
        self.stats.connections += 1
        if self._last_received is not None:
            since = self._last_received
            self.stats.gaps.append(now - since)
            log.warning("ami.stream_gap", seconds=round(now - since, 3), since=since, at=now)
            # the tracker answers the gap with its stream_gap anomaly: the one stored
            pbx = self.parser.clock
            self._apply(StreamGap(at=pbx.estimate(now), since=pbx.estimate(since)))
        self._booted_seen = False
        self._health.connected()
        self._link(self.link.up(now))
        self._notifier.send(f"STATUS=Connected to AMI at {ami.address}; taking a snapshot")
        self._ask_snapshot(ami)
        self._ami = ami
        store = self._store()
        try:
            async for batch in ami.frames():
                self._consume(batch, ami)
                if store.behind:
                    # reading pauses while the disk catches up: memory stays bounded
                    await store.caught_up()
        finally:
            self._bytes_before += ami.protocol.splitter.bytes
            self._ami = None
            self._health.counted(ami.protocol.splitter, final=True)
            if self.queue_log is not None:
                self.queue_log.lost(self.tracker.now)

    def _ask_snapshot(self, ami: AmiConnection) -> None:
        self._snapshot_pending = True
        for action in ("QueueStatus", "QueueSummary"):
            ami.request(action, partial(self._snapshot_answered, action))

    def _snapshot_answered(self, action: str, response: AmiResponse) -> None:
        if response.success:
            return
        log.warning("ami.snapshot_refused", action=action, answer=response.message,
                    fix=_SNAPSHOT_FIX)
        if action == "QueueStatus":
            self._snapshot_done(taken=False)

    def _consume(self, batch: FrameBatch, ami: AmiConnection) -> None:
        parse = self.parser.parse
        received_at = batch.received_at
        rows: list[EventRow] = []
        for text in batch.texts:
            self._health.frame(text)
            event = parse(text, received_at)
            if event is None:
                continue
            rows.append(EventRow(received_at, frame_timestamp(text), event_name(text) or "",
                                 text))
            problems = self.parser.anomalies()
            if problems:
                log.warning("ami.implausible_timestamp", detail=problems[0].detail,
                            fix="check the PBX's clock (NTP)")
                self._emit(problems)
            if self._resumed_since is not None:
                since, self._resumed_since = self._resumed_since, None
                self._apply(StreamGap(at=max(since, event.at), since=since))
            try:
                self._apply(event)
            except Exception:  # a tracker bug on one odd event must not stop the collector
                self.stats.failed += 1
                # the frame holds caller numbers and names: only a debug log shows it
                log.exception("daemon.event_failed", event_type=type(event).__name__)
                log.debug("daemon.event_failed_frame", frame=text)
                continue
            kind = type(event)
            if kind is SnapshotEnd:
                self._snapshot_done(taken=True)
            elif kind is PbxBooted:
                self._booted(ami)
        self._last_received = received_at
        self.stats.frames += len(batch.texts)
        if rows:
            # ticks count from the last event (a Pong must not hold the tracker's time back)
            self._tick_base = (self.tracker.now, self._monotonic())
            self.stats.events += len(rows)
            self._store().add_events(rows)
        self._health.counted(ami.protocol.splitter)

    def _booted(self, ami: AmiConnection) -> None:
        self._booted_seen = True
        if not self._snapshot_pending:
            log.info("ami.pbx_booted", address=ami.address)
            self._ask_snapshot(ami)

    def _snapshot_done(self, taken: bool) -> None:
        self._snapshot_pending = False
        if taken:
            self.stats.snapshots += 1
            view = self.tracker.live()
            log.info("ami.snapshot", queues=len(view.queues), agents=len(view.agents),
                     waiting=len(view.waiting()))
            self._store().add_reference(Reference(self._clock(), view.queues, view.agents))
        self._health.snapshot_taken(self._booted_seen)
        if not self._ready:
            self._ready = True
            self._notifier.send("READY=1", "STATUS=Following the PBX")
            log.info("daemon.ready")

    def _down(self, problem: str) -> None:
        self._link(self.link.down(self._clock(), problem))
        self._notifier.send(f"STATUS=AMI unavailable: {problem}")

    def _link(self, link: AmiLink) -> None:
        self.link = link
        if self.kpis is not None and self.kpis.publisher is not None:
            self.kpis.publisher.wake()

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

    def _now(self) -> float:
        """Event time now: the last event's time plus the time elapsed since it arrived."""
        if self._tick_base is None:
            return self.tracker.now
        at, mark = self._tick_base
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
