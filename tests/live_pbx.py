"""A recorded trace played live by pbxsim's AMI server, for tests of the live daemon.

The server plays the trace at full speed, or ``speed`` times as fast as it was recorded.
The simulated PBX's clock follows the trace:
it is the Timestamp of the last event sent plus the real time elapsed since, so the
QueueStatus answers (which carry no Timestamp) and FullyBooted's Uptime agree with the
recorded events. The daemon under test is given that clock, so its results can be
compared with ``queuepulse replay`` of the same trace, to the millisecond.

Faults are scripted by event count: a hook runs after the n-th event of the feed was
handed to the server, while the feed waits; it can wait for the daemon, lose events (send
them while nobody listens) or send frames of its own. With ``recorded_drops`` the
connection drops where the recording's did, and comes back at the recorded moment to the
recorded QueueStatus answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

from collector.events import CallerJoin
from collector.facts import CallRecord, Phase
from collector.live import LiveView
from collector.parser import FrameParser, event_name
from collector.replay import replay
from collector.trace import Frame, TraceReader
from collector.tracker import Tracker
from queuepulse.config import parse_config
from queuepulse.daemon import Daemon, FactSink
from queuepulse.pbxsim.ami_server import AmiServer
from queuepulse.pbxsim.faults import Faults
from queuepulse.pbxsim.snapshot import Snapshot
from queuepulse.pbxsim.trace_feed import TracePlayer
from queuepulse.sd_notify import Notifier
from tests.recording_truth import config_toml, tracker_config
from tests.traces import TRACE_CONFIG_TOML, final_records, trace_dir

SECRET = "Hush-4b2f-ami"
CALL_TIMES = ("entered_at", "answered_at", "ended_at", "wait_s", "talk_s", "hold_s", "acw_s",
              "handle_s", "gap_s")

Hook = Callable[[], Awaitable[None]]


async def until(condition: Callable[[], bool], timeout: float = 10.0,
                every: float = 0.005) -> None:
    """Wait until ``condition()`` holds (checked ``every`` seconds; 0: at every turn of
    the event loop, for a state that may last only a moment)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the daemon did not get there in time")
        await asyncio.sleep(every)


async def until_disconnected(daemon: Daemon) -> None:
    """Wait until the daemon has lost its connection: it may reconnect within a
    millisecond (its first retry is a random fraction of a short delay)."""
    await until(lambda: not daemon.connected, every=0)


def _stamp(frame: str) -> float | None:
    start = frame.find("\r\nTimestamp: ")
    if start < 0:
        return None
    end = frame.find("\r\n", start + 2)
    return float(frame[start + 13 : end if end >= 0 else None])


def _restamped(frame: str, stamp: str) -> str:
    start = frame.index("\r\nTimestamp: ") + 13
    end = frame.find("\r\n", start)
    return frame[:start] + stamp + (frame[end:] if end >= 0 else "")


def _is_feed_event(frame: Frame) -> bool:
    """Whether TracePlayer plays this frame: an event not meant for the recording client."""
    name = event_name(frame.text)
    return name is not None and name != "FullyBooted" and "\nActionID:" not in frame.text


@dataclass(frozen=True, slots=True)
class RecordedDrop:
    """Where the recording client lost the stream: after the ``events``-th feed event; it
    was back at ``back_at`` (the PBX's time), Asterisk having ``restarted`` meanwhile, and
    had the QueueStatus answer at ``answered_at``."""

    events: int
    back_at: float
    answered_at: float
    restarted: bool


def _uptime(frame: str) -> float | None:
    start = frame.find("\r\nUptime: ")
    if not frame.startswith("Event: FullyBooted") or start < 0:
        return None
    return float(frame[start + 10:].split("\r\n", 1)[0])


def _answered_at(frames: Sequence[Frame], start: int) -> float:
    """When the first QueueStatus answer from ``frames[start]`` on came."""
    return next(f.received_at for f in frames[start:]
                if "\nActionID:" in f.text and event_name(f.text) in _STATUS_ITEMS)


_STATUS_ITEMS = frozenset({"QueueParams", "QueueMember", "QueueEntry"})


def recorded_drops(frames: Sequence[Frame]) -> list[RecordedDrop]:
    """The moments a recording's client lost the stream and logged in again."""
    drops: list[RecordedDrop] = []
    count, back_at, boot_at = 0, None, None
    for index, frame in enumerate(frames[1:], start=1):
        uptime = _uptime(frame.text)
        if uptime is not None:
            booted = frame.received_at - uptime
            if back_at is not None:
                drops.append(RecordedDrop(count, back_at, _answered_at(frames, index),
                                          booted > (boot_at or booted) + 5))
            boot_at, back_at = booted, None
        elif frame.text.startswith("Asterisk Call Manager/"):
            back_at = frame.received_at
        count += _is_feed_event(frame)
    return drops


class TracePbx:
    """One stream of a trace (``ami.jsonl``, the full user's; ``ami-reader.jsonl``, the
    least-privilege user's) played by an `AmiServer`, with the PBX clock on the trace's
    time. ``config`` and ``queues_toml`` are the configuration its PBX asks for."""

    def __init__(self, name: str, *, stream: str = "ami.jsonl", faults: tuple[Faults, ...] = (),
                 limit: int | None = None, uptime: float = 86400.0,
                 drops: Sequence[RecordedDrop] = (), event_filter: tuple[str, ...] = (),
                 speed: float | None = None) -> None:
        self.path = trace_dir(name) / stream
        self.frames = list(TraceReader(self.path))
        self.config = tracker_config(name)
        self.queues_toml = config_toml(name)
        self.limit = limit
        self.hooks: dict[int, Hook] = {}
        self.sent = 0
        self.daemon: Daemon | None = None
        self.start_when: Callable[[], bool] = lambda: True
        """The feed starts once this holds (a daemon under test: once it is ready)."""
        self.shared_clock: SharedClock | None = None
        """The PBX's clock for a daemon in another process (:func:`daemon_process`)."""
        self._later = 0.0
        self._stopped = False
        self.restamp: dict[int, str] = {}
        """The Timestamp the n-th feed event is sent with instead of its own (a PBX clock
        gone wrong for one frame); the PBX's clock follows the recorded one."""
        self.clock_moved: Callable[[float], None] = lambda now: None
        """Told the PBX's time whenever the clock is moved (by a frame, or by a test)."""
        self.finished = asyncio.Event()
        counts = [d.events for d in drops]
        faults += tuple(Faults(drop_after=b - a) for a, b in pairwise([0, *counts]))
        for drop in drops:
            self.hooks[drop.events] = partial(self._come_back, drop)
        self._time = self.frames[0].received_at
        self._mark = time.monotonic()
        self._boot = self._time - uptime
        self._speed = speed or 1.0
        self._player = TracePlayer(self.path, speed=speed)
        self.sent_at: list[tuple[float, float]] = []
        """Each stamped feed event's Timestamp and the monotonic moment it was sent."""
        self._items: AsyncIterator[str | Snapshot] = aiter(self._player)
        self.server = AmiServer(self._feed(), username="queuepulse", secret=SECRET,
                                snapshot=self._player.snapshot, faults=faults,
                                event_filter=event_filter, auth_failure_delay=0.0,
                                uptime=uptime)

    def now(self) -> float:
        """The PBX's clock (running ``speed`` times as fast as the real one; stopped while
        the daemon comes back where the recording client did, see :meth:`_come_back`)."""
        if self._stopped:
            return self._time
        return self._time + (time.monotonic() - self._mark) * self._speed

    def _tick(self, frame: str) -> None:
        stamp = _stamp(frame)
        now = self.now()
        self.set_time(now if stamp is None else max(stamp, now))

    def set_time(self, at: float) -> None:
        """Set the PBX's clock to ``at``."""
        self._time, self._mark = at, time.monotonic()
        if self.shared_clock is not None:
            with self.shared_clock.get_lock():
                self.shared_clock[:] = [self._time, self._mark]
        # FullyBooted's Uptime is the server's wall time since booted_at: keep it on our clock
        self.server.booted_at = time.time() - (self._time - self._boot)
        self.clock_moved(at)

    def feed_event(self, n: int) -> str:
        """The text of the trace's ``n``-th feed event (from 1)."""
        return [f.text for f in self.frames if _is_feed_event(f)][n - 1]

    def later(self, seconds: float) -> None:
        """The PBX's clock jumps ``seconds`` ahead, and the rest of the trace happens that
        much later (its Timestamps moved): an outage that long, as seen from the PBX."""
        self._later += seconds
        self._time += seconds
        self._tick("")

    def _moved(self, frame: str) -> str:
        """The frame as the PBX sends it now: :meth:`later` moved its Timestamp."""
        recorded = _stamp(frame) if self._later else None
        return frame if recorded is None else _restamped(frame, f"{recorded + self._later:.6f}")

    def reboot(self) -> None:
        """The PBX has just started again (its next FullyBooted has a small Uptime)."""
        self._boot = self.now()
        self._tick("")

    async def recorded_snapshot(self, events: int) -> Snapshot:
        """The QueueStatus and QueueSummary answers the recording got first after the
        ``events``-th feed event."""
        snapshot: Snapshot | None = None
        count = 0
        async for item in TracePlayer(self.path):
            if isinstance(item, Snapshot):
                if count >= events:
                    snapshot = item
            elif snapshot is not None:
                break
            else:
                count += 1
        assert snapshot is not None, "no answer was recorded there"
        return snapshot

    async def _come_back(self, drop: RecordedDrop) -> None:
        """The connection dropped where the recording's did: come back when it did.

        The PBX's clock stands at that moment until the daemon is back, then at the
        moment the recording client had its QueueStatus answer until the daemon has its
        own: its way back (a random backoff, the login) takes no PBX time, and it is back,
        and has the answer, when the recording client did, as a replay has them.
        """
        daemon = self.daemon
        assert daemon is not None
        snapshots = daemon.stats.snapshots
        self.server.refuse()  # the daemon comes back to the PBX as it was then, not before
        await until(lambda: not daemon.connected)
        self.set_time(drop.back_at)
        if drop.restarted:
            self.reboot()
        self.server.snapshot = await self.recorded_snapshot(drop.events)
        connections = daemon.stats.connections
        self._stopped = True
        try:
            await self.server.accept()
            # checked at every turn of the loop: the answer comes turns after the login
            await until(lambda: daemon.stats.connections > connections, every=0)
            self.set_time(drop.answered_at)
            await until(lambda: daemon.stats.snapshots > snapshots)
        finally:
            self._stopped = False
            self.set_time(drop.answered_at)

    async def _feed(self) -> AsyncIterator[str | Snapshot]:
        await until(self.start_when)
        async for item in self._items:
            if isinstance(item, Snapshot):
                yield item
                continue
            frame = self._moved(item)
            self._tick(frame)
            if (stamped := _stamp(frame)) is not None:
                self.sent_at.append((stamped, time.monotonic()))
            stamp = self.restamp.get(self.sent + 1)
            yield frame if stamp is None else _restamped(frame, stamp)
            self.sent += 1
            # let the frame reach the client before the clock moves on: its arrival time is
            # then the PBX time it was sent at, as on a PBX that sends events as they happen
            for _ in range(3):
                await asyncio.sleep(0)
            hook = self.hooks.get(self.sent)
            if hook is not None:
                await hook()
            if self.sent == self.limit:
                break
        self.finished.set()

    def to_the_end(self) -> None:
        """Move the clock to the trace's last frame, where a replay of it ends."""
        if self.limit is None:
            self.set_time(max(self.now(), self.frames[-1].received_at))

    async def lose(self, count: int) -> None:
        """Send the next ``count`` events while no client listens: lost, as on a real PBX."""
        for _ in range(count):
            item = await anext(self._items)
            while isinstance(item, Snapshot):
                self.server.snapshot = item
                item = await anext(self._items)
            frame = self._moved(item)
            self._tick(frame)
            await self.server.send(frame)
            self.sent += 1

    def oracle(self, events: int) -> tuple[list[CallRecord], LiveView, set[str]]:
        """What ``replay`` derives from the trace up to the ``events``-th feed event.

        Returns the calls finished by then, the tracker's live view at that point and the
        uniqueids of callers who joined up to then.
        """
        frames: list[Frame] = []
        count = 0
        for frame in self.frames:
            frames.append(frame)
            count += _is_feed_event(frame)
            if count == events:
                break
        tracker, parser = Tracker(self.config), FrameParser()
        done: list[CallRecord] = []
        joined: set[str] = set()
        for frame in frames:
            event = parser.parse(frame.text, frame.received_at)
            if event is None:
                continue
            if isinstance(event, CallerJoin):
                joined.add(event.uniqueid)
            done += [f for f in tracker.feed(event)
                     if isinstance(f, CallRecord) and f.phase is Phase.DONE]
        return done, tracker.live(), joined

    def snapshot_after(self, events: int) -> Snapshot:
        """What QueueStatus would truly answer after the ``events``-th feed event.

        The recorded answers are few (the trace's start and end), so a reconnect in the
        middle is answered from the tracker's view of the trace at that point: members
        with their pauses and calls, and the callers waiting, with their Wait.
        """
        _, view, _ = self.oracle(events)
        now = self.now()
        params = [f for f in self._player.snapshot.queue_status
                  if f.startswith("Event: QueueParams")]
        frames: list[str] = []
        for param in params:
            queue = param.split("\r\nQueue: ", 1)[1].split("\r\n", 1)[0]
            frames.append(param)
            for agent in view.agents:
                for member in agent.memberships:
                    if member.queue != queue:
                        continue
                    talking = agent.queue == queue and agent.state.value in ("talking", "hold")
                    frames.append(
                        f"Event: QueueMember\r\nQueue: {queue}\r\nName: {agent.name}\r\n"
                        f"Location: {agent.interface}\r\nMembership: static\r\n"
                        f"InCall: {int(talking)}\r\nStatus: 1\r\n"
                        f"Paused: {int(member.paused)}\r\nPausedReason: {member.reason}\r\n"
                        "Wrapuptime: 0")
            for position, call in enumerate(view.waiting(queue), start=1):
                frames.append(
                    f"Event: QueueEntry\r\nQueue: {queue}\r\nPosition: {position}\r\n"
                    f"Uniqueid: {call.uniqueid}\r\nCallerIDNum: {call.caller_num}\r\n"
                    f"CallerIDName: {call.caller_name}\r\nWait: {int(now - call.entered_at)}")
        return Snapshot(tuple(frames), self._player.snapshot.queue_summary)

    def prefix_replay(self, events: int) -> list[CallRecord]:
        """``queuepulse replay`` of the trace cut after the ``events``-th feed event."""
        frames: list[Frame] = []
        count = 0
        for frame in self.frames:
            if count == events:
                break
            frames.append(frame)
            count += _is_feed_event(frame)
        facts = replay(frames, Tracker(self.config), FrameParser())
        return final_records(facts)


SharedClock = Any
"""The PBX's time and the monotonic moment it was read, shared with another process
(a ``multiprocessing`` array of two doubles)."""


def share_clock(pbx: TracePbx) -> SharedClock:
    """Let a daemon in another process read the PBX's clock."""
    shared = multiprocessing.get_context("spawn").Array("d", [pbx.now(), time.monotonic()])
    pbx.shared_clock = shared
    return shared


def _run_daemon(config_toml: str, shared: SharedClock) -> None:
    def clock() -> float:
        with shared.get_lock():
            at, mark = shared[:]
        return float(at + (time.monotonic() - mark))

    daemon = Daemon(parse_config(config_toml), clock=clock, monotonic=clock, tick_s=None,
                    notifier=Notifier(None))
    asyncio.run(daemon.run())


def daemon_process(config_toml: str, shared: SharedClock) -> multiprocessing.process.BaseProcess:
    """A daemon in a process of its own (one a test can kill), on the PBX's clock."""
    process = multiprocessing.get_context("spawn").Process(
        target=_run_daemon, args=(config_toml, shared), daemon=True)
    process.start()
    return process


def daemon_config_toml(port: int, db: Path, *, ping_interval_s: float = 10.0,
                       secret: str = SECRET, settings: str = "", ami: str = "",
                       database: str = "", queues: str = TRACE_CONFIG_TOML) -> str:
    """A configuration for the traces' PBX at ``port``, storing into ``db``.

    ``settings`` is TOML put first (``[pbx]``, ``[kpi]``, other queues' tables), ``ami``
    further lines of ``[ami]``, ``database`` more keys of ``[database]``, ``queues`` the
    queues' tables the PBX asks for (:attr:`TracePbx.queues_toml`).
    """
    return settings + queues + (
        f'[ami]\nport = {port}\nsecret = "{secret}"\nping_interval_s = {ping_interval_s}\n'
        # the traces' PBX clock runs on their stamps, seconds in a moment: a frame must be
        # read as it comes for its arrival to be the PBX time it was sent at
        f"reconnect_max_s = 0.2\nconnect_timeout_s = 2\nread_rest_s = 0\n{ami}"
        f'[database]\npath = "{db}"\ncommit_interval_s = 0.2\n{database}'
    )


@dataclass(frozen=True, slots=True)
class LiveRun:
    """What a live run left behind."""

    daemon: Daemon
    calls: dict[tuple[str, str], dict[str, object]]
    rows: int


def stored_calls(db: Path) -> tuple[dict[tuple[str, str], dict[str, object]], int]:
    """The ``calls`` table keyed by (uniqueid, queue), and its row count."""
    # closed at once: the connection's statement cache keeps it alive until a GC pass
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM calls")]
    return {(str(r["uniqueid"]), str(r["queue"])): r for r in rows}, len(rows)


async def run_live(pbx: TracePbx, db: Path, *, ping_interval_s: float = 10.0,
                   sinks: Sequence[FactSink] = (), settings: str = "", database: str = "",
                   before: Hook | None = None, clock_offset: float = 0.0,
                   tick_s: float | None = None) -> LiveRun:
    """Run a daemon against the PBX until the whole feed was received, then stop it.

    ``settings``: TOML put first in the daemon's configuration, ``database`` more keys
    of its ``[database]`` (see daemon_config_toml); ``before``: awaited once the PBX
    listens, before the daemon starts; ``clock_offset``: how far the collector's clock is
    ahead of the PBX's; ``tick_s``: how often the daemon's time moves on while the PBX is
    quiet (``None``: only by events).
    """
    async with pbx.server as server:
        if before is not None:
            await before()
        config = parse_config(daemon_config_toml(server.port, db,
                                                 ping_interval_s=ping_interval_s,
                                                 settings=settings, database=database,
                                                 queues=pbx.queues_toml))
        daemon = Daemon(config, clock=lambda: pbx.now() + clock_offset, monotonic=pbx.now,
                        tick_s=tick_s, notifier=Notifier(None))
        daemon.sinks.extend(sinks)
        pbx.daemon = daemon
        pbx.start_when = lambda: daemon.ready
        running = asyncio.create_task(daemon.run())
        try:
            await until(lambda: pbx.finished.is_set() or running.done(), timeout=30)
            # the feed's last events may still wait in the session's queue: written first
            stats = server.stats
            await until(lambda: stats.events + stats.lost + stats.filtered >= pbx.sent
                        or running.done())
            await until(lambda: daemon.received_bytes >= server.stats.bytes or running.done())
            pbx.to_the_end()
        finally:
            daemon.stop()
            await running
    calls, rows = stored_calls(db)
    return LiveRun(daemon, calls, rows)


async def run_live_with_mqtt(pbx: TracePbx, db: Path, broker: int,
                             done: Callable[[Daemon], bool], within_s: float = 10.0) -> Daemon:
    """Run a daemon publishing to the broker on port ``broker`` over the whole feed, until
    ``done`` holds (at most ``within_s`` after the feed's end); then stop it."""
    async with pbx.server as server:
        config = parse_config(daemon_config_toml(server.port, db, queues=pbx.queues_toml) +
                              f"[mqtt]\nenabled = true\nport = {broker}\n")
        daemon = Daemon(config, clock=pbx.now, monotonic=pbx.now, tick_s=0.2,
                        notifier=Notifier(None))
        pbx.daemon = daemon
        pbx.start_when = lambda: daemon.ready
        running = asyncio.create_task(daemon.run())
        try:
            await until(lambda: pbx.finished.is_set() or running.done(), timeout=30)
            pbx.to_the_end()
            await until(lambda: done(daemon) or running.done(), timeout=within_s)
        finally:
            daemon.stop()
            await running
    return daemon


def differences(live: dict[str, object], expected: CallRecord,
                tolerance: float = 0.001) -> list[str]:
    """The columns where a stored call differs from a derived one (times to ``tolerance``)."""
    row = expected.as_row()
    wrong = []
    for column, value in row.items():
        got = live[column]
        if column == "call_id":
            continue  # uniqueid@queue@entered_at: compared through its parts
        if column in CALL_TIMES and value is not None and got is not None:
            if abs(float(got) - float(value)) > tolerance:  # type: ignore[arg-type]
                wrong.append(f"{column}: {got} != {value}")
        elif got != value:
            wrong.append(f"{column}: {got!r} != {value!r}")
    return wrong
