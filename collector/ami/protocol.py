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
sends a hundred thousand a second). A consumer that sets :attr:`AmiProtocol.consumer`
gets each batch within the read's own callback; otherwise batches wait in a buffer for
:meth:`AmiProtocol.take`.

:class:`PrivilegeCheck` reads the ``Privilege`` header of the first events to tell an
operator that the AMI user lacks a read class the tracker needs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from collector.trace import Frame

BANNER_PREFIX = "Asterisk Call Manager/"
_END = "\r\n\r\n"
_END_BYTES = _END.encode()
MAX_FRAME_BYTES = 1 << 20
"""The largest frame kept. Asterisk's largest frames (a member listing with long
variables, a long dialplan variable) are kilobytes; an unterminated megabyte is a broken
or hostile stream, and buffering it on costs memory and, searched again at every read,
time. Not a setting: nothing legitimate comes near it."""
_PAUSE_AT_BYTES = 1 << 20
"""Frame text buffered for the consumer before the socket stops being read."""
_RESUME_AT_BYTES = 1 << 18
REST_S = 0.01
"""How long reading rests by default (``ami.read_rest_s``) after a short read, when a
consumer takes the frames at once:
a PBX sending a thousand events a second in a thousand writes would otherwise cost a
loop wake-up, a read and a pass through the consumer each; after the rest, one read
takes all that came meanwhile. Frames wait at most this long longer."""
_SHORT_READ_BYTES = 1 << 16
"""A read shorter than this left the socket empty: the stream is not at full speed, and
resting costs no throughput (a full-speed stream gives full reads and never rests)."""

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """The frames one socket read completed, in order; they all arrived at ``received_at``."""

    received_at: float
    texts: tuple[str, ...]

    def frames(self) -> list[Frame]:
        """The batch as one :class:`Frame` per text."""
        return [Frame(self.received_at, text) for text in self.texts]


FrameConsumer = Callable[[FrameBatch], None]
"""Takes each batch as its read completes it; must not raise (an error ends the
connection)."""


class FrameSplitter:
    """Cuts an AMI byte stream into frames: the banner line, then blank-line separated text.

    The bytes are cut before they are decoded: a blank line cannot fall inside a UTF-8
    character, so each frame decodes whole however the reads cut it. Only the bytes after
    the last complete frame are kept between reads, and a frame that grows past
    ``max_frame_bytes`` is dropped (counted in :attr:`dropped`) up to its blank line, so
    an unterminated stream costs neither unbounded memory nor time.
    """

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._rest = bytearray()
        self._banner_due = True
        self._skipping = False
        self.bytes = 0
        self.replaced = 0
        """U+FFFD characters put in place of bytes that were not UTF-8."""
        self.dropped = 0
        """Frames dropped for being longer than ``max_frame_bytes``."""
        self.wanted: Callable[[bytes], bool] | None = None
        """Given an event frame's bytes, whether to decode it; ``None`` decodes every frame.
        Most of an unfiltered stream is of no use to its reader: judged on the bytes, it
        costs no decoding and no string."""
        self.skipped = 0
        """Event frames left undecoded because :attr:`wanted` said so."""

    def feed(self, data: bytes) -> list[str]:
        """The frames completed by ``data`` (text without the blank line that ends them)."""
        self.bytes += len(data)
        rest = self._rest
        # a blank line may straddle two reads: search from the last three bytes kept
        search_from = max(0, len(rest) - 3)
        rest += data
        frames: list[str] = []
        if self._banner_due:
            # the banner is one line ended by a single CRLF, unlike every frame after it
            end = rest.find(b"\r\n")
            if end < 0:
                if len(rest) > self.max_frame_bytes:
                    # no AMI server sends that: show the start, so the client can say so
                    frames.append(self._decode(rest[:80]))
                    self._banner_due = False
                    self._drop_rest()
                return frames
            self._banner_due = False
            frames.append(self._decode(rest[:end]))
            del rest[: end + 2]
            search_from = 0
        if self._skipping:
            end = rest.find(_END_BYTES, search_from)
            if end < 0:
                self._drop_rest()
                return frames
            self._skipping = False
            del rest[: end + 4]
            search_from = 0
        end = rest.rfind(_END_BYTES, search_from)
        if end >= 0:
            for part in self._parts(rest[:end]):
                if part.startswith("\r\n"):
                    part = part.lstrip("\r\n")  # noqa: PLW2901 - a stray CRLF between frames
                if len(part) > self.max_frame_bytes:
                    self.dropped += 1
                elif part:
                    frames.append(part)
            del rest[: end + 4]
        if len(rest) > self.max_frame_bytes:
            self.dropped += 1
            self._skipping = True
            self._drop_rest()
        return frames

    def _parts(self, block: bytearray) -> list[str]:
        """The text of the frames in ``block``, those :attr:`wanted` leaves out skipped."""
        wanted = self.wanted
        if wanted is None:
            return self._decode(block).split(_END)
        parts: list[str] = []
        for raw in bytes(block).split(_END_BYTES):
            if raw.startswith(b"Event: ") and not wanted(raw):
                self.skipped += 1
            else:
                parts.append(self._decode(raw))
        return parts

    def _drop_rest(self) -> None:
        # keep the last three bytes: they may begin the blank line that ends the frame
        del self._rest[:-3]

    def _decode(self, data: bytes | bytearray) -> str:
        text = data.decode("utf-8", "replace")
        if "\ufffd" in text:
            self.replaced += text.count("\ufffd")
        return text


class AmiProtocol(AMIProtocol):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's protocol, reading frames our way: every frame to one ordered buffer.

    Responses (``Response: ...``) also go to panoramisk, which resolves the future of the
    action they answer. Reading pauses while more than a megabyte of frames waits for the
    consumer, so a slow consumer slows the PBX's socket down instead of filling memory.
    """

    def __init__(self, clock: Clock, max_frame_bytes: int = MAX_FRAME_BYTES,
                 rest_s: float = REST_S) -> None:
        super().__init__()
        self._clock = clock
        self._rest_s = rest_s
        self.splitter = FrameSplitter(max_frame_bytes)
        self.batches: deque[FrameBatch] = deque()
        self.ready = asyncio.Event()
        self.banner: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.frames = 0
        self.heard = time.monotonic()
        """When bytes last arrived (monotonic clock): any of them proves the link alive."""
        self.paused = False
        """Whether reading is paused because the consumer is behind."""
        self.consumer: FrameConsumer | None = None
        """Takes each batch at once, in place of the buffer."""
        self.failure: BaseException | None = None
        """What the consumer raised, if it did (the connection was ended then)."""
        self._buffered = 0
        self._resting: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        """Cut the bytes into frames and queue them, stamped with the time they arrived."""
        self.heard = time.monotonic()
        splitter = self.splitter
        dropped, skipped = splitter.dropped, splitter.skipped
        texts = splitter.feed(data)
        if not texts:
            if splitter.dropped != dropped or splitter.skipped != skipped:
                # no frame, but news for the consumer: frames came (left undecoded, or
                # dropped for their length), so the stream was alive at this moment
                self._hand(FrameBatch(self._clock(), ()))
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
        self._hand(FrameBatch(at, tuple(texts)))
        if self.consumer is not None and self._rest_s > 0 and len(data) < _SHORT_READ_BYTES:
            self._rest()

    def _hand(self, batch: FrameBatch) -> None:
        """Give the batch to the consumer, or buffer it for :meth:`take`."""
        consumer = self.consumer
        if consumer is not None:
            try:
                consumer(batch)
            except Exception as error:  # the session's bug: end the connection, say why
                self.failure = error
                self.abort(f"the frames' consumer failed: {error!r}")
            return
        self.batches.append(batch)
        self._buffered += sum(map(len, batch.texts))
        self.ready.set()
        if self._buffered >= _PAUSE_AT_BYTES:
            self.pause()

    def _rest(self) -> None:
        if self._resting is None and not self.lost.done():
            self.transport.pause_reading()
            self._resting = asyncio.get_running_loop().call_later(self._rest_s, self._rested)

    def _rested(self) -> None:
        self._resting = None
        if not self.paused and not self.lost.done():
            self.transport.resume_reading()

    def take(self) -> FrameBatch | None:
        """The oldest batch the consumer has not taken, if any; reading resumes once the
        consumer has caught up."""
        if not self.batches:
            return None
        batch = self.batches.popleft()
        self._buffered -= sum(map(len, batch.texts))
        if self._buffered <= _RESUME_AT_BYTES:
            self.resume()
        return batch

    def pause(self) -> None:
        """Stop reading the socket: the consumer is behind (the PBX's sends then wait)."""
        if not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        """Read the socket again after :meth:`pause` (once a rest is over)."""
        if self.paused and not self.lost.done():
            self.paused = False
            if self._resting is None:
                self.transport.resume_reading()

    def abort(self, reason: str) -> None:
        """Drop the connection now (no FIN handshake to wait for), recording why."""
        if not self.lost.done():
            self.lost.set_result(reason)
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        """Record why the connection ended; panoramisk's reconnect timer is not used."""
        self.closed = True
        if self._resting is not None:
            self._resting.cancel()
            self._resting = None
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
