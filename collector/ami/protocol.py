"""The AMI byte stream cut into frames, and panoramisk's protocol class made to deliver them.

:class:`FrameSplitter` is sans-I/O: bytes in, frame texts out. It decodes UTF-8
incrementally, so a character whose bytes arrive in two TCP reads (a Hebrew caller name
cut mid-letter) comes out whole; bytes that are not UTF-8 become U+FFFD and are counted,
never dropped.

:class:`AmiProtocol` plugs into ``panoramisk.Manager`` through its ``protocol_factory``
hook. panoramisk still serialises actions and matches responses to them; everything
else it would do with a read (decode with ``errors="ignore"``, build a dict per frame,
dispatch each event through regular expressions, maybe as a task of its own) is replaced
by handing the raw frames, in order, to one consumer: one :class:`FrameBatch` per socket
read, the frames' texts with the time they arrived (not an object per frame: a busy PBX
sends a hundred thousand a second).

:class:`PrivilegeCheck` reads the ``Privilege`` header of the first events to tell an
operator that the AMI user lacks a read class the tracker needs.
"""

from __future__ import annotations

import asyncio
import codecs
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from collector.trace import Frame

BANNER_PREFIX = "Asterisk Call Manager/"
_END = "\r\n\r\n"
_PAUSE_AT = 256  # batches buffered before the socket stops being read
_RESUME_AT = 16

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """The frames one socket read completed, in order; they all arrived at ``received_at``."""

    received_at: float
    texts: tuple[str, ...]

    def frames(self) -> list[Frame]:
        """The batch as one :class:`Frame` per text."""
        return [Frame(self.received_at, text) for text in self.texts]


class FrameSplitter:
    """Cuts an AMI byte stream into frames: the banner line, then blank-line separated text."""

    def __init__(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        self._rest = ""
        self._banner_due = True
        self.bytes = 0
        self.replaced = 0
        """U+FFFD characters put in place of bytes that were not UTF-8."""

    def feed(self, data: bytes) -> list[str]:
        """The frames completed by ``data`` (text without the blank line that ends them)."""
        self.bytes += len(data)
        text = self._decode(data)
        if "\ufffd" in text:
            self.replaced += text.count("\ufffd")
        if self._rest:
            text = self._rest + text
        frames: list[str] = []
        if self._banner_due:
            # the banner is one line ended by a single CRLF, unlike every frame after it
            end = text.find("\r\n")
            if end < 0:
                self._rest = text
                return frames
            self._banner_due = False
            frames.append(text[:end])
            text = text[end + 2 :]
        parts = text.split(_END)
        self._rest = parts.pop()
        for part in parts:
            if part.startswith("\r\n"):
                part = part.lstrip("\r\n")  # noqa: PLW2901 - a stray CRLF between frames
            if part:
                frames.append(part)
        return frames


class AmiProtocol(AMIProtocol):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's protocol, reading frames our way: every frame to one ordered buffer.

    Responses (``Response: ...``) also go to panoramisk, which resolves the future of the
    action they answer. Reading pauses while the consumer is far behind, so a slow
    consumer slows the PBX's socket down instead of filling memory.
    """

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock
        self.splitter = FrameSplitter()
        self.batches: deque[FrameBatch] = deque()
        self.ready = asyncio.Event()
        self.banner: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.frames = 0
        self._paused = False

    def data_received(self, data: bytes) -> None:
        """Cut the bytes into frames and queue them, stamped with the time they arrived."""
        texts = self.splitter.feed(data)
        if not texts:
            return
        at = self._clock()
        if not self.banner.done():
            self.banner.set_result(texts[0])
        self.frames += len(texts)
        for text in texts:
            if text.startswith("Response:"):
                message = Message.from_line(text)
                if message is not None:
                    self.handle_message(message)
        self.batches.append(FrameBatch(at, tuple(texts)))
        self.ready.set()
        if len(self.batches) >= _PAUSE_AT and not self._paused:
            self._paused = True
            self.transport.pause_reading()

    def taken(self) -> None:
        """The consumer took a batch: read the socket again once it has caught up."""
        if self._paused and len(self.batches) <= _RESUME_AT and not self.lost.done():
            self._paused = False
            self.transport.resume_reading()

    def abort(self, reason: str) -> None:
        """Drop the connection now (no FIN handshake to wait for), recording why."""
        if not self.lost.done():
            self.lost.set_result(reason)
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        """Record why the connection ended; panoramisk's reconnect timer is not used."""
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(f"connection closed ({exc})" if exc else "connection closed")
        self.ready.set()


def _privilege(frame: str) -> str | None:
    start = frame.find("\r\nPrivilege: ")
    if start < 0:
        return None
    start += 13
    end = frame.find("\r\n", start)
    return frame[start:] if end < 0 else frame[start:end]


class PrivilegeCheck:
    """Watches the ``Privilege`` header of the first events for read classes that never come.

    Asterisk does not say which classes a user may read; it just leaves events out. Queue
    events (QueueCallerJoin, AgentConnect, ...) are class ``agent``; hang-ups and holds
    are class ``call``. When ``sample`` events have come and one of the two classes was
    never among them, that class is reported as missing, once.
    """

    NEEDED = ("agent", "call")

    def __init__(self, sample: int = 200) -> None:
        self._sample = sample
        self._seen: set[str] = set()
        self._count = 0
        self.done = False

    def observe(self, frame: str) -> tuple[str, ...]:
        """Look at one frame; return the classes found missing (empty until decided)."""
        classes = _privilege(frame)
        if classes is None:
            return ()
        self._count += 1
        self._seen.update(classes.split(","))
        if all(c in self._seen for c in self.NEEDED):
            self.done = True
            return ()
        if self._count < self._sample:
            return ()
        self.done = True
        return tuple(c for c in self.NEEDED if c not in self._seen)
