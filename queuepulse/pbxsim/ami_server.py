"""An AMI server that speaks Asterisk 20's manager protocol over real TCP.

It serves a feed of events (a `queuepulse.pbxsim.trace_feed.TracePlayer`, or frames pushed with
`AmiServer.send`) to every client logged in with events on, answers the actions a
collector uses (Login with plain or MD5 secret, Challenge, Logoff, Ping, Events,
QueueStatus, QueueSummary) with the frames Asterisk sends (`queuepulse.pbxsim.ami_session`), and
misbehaves on demand (`queuepulse.pbxsim.faults.Faults`, `AmiServer.restart`,
`AmiServer.refuse`).

Each connection has one reader task that answers actions and one writer task that writes
everything queued to it, in order, in batches: the feed never waits for a socket unless a
client's queue is full, which is also how a slow client slows a full-speed feed down.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass
from types import TracebackType

from queuepulse.pbxsim.ami_session import ServerStats, Session
from queuepulse.pbxsim.event_filter import EventFilter
from queuepulse.pbxsim.faults import NO_FAULTS, Faults
from queuepulse.pbxsim.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class FrameBlock:
    """Event frames ready for the wire, each ended by its blank line, handed over at once.

    A full-speed feed sends thousands of frames a second; rendering and queueing each on
    its own costs the simulated PBX more CPU than the client it measures. Fault plans
    count a block's frames but act only at its end.
    """

    data: bytes
    frames: int


Feed = AsyncIterable[str | FrameBlock | Snapshot]
"""Event frames (text without the blank line that ends them), blocks of ready-made
frames, and snapshot updates."""

_YIELD_EVERY = 512  # frames the feed may send in a row before letting other tasks run


class AmiServer:
    """A simulated PBX's AMI port: ``async with AmiServer(feed) as server`` listens.

    * ``feed``: where events come from; its first item is asked for when the first client
      has logged in with events on. Afterwards, as on a real PBX, events that come while
      no client listens are lost (counted in ``stats.lost``). At full speed that is the
      rest of the feed within moments, so a test that reconnects and expects the stream
      to go on paces its `TracePlayer` or pushes frames with `send`.
    * ``username``/``secret``: the one AMI user (the username is case-insensitive, as in
      Asterisk's manager.conf).
    * ``challenge``: whether the Challenge action is answered (an AMI proxy in between
      may refuse it, leaving only a login with the secret in clear text).
    * ``snapshot``: what QueueStatus and QueueSummary report until the feed updates it.
    * ``event_filter``: the user's ``eventfilter`` lines of manager.conf: the feed's events
      they keep out are not sent (counted in ``stats.filtered``).
    * ``faults``: plans for the next sessions to log in, one each, in order; later
      sessions are healthy.
    * ``uptime``: seconds the PBX has been up when the server starts (FullyBooted's Uptime).
    * ``auth_failure_delay``: Asterisk waits a second before refusing a login.
    * ``host``/``port``: where to listen; port 0 takes a free port (see `port`).
    """

    def __init__(
        self,
        feed: Feed | None = None,
        *,
        username: str = "queuepulse",
        secret: str = "queuepulse",
        challenge: bool = True,
        snapshot: Snapshot | None = None,
        faults: tuple[Faults, ...] = (),
        event_filter: Sequence[str] = (),
        uptime: float = 86400.0,
        auth_failure_delay: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.username = username
        self.secret = secret
        self.challenge = challenge
        self.snapshot = snapshot if snapshot is not None else Snapshot()
        self.auth_failure_delay = auth_failure_delay
        self.stats = ServerStats()
        self._filter = EventFilter(event_filter)
        self.booted_at = time.time() - uptime
        self._feed = feed
        self._faults: deque[Faults] = deque(faults)
        self._host = host
        self._port = port
        self._sessions: set[Session] = set()
        self._listeners: tuple[Session, ...] = ()
        self._someone_listens = asyncio.Event()
        self._tasks = asyncio.TaskGroup()
        self._listener: asyncio.Server | None = None
        self._pump_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._port

    async def __aenter__(self) -> AmiServer:
        await self._tasks.__aenter__()
        try:
            await self._listen()
        except BaseException:
            await self._tasks.__aexit__(None, None, None)
            raise
        if self._feed is not None:
            self._pump_task = self._tasks.create_task(self._pump(self._feed), name="pbxsim.feed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._pump_task is not None:
            self._pump_task.cancel()
        for session in list(self._sessions):
            session.abort()
        await self._tasks.__aexit__(exc_type, exc, traceback)

    async def _listen(self) -> None:
        self._listener = await asyncio.start_server(self._accept, self._host, self._port)
        self._port = self._listener.sockets[0].getsockname()[1]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self._sessions.add(session)
        self.stats.sessions += 1
        self._tasks.create_task(self._serve(session), name="pbxsim.session")

    async def _serve(self, session: Session) -> None:
        try:
            await session.run()
        finally:
            self._sessions.discard(session)

    def listeners_changed(self) -> None:
        """Recompute which sessions take feed events (a session's state changed)."""
        self._listeners = tuple(s for s in self._sessions if s.listening)
        if self._listeners:
            self._someone_listens.set()

    def next_faults(self) -> Faults:
        """The fault plan of a session that has just logged in."""
        return self._faults.popleft() if self._faults else NO_FAULTS

    async def send(self, frame: str) -> None:
        """Send one event frame (text without the blank line) to every listening client.

        Waits only while a client's queue is full. Lost when nobody listens, like an
        event on a real PBX.
        """
        await self.send_block(FrameBlock(f"{frame}\r\n\r\n".encode(), 1))

    async def send_block(self, block: FrameBlock) -> None:
        """Send a block of ready-made event frames, as :meth:`send` sends one."""
        if self._filter:
            block = self._filtered(block)
            if not block.frames:
                return
        listeners = self._listeners
        if not listeners:
            self.stats.lost += block.frames
            return
        for session in listeners:
            if session.push_event(block.data, block.frames):
                await session.wait_for_space()

    def _filtered(self, block: FrameBlock) -> FrameBlock:
        frames = block.data.split(b"\r\n\r\n")[:-1]
        kept = [f for f in frames if self._filter.passes(f.decode("utf-8", "replace"))]
        self.stats.filtered += len(frames) - len(kept)
        return FrameBlock(b"".join(f + b"\r\n\r\n" for f in kept), len(kept))

    async def restart(self, *, snapshot: Snapshot | None = None, down_for: float = 0.0) -> None:
        """Restart the PBX: a clean Shutdown event, every connection closed, a fresh boot.

        Clients logging in afterwards get a FullyBooted with a small Uptime and QueueStatus
        answers from ``snapshot`` (by default the current one as a restart leaves it). With
        ``down_for`` the port refuses connections for that many seconds.
        """
        now = time.time()
        await self.send(
            f"Event: Shutdown\r\nPrivilege: system,all\r\nTimestamp: {now:.6f}\r\n"
            "Shutdown: Cleanly\r\nRestart: True"
        )
        sessions = list(self._sessions)
        for session in sessions:
            session.close_when_flushed()
        self.snapshot = snapshot if snapshot is not None else self.snapshot.after_restart(now)
        self.booted_at = now
        if down_for > 0:
            self.refuse()
        await asyncio.gather(*(session.closed.wait() for session in sessions))
        if down_for > 0:
            await asyncio.sleep(down_for)
            self.booted_at = time.time()
            await self.accept()

    def refuse(self) -> None:
        """Refuse new connections (the port is closed), as a PBX that is down does;
        connections already open stay."""
        if self._listener is not None:
            self._listener.close()

    async def accept(self) -> None:
        """Accept connections again, on the same port."""
        await self._listen()

    async def _pump(self, feed: Feed) -> None:
        await self._someone_listens.wait()
        items = aiter(feed)
        try:
            count = 0
            async for item in items:
                if isinstance(item, Snapshot):
                    self.snapshot = item
                    continue
                if isinstance(item, FrameBlock):
                    await self.send_block(item)
                    count += item.frames
                else:
                    await self.send(item)
                    count += 1
                if count >= _YIELD_EVERY:
                    count = 0
                    await asyncio.sleep(0)
        finally:
            if isinstance(items, AsyncGenerator):
                await items.aclose()
