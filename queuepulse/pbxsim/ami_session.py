"""One AMI connection to the simulated PBX: login, actions, and its ordered writes.

A session reads actions and answers them as Asterisk 20's manager.c does (the same
response lines, in the same order, ActionID echoed), and owns the one writer task through
which everything bound for its client goes: responses, list items, feed events, junk.
Faults are applied as events are queued, so "drop after N" means exactly N.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from queuepulse.pbxsim.faults import NO_FAULTS, Cut, Faults
from queuepulse.pbxsim.snapshot import Snapshot

BANNER = "Asterisk Call Manager/9.0.0"
_QUEUE_LIMIT = 4096  # frames queued to one client before the feed waits for it
_OFF = frozenset({"off", "no", "false", "n", "f", "0"})


@dataclass(slots=True)
class ServerStats:
    """What the server did, for tests and benchmarks."""

    frames: int = 0
    """Frames written to clients: responses, list items, events, junk."""
    events: int = 0
    """Feed events written to clients (a frame written to two clients counts twice)."""
    bytes: int = 0
    """Bytes written to clients, banners included."""
    lost: int = 0
    """Feed events that came while no client listened."""
    filtered: int = 0
    """Feed events the user's event filter kept from the clients."""
    sessions: int = 0
    """Connections accepted."""
    plain_logins: int = 0
    """Logins that sent the secret in clear text (no MD5 challenge)."""


class Host(Protocol):
    """What a session needs from the server that accepted it."""

    username: str
    secret: str
    challenge: bool
    snapshot: Snapshot
    auth_failure_delay: float
    booted_at: float
    stats: ServerStats

    def listeners_changed(self) -> None:
        """A session started or stopped taking feed events."""

    def next_faults(self) -> Faults:
        """The fault plan of a session that has just logged in."""


@dataclass(frozen=True, slots=True)
class _Reply:
    frames: tuple[str, ...]
    close: bool = False
    delay: float = 0.0


def _response(kind: str, action_id: str, *lines: str) -> str:
    head = f"Response: {kind}\r\nActionID: {action_id}" if action_id else f"Response: {kind}"
    return "\r\n".join((head, *lines))


def _headers(lines: list[str]) -> dict[str, str]:
    # Asterisk looks headers up case-insensitively and takes the first of repeated ones
    headers: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            headers.setdefault(key.strip().lower(), value.strip())
    return headers


def _error(action_id: str, message: str) -> _Reply:
    return _Reply((_response("Error", action_id, f"Message: {message}"),))


class Session:
    """One client connection: its login state, its queue of frames and its two tasks."""

    def __init__(
        self, server: Host, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        self.authenticated = False
        self.events_on = True
        self.silent = False
        self.closing = False
        self._challenge = ""
        self._faults = NO_FAULTS
        self._events = 0
        self._pending: list[bytes] = []
        self._pending_events = 0
        self._pending_frames = 0
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self.closed = asyncio.Event()

    @property
    def listening(self) -> bool:
        """Whether feed events are queued to this session."""
        return self.authenticated and self.events_on and not (self.silent or self.closing)

    def push_event(self, data: bytes, events: int = 1) -> bool:
        """Queue ``events`` feed events encoded as ``data``; true when the queue is full and
        the feed should wait."""
        if self.closing or self.silent:
            return False
        self._pending.append(data)
        self._pending_events += events
        self._pending_frames += events
        self._ready.set()
        if self._faults is not NO_FAULTS:
            self._events += events
            extra, cut = self._faults.after_event(self._events)
            self._pending.extend(extra)
            self._pending_frames += len(extra)
            if cut is Cut.DROP:
                self.close_when_flushed()
            elif cut is Cut.SILENCE:
                self.silent = True
                self._server.listeners_changed()
        if self._pending_frames < _QUEUE_LIMIT:
            return False
        self._space.clear()
        return True

    async def wait_for_space(self) -> None:
        """Wait until the writer has taken this session's queue (or the session ended)."""
        await self._space.wait()

    def _push(self, frames: tuple[str, ...]) -> None:
        self._pending.extend(f"{frame}\r\n\r\n".encode() for frame in frames)
        self._pending_frames += len(frames)
        self._ready.set()

    def close_when_flushed(self) -> None:
        """Stop taking events, write what is queued, then close the socket."""
        self.closing = True
        self._ready.set()
        self._server.listeners_changed()

    def abort(self) -> None:
        """Close the socket now, dropping whatever is queued."""
        self._writer.transport.abort()
        self._end()

    def _end(self) -> None:
        self.closing = True
        self.closed.set()
        self._ready.set()
        self._space.set()
        self._server.listeners_changed()

    async def run(self) -> None:
        """Serve the connection until either side closes it."""
        self._writer.write(f"{BANNER}\r\n".encode())
        self._server.stats.bytes += len(BANNER) + 2
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read_actions(), name="pbxsim.session.read")
                tasks.create_task(self._write_frames(), name="pbxsim.session.write")
        finally:
            self._end()

    async def _read_actions(self) -> None:
        lines: list[str] = []
        try:
            while not self.closing:
                line = await self._reader.readline()
                if not line:
                    break
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if text:
                    lines.append(text)
                    continue
                if not lines or self.silent:
                    lines = []
                    continue
                reply = self._answer(_headers(lines))
                lines = []
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                self._push(reply.frames)
                if reply.close:
                    self.close_when_flushed()
        except (OSError, ValueError):
            # a reset, or a line longer than the reader's limit: the client is gone or broken
            pass
        finally:
            if not self.closing:
                self._end()

    async def _write_frames(self) -> None:
        stats = self._server.stats
        try:
            while not self.closed.is_set():
                await self._ready.wait()
                self._ready.clear()
                chunks, self._pending = self._pending, []
                events, self._pending_events = self._pending_events, 0
                frames, self._pending_frames = self._pending_frames, 0
                self._space.set()
                if chunks and not self.closed.is_set():
                    data = b"".join(chunks)
                    stats.frames += frames
                    stats.events += events
                    stats.bytes += len(data)
                    if self._faults.split:
                        await self._write_bytewise(data)
                    else:
                        self._writer.write(data)
                        await self._writer.drain()
                if self.closing and not self._pending:
                    break
            self._writer.close()
        except OSError:
            self._writer.transport.abort()
        finally:
            self._end()

    async def _write_bytewise(self, data: bytes) -> None:
        for index in range(len(data)):
            self._writer.write(data[index : index + 1])
            await self._writer.drain()
            # Each write is its own TCP segment (asyncio sets TCP_NODELAY). Two loop turns let
            # a client in this same loop read it before the next byte comes: in one turn the
            # selector reports the client readable, in the next its read callback runs.
            await asyncio.sleep(0)
            await asyncio.sleep(0)

    def _answer(self, headers: dict[str, str]) -> _Reply:
        action = headers.get("action", "")
        action_id = headers.get("actionid", "")
        if not action:
            return _error(action_id, "Missing action in request")
        name = action.lower()
        if not self.authenticated and name not in ("login", "logoff", "challenge"):
            return _error(action_id, "Permission denied")
        handler = _ACTIONS.get(name)
        if handler is None:
            return _error(
                action_id,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )
        return handler(self, headers, action_id)

    def _login(self, headers: dict[str, str], action_id: str) -> _Reply:
        if self.authenticated:
            return _Reply((_response("Success", action_id, "Message: Already authenticated"),))
        server = self._server
        if headers.get("authtype", "").lower() != "md5":
            server.stats.plain_logins += 1
        if headers.get("username", "").lower() != server.username.lower() or not (
            self._secret_matches(headers)
        ):
            failed = _error(action_id, "Authentication failed")
            return _Reply(failed.frames, close=True, delay=server.auth_failure_delay)
        self.authenticated = True
        self.events_on = headers.get("events", "on").lower() not in _OFF
        self._faults = server.next_faults()
        frames = [_response("Success", action_id, "Message: Authentication accepted")]
        if self.events_on:
            uptime = int(max(0.0, time.time() - server.booted_at))
            frames.append(
                "Event: FullyBooted\r\nPrivilege: system,all\r\n"
                f"Uptime: {uptime}\r\nLastReload: {uptime}\r\nStatus: Fully Booted"
            )
        server.listeners_changed()
        return _Reply(tuple(frames))

    def _secret_matches(self, headers: dict[str, str]) -> bool:
        secret = self._server.secret.encode()
        if headers.get("authtype", "").lower() == "md5":
            key = headers.get("key", "").encode()
            expected = hashlib.md5(self._challenge.encode() + secret).hexdigest().encode()
            return bool(self._challenge) and hmac.compare_digest(key, expected)
        return hmac.compare_digest(headers.get("secret", "").encode(), secret)

    def _challenge_action(self, headers: dict[str, str], action_id: str) -> _Reply:
        if headers.get("authtype", "").lower() != "md5" or not self._server.challenge:
            return _error(action_id, "Must specify AuthType")
        self._challenge = self._challenge or str(secrets.randbelow(2**31))
        return _Reply((_response("Success", action_id, f"Challenge: {self._challenge}"),))

    def _logoff(self, headers: dict[str, str], action_id: str) -> _Reply:
        goodbye = _response("Goodbye", action_id, "Message: Thanks for all the fish.")
        return _Reply((goodbye,), close=True)

    def _ping(self, headers: dict[str, str], action_id: str) -> _Reply:
        pong = _response("Success", action_id, "Ping: Pong", f"Timestamp: {time.time():.6f}")
        return _Reply((pong,), delay=self._faults.pong_delay_s)

    def _events_action(self, headers: dict[str, str], action_id: str) -> _Reply:
        mask = headers.get("eventmask", "").lower()
        if not mask:
            return _error(action_id, "Invalid event mask")
        self.events_on = mask not in _OFF
        self._server.listeners_changed()
        state = "On" if self.events_on else "Off"
        return _Reply((_response("Success", action_id, f"Events: {state}"),))

    def _queue_status(self, headers: dict[str, str], action_id: str) -> _Reply:
        answer = self._server.snapshot.status_answer(action_id, headers.get("queue", ""))
        return _Reply(tuple(answer))

    def _queue_summary(self, headers: dict[str, str], action_id: str) -> _Reply:
        answer = self._server.snapshot.summary_answer(action_id, headers.get("queue", ""))
        return _Reply(tuple(answer))


_ACTIONS: dict[str, Callable[[Session, dict[str, str], str], _Reply]] = {
    "login": Session._login,
    "challenge": Session._challenge_action,
    "logoff": Session._logoff,
    "ping": Session._ping,
    "events": Session._events_action,
    "queuestatus": Session._queue_status,
    "queuesummary": Session._queue_summary,
}
"""The actions the simulated PBX knows, by lower-cased name; any other is unknown."""
