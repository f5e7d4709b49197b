"""The daemon's AMI side: each connection's frames into events and rows, its snapshots.

:class:`AmiSessions` keeps an AMI connection open (:func:`collector.ami.client.follow`)
and, for each one, notes the gap since the last connection, asks for a
QueueStatus/QueueSummary snapshot, then takes every socket read's frames in one pass,
within the read's own callback. Each event frame's ``Event:`` name is looked at once, as
bytes: the frames the tracker ignores are never decoded (unless ``database.raw_events =
"all"`` stores them). The frames the tracker uses become events, fed to it in arrival
order, and the raw rows ``database.raw_events`` asks for go to the store (which hands
them to its thread in batches). While the store is behind, reading pauses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import structlog

from collector.ami.client import AmiConnection, AmiResponse, follow
from collector.ami.link import AmiLink
from collector.ami.protocol import Clock, FrameBatch
from collector.ami.settings import AmiConfig
from collector.events import Event, PbxBooted, SnapshotEnd, StreamGap
from collector.facts import Fact
from collector.parser import FrameParser, event_name, wanted_frame
from collector.store.writer import Writer
from collector.store.writes import EventRow, Reference
from collector.trace import frame_timestamp
from collector.tracker import Tracker
from queuepulse.queue_log_follower import QueueLogFollower
from queuepulse.sd_notify import Notifier
from queuepulse.stream_health import StreamHealth

log = structlog.get_logger("queuepulse.daemon")

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


class AmiSessions:
    """Follows the PBX over AMI, one connection at a time, for the daemon.

    ``apply`` feeds the one tracker an event (and hands its facts on), ``emit`` hands on
    facts of the stream itself (an implausible Timestamp); ``on_link`` hears every change
    of :attr:`link`.
    """

    def __init__(self, config: AmiConfig, *, tracker: Tracker, apply: Callable[[Event], None],
                 emit: Callable[[Sequence[Fact]], None], store: Callable[[], Writer],
                 raw_events: str, stats: DaemonStats, notifier: Notifier,
                 queue_log: QueueLogFollower | None, on_link: Callable[[AmiLink], None],
                 clock: Clock = time.time,
                 monotonic: Clock = time.monotonic) -> None:
        self.config = config
        self.parser = FrameParser()
        self.link = AmiLink(False, clock(), f"{config.host}:{config.port}",
                            "not connected yet")
        """The AMI connection's state, for whoever shows figures."""
        self.ready = False
        """Whether the first login and snapshot have completed."""
        self.tick_base: tuple[float, float] | None = None
        """The tracker's time after the last read with events, and the monotonic clock
        then: where the daemon's ticks count from."""
        self.resumed_since: float | None = None
        """The last moment an earlier run saw: the time until the first event is a gap."""
        self._tracker = tracker
        self._apply = apply
        self._emit = emit
        self._store = store
        self._raw_all = raw_events == "all"
        self._raw_any = raw_events != "none"
        self._stats = stats
        self._notifier = notifier
        self._queue_log = queue_log
        self._on_link = on_link
        self._clock = clock
        self._monotonic = monotonic
        self._health = StreamHealth(monotonic)
        self._ami: AmiConnection | None = None
        self._bytes_before = 0
        self._last_received: float | None = None
        self._snapshot_pending = False
        self._booted_seen = False
        self._resuming: asyncio.Task[None] | None = None
        self._skipped = 0

    @property
    def received_bytes(self) -> int:
        """Bytes read from the AMI over every connection so far."""
        current = self._ami.protocol.splitter.bytes if self._ami is not None else 0
        return self._bytes_before + current

    @property
    def connected(self) -> bool:
        """Whether an AMI connection is open and logged in right now."""
        return self._ami is not None

    async def run(self) -> None:
        """Keep a connection open and follow it, until cancelled (a refused login is
        retried, slowly)."""
        await follow(self.config, self._session, clock=self._clock, on_down=self._down,
                     retry_refused=True)

    async def _session(self, ami: AmiConnection) -> None:
        now = self._clock()
        self._stats.connections += 1
        if self._last_received is not None:
            since = self._last_received
            self._stats.gaps.append(now - since)
            log.warning("ami.stream_gap", seconds=round(now - since, 3), since=since, at=now)
            # the tracker answers the gap with its stream_gap anomaly: the one stored
            pbx = self.parser.clock
            self._apply(StreamGap(at=pbx.estimate(now), since=pbx.estimate(since)))
        self._booted_seen = False
        self._health.connected()
        self._set_link(self.link.up(now))
        self._notifier.send(f"STATUS=Connected to AMI at {ami.address}; taking a snapshot")
        self._ask_snapshot(ami)
        self._ami = ami
        self._skipped = 0
        if not self._raw_all:
            ami.protocol.splitter.wanted = wanted_frame
        try:
            await ami.deliver(partial(self._consume, ami))
        finally:
            if self._resuming is not None:
                self._resuming.cancel()
                self._resuming = None
            self._bytes_before += ami.protocol.splitter.bytes
            self._ami = None
            self._health.counted(ami.protocol.splitter, final=True)
            if self._queue_log is not None:
                self._queue_log.lost(self._tracker.now)

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

    def _consume(self, ami: AmiConnection, batch: FrameBatch) -> None:
        """One socket read's frames, in one pass: events to the tracker, rows to the store."""
        parse = self.parser.parse
        received_at = batch.received_at
        health = self._health
        raw_all, raw_any = self._raw_all, self._raw_any
        rows: list[EventRow] = []
        events = 0
        for text in batch.texts:
            health.frame(text)
            event = parse(text, received_at)
            if event is None:
                if raw_all and (name := event_name(text)) is not None:
                    rows.append(EventRow(received_at, None, name, text))
                continue
            events += 1
            if raw_any:
                rows.append(EventRow(received_at, frame_timestamp(text),
                                     event_name(text) or "", text))
            problems = self.parser.anomalies()
            if problems:
                log.warning("ami.implausible_timestamp", detail=problems[0].detail,
                            fix="check the PBX's clock (NTP)")
                self._emit(problems)
            if self.resumed_since is not None:
                since, self.resumed_since = self.resumed_since, None
                self._apply(StreamGap(at=max(since, event.at), since=since))
            try:
                self._apply(event)
            except Exception:  # a tracker bug on one odd event must not stop the collector
                self._stats.failed += 1
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
        splitter = ami.protocol.splitter
        # frames left undecoded (of no use to the tracker) count among those received
        self._stats.frames += len(batch.texts) + splitter.skipped - self._skipped
        self._skipped = splitter.skipped
        if events:
            # ticks count from the last event (a Pong must not hold the tracker's time back)
            self.tick_base = (self._tracker.now, self._monotonic())
            self._stats.events += events
        store = self._store()
        if rows:
            store.add_events(rows)
        health.counted(splitter)
        if store.behind and self._resuming is None:
            # reading pauses while the disk catches up: memory stays bounded
            ami.protocol.pause()
            self._resuming = asyncio.get_running_loop().create_task(
                self._resume_when_caught_up(ami, store), name="ami.resume")

    async def _resume_when_caught_up(self, ami: AmiConnection, store: Writer) -> None:
        try:
            await store.caught_up()
            ami.protocol.resume()
        finally:
            self._resuming = None

    def _booted(self, ami: AmiConnection) -> None:
        self._booted_seen = True
        if not self._snapshot_pending:
            log.info("ami.pbx_booted", address=ami.address)
            self._ask_snapshot(ami)

    def _snapshot_done(self, taken: bool) -> None:
        self._snapshot_pending = False
        if taken:
            self._stats.snapshots += 1
            view = self._tracker.live()
            log.info("ami.snapshot", queues=len(view.queues), agents=len(view.agents),
                     waiting=len(view.waiting()))
            self._store().add_reference(Reference(self._clock(), view.queues, view.agents))
        self._health.snapshot_taken(self._booted_seen)
        if not self.ready:
            self.ready = True
            self._notifier.send("READY=1", "STATUS=Following the PBX")
            log.info("daemon.ready")

    def _down(self, problem: str) -> None:
        self._set_link(self.link.down(self._clock(), problem))
        self._notifier.send(f"STATUS=AMI unavailable: {problem}")

    def _set_link(self, link: AmiLink) -> None:
        self.link = link
        self._on_link(link)
