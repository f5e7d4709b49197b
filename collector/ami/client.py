"""One AMI connection as an ``async with`` object, and the one loop that keeps one open.

:class:`AmiConnection` connects (through ``panoramisk.Manager``), checks the banner, logs
in with an MD5 challenge (the secret never crosses the wire; a PBX that refuses the
challenge gets the secret in clear only when ``ami.allow_plain_login`` says so), pings,
and hands on the frames it reads, in order, in the batches they arrived in (yielded by
:meth:`AmiConnection.frames`, or given to a consumer by :meth:`AmiConnection.deliver`). Any bytes
received prove the link alive; a ping interval without any after a Ping (while reading
was not paused by queuepulse itself) aborts the connection, so a PBX that vanished
without closing the socket is noticed within two ping intervals, and a long burst that
holds the Pong back is not taken for silence.

:func:`follow` is the reconnect loop: connect, hand the connection to a session, and when
it ends wait a :class:`~collector.backoff.Backoff` delay and start again. A refused
login (:class:`AmiLoginRefused`) ends it, unless asked to retry it: a manager reload
refuses logins for a moment, so the daemon retries, but slowly (from
``ami.reconnect_max_s`` up to ten times that), since a wrong secret stays wrong.

This module and :mod:`collector.ami.protocol` are the only ones that import panoramisk;
what leaves them is our own types: :class:`~collector.ami.protocol.FrameBatch`,
:class:`AmiResponse` and the exceptions below.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import structlog
from panoramisk import Manager

from collector.ami.protocol import BANNER_PREFIX, AmiProtocol, Clock, FrameBatch, FrameConsumer
from collector.ami.settings import AmiConfig
from collector.backoff import Backoff
from collector.errors import UserError
from collector.throttle import Throttle

log = structlog.get_logger("collector.ami")

# panoramisk logs the text of an action it failed to send, and a Login action may hold
# the secret: its logger is kept away from every handler.
_PANORAMISK_LOG = logging.getLogger("collector.ami.panoramisk")
_PANORAMISK_LOG.addHandler(logging.NullHandler())
_PANORAMISK_LOG.propagate = False

_FIRST_RETRY_S = 1.0
"""The first reconnect waits up to a second: Asterisk restarting takes seconds, and a PBX
that takes each login and drops it again is not worth hammering. The cap is
``ami.reconnect_max_s``."""

_REFUSED_GROWTH = 10.0
"""A refused login is retried after up to ``ami.reconnect_max_s`` at first, growing to ten
times that (five minutes by default): soon enough after a manager reload, rare enough
for a secret that is wrong."""
REFUSED_REPORT_S = 600.0
"""One ``ami.login_refused`` warning per this long, with the count of refusals."""

_REACH_FIX = (
    "Check ami.host and ami.port, that Asterisk is running, and that manager.conf has "
    "enabled = yes with this port and a bindaddr this host can reach"
)


class AmiLoginRefused(UserError):
    """The PBX refused our username and secret."""


class AmiPlainLoginRefused(UserError):
    """The PBX refused the MD5 challenge, and sending the secret in clear is not allowed."""


class AmiUnavailable(Exception):
    """The PBX could not be reached, spoke no AMI, or the connection ended: worth retrying."""

    event = "ami.unreachable"


class AmiConnectionLost(AmiUnavailable):
    """An established connection ended (closed, reset, or silent past a ping interval)."""

    event = "ami.connection_lost"


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """The answer to an action."""

    success: bool
    message: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str:
        """The value of one header (case-insensitive), or ``""``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), "")


def _response(message: Any) -> AmiResponse:
    headers = tuple(
        (str(key), value if isinstance(value, str) else ",".join(value))
        for key, value in message.items()
        if key != "content"
    )
    return AmiResponse(
        success=str(message.get("Response", "")) in ("Success", "Follows", "Goodbye"),
        message=str(message.get("Message", "")),
        headers=headers,
    )


class _Manager(Manager):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's Manager for a single connection: its reconnect and ping timers unused."""

    pinger: asyncio.TimerHandle | None

    def connection_made(self, future: asyncio.Future[Any]) -> None:
        # a failed or timed-out connect is reported to whoever awaits the connect task;
        # panoramisk's own handler would schedule a reconnect behind our back
        if future.cancelled() or future.exception() is not None:
            return
        super().connection_made(future)
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None


class AmiConnection:
    """``async with AmiConnection(config) as ami``: one logged-in AMI connection."""

    def __init__(self, config: AmiConfig, clock: Clock = time.time) -> None:
        self.config = config
        self.address = f"{config.host}:{config.port}"
        self.version = ""
        """The AMI protocol version from the banner, e.g. ``9.0.0``."""
        self._clock = clock
        self._protocol: AmiProtocol | None = None
        self._keepalive: asyncio.Task[None] | None = None

    @property
    def protocol(self) -> AmiProtocol:
        """The protocol of the open connection (its counters: bytes, frames, replaced)."""
        if self._protocol is None:
            raise AmiConnectionLost(f"no AMI connection to {self.address}")
        return self._protocol

    async def __aenter__(self) -> AmiConnection:
        config = self.config
        manager = _Manager(
            host=config.host,
            port=config.port,
            ssl=config.tls,
            loop=asyncio.get_running_loop(),
            log=_PANORAMISK_LOG,
            protocol_factory=lambda: AmiProtocol(self._clock, rest_s=config.read_rest_s),
        )
        try:
            await asyncio.wait_for(manager.connect(), config.connect_timeout_s)
        except TimeoutError as error:
            raise AmiUnavailable(
                f"cannot reach AMI at {self.address}: no answer within "
                f"{config.connect_timeout_s:g} s. {_REACH_FIX}"
            ) from error
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno and error.errno > 0 else (
                error.strerror or str(error))
            raise AmiUnavailable(
                f"cannot reach AMI at {self.address} ({reason}). {_REACH_FIX}"
            ) from error
        # the connect task's done-callback (Manager.connection_made) ran before we resumed
        self._protocol = manager.protocol
        try:
            await self._greet()
        except BaseException:
            self.protocol.abort("login did not complete")
            raise
        self._keepalive = asyncio.create_task(self._ping(), name="ami.keepalive")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        protocol = self._protocol
        if protocol is not None and not protocol.lost.done():
            protocol.send({"Action": "Logoff"}, as_list=False)
            protocol.lost.set_result("logged off")
            protocol.transport.close()

    async def _greet(self) -> None:
        protocol = self.protocol
        banner = await self._answer(protocol.banner, "greeting", self.config.connect_timeout_s)
        if not banner.startswith(BANNER_PREFIX):
            raise AmiUnavailable(
                f"{self.address} is not an Asterisk manager port: it sent {banner[:40]!r}. "
                "Check ami.port (Asterisk's default is 5038)"
            )
        self.version = banner[len(BANNER_PREFIX) :].strip()
        config = self.config
        challenge = await self.action("Challenge", AuthType="MD5")
        if challenge.success and challenge.header("Challenge"):
            key = hashlib.md5(
                (challenge.header("Challenge") + config.secret.value).encode(),
                usedforsecurity=False,
            ).hexdigest()
            login = await self.action(
                "Login", AuthType="MD5", Username=config.username, Key=key, Events=config.events
            )
        else:
            answer = challenge.message or "no challenge given"
            if not config.allow_plain_login:
                raise AmiPlainLoginRefused(
                    f"AMI at {self.address} refused the MD5 challenge ({answer}), and "
                    "queuepulse sends ami.secret in clear text only with "
                    "ami.allow_plain_login = true: set it only if the network to the PBX "
                    "is trusted or ami.tls is on"
                )
            log.warning("ami.plain_login", address=self.address, answer=answer,
                        detail="the MD5 challenge was refused: the secret goes in clear "
                               "text (ami.allow_plain_login = true)")
            login = await self.action(
                "Login", Username=config.username, Secret=config.secret.value,
                Events=config.events,
            )
        if not login.success:
            raise AmiLoginRefused(
                f"AMI login refused for user {config.username} at {self.address} "
                f"({login.message or 'no reason given'}): check ami.username / ami.secret "
                "and manager.conf"
            )

    async def _answer(self, future: asyncio.Future[Any], what: str, timeout: float) -> Any:
        lost = self.protocol.lost
        done, _ = await asyncio.wait(
            {future, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if future in done:
            return future.result()
        if lost in done:
            raise AmiConnectionLost(
                f"AMI at {self.address} ended the connection before the {what}: {lost.result()}"
            )
        raise AmiConnectionLost(f"no answer to {what} from {self.address} within {timeout:g} s")

    def _send(self, name: str, headers: dict[str, str]) -> asyncio.Future[Any]:
        protocol = self.protocol
        if protocol.lost.done():
            raise AmiConnectionLost(f"AMI connection to {self.address} is closed")
        future: asyncio.Future[Any] = protocol.send({"Action": name, **headers}, as_list=False)
        return future

    async def action(self, name: str, timeout: float | None = None, **headers: str) -> AmiResponse:
        """Send an action and wait for its response (list items arrive with the frames)."""
        future = self._send(name, headers)
        message = await self._answer(
            future, f"{name} action", timeout or self.config.connect_timeout_s
        )
        return _response(message)

    def request(self, name: str, on_answer: Callable[[AmiResponse], None], **headers: str) -> None:
        """Send an action without waiting; ``on_answer`` gets its response when it comes."""

        def answered(future: asyncio.Future[Any]) -> None:
            if not future.cancelled() and future.exception() is None:
                on_answer(_response(future.result()))

        self._send(name, headers).add_done_callback(answered)

    async def frames(self) -> AsyncIterator[FrameBatch]:
        """The frames read, banner first, in arrival order, a batch per socket read; raises
        when the connection ends."""
        protocol = self.protocol
        while True:
            while (batch := protocol.take()) is not None:
                yield batch
            if protocol.lost.done():
                raise AmiConnectionLost(
                    f"lost the AMI connection to {self.address}: {protocol.lost.result()}"
                )
            protocol.ready.clear()
            await protocol.ready.wait()

    async def deliver(self, consumer: FrameConsumer) -> None:
        """Hand the frames read, banner first, in arrival order, to ``consumer``: a batch
        per socket read, within the read's own callback (no queue, no task switch per
        read). Raises when the connection ends."""
        protocol = self.protocol
        while (batch := protocol.take()) is not None:
            consumer(batch)
        protocol.consumer = consumer
        try:
            reason = await asyncio.shield(protocol.lost)
        finally:
            protocol.consumer = None
        if protocol.failure is not None:
            raise protocol.failure
        raise AmiConnectionLost(f"lost the AMI connection to {self.address}: {reason}")

    async def _ping(self) -> None:
        interval = self.config.ping_interval_s
        # a Pong takes milliseconds; hearing anything within 3/4 of an interval of a Ping
        # keeps the worst case (silence right after a check) under two intervals
        patience = 0.75 * interval
        protocol = self.protocol
        next_ping = time.monotonic() + interval
        while not protocol.lost.done():
            await asyncio.sleep(max(0.0, next_ping - time.monotonic()))
            sent = time.monotonic()
            next_ping = sent + interval
            try:
                self._send("Ping", {}).add_done_callback(_ignore_answer)
            except AmiConnectionLost:
                return
            await asyncio.sleep(patience)
            # reading paused by queuepulse itself holds the Pong back: no verdict then
            if protocol.heard < sent and not protocol.paused:
                protocol.abort(
                    f"nothing received within {patience:g} s of a Ping: the PBX or the "
                    "network went silent without closing the connection"
                )
                return


def _ignore_answer(future: asyncio.Future[Any]) -> None:
    """The Pong itself tells nothing more than any other bytes received."""
    if not future.cancelled():
        future.exception()


Session = Callable[[AmiConnection], Awaitable[None]]


async def follow(
    config: AmiConfig,
    session: Session,
    *,
    clock: Clock = time.time,
    on_down: Callable[[str], None] | None = None,
    retry_refused: bool = False,
) -> None:
    """Keep an AMI connection open and hand each one to ``session``.

    When the connection cannot be made or ends, the problem is logged (address, reason,
    attempt, delay), ``on_down`` is told, and the loop waits before reconnecting. It
    returns when ``session`` returns. A refused login raises :class:`AmiLoginRefused`,
    or with ``retry_refused`` is logged (one warning per :data:`REFUSED_REPORT_S`) and
    tried again after a long delay.
    """
    backoff = Backoff(cap_s=config.reconnect_max_s, first_s=_FIRST_RETRY_S)
    refused = Backoff(cap_s=_REFUSED_GROWTH * config.reconnect_max_s,
                      first_s=config.reconnect_max_s, jitter=_upper_half)
    refusals = Throttle(REFUSED_REPORT_S)
    address = f"{config.host}:{config.port}"
    while True:
        try:
            async with AmiConnection(config, clock) as ami:
                backoff.reset()
                refused.reset()
                log.info("ami.connected", address=ami.address, version=ami.version,
                         username=config.username)
                await session(ami)
                return
        except AmiLoginRefused as problem:
            if not retry_refused:
                raise
            delay = refused.next()
            count = refusals.hit(time.monotonic())
            if count:
                log.warning("ami.login_refused", address=address, error=str(problem),
                            refusals=count, attempt=refused.attempt,
                            retry_in_s=round(delay, 2))
            if on_down is not None:
                on_down(f"{problem}; retrying in {delay:.0f} s")
        except AmiUnavailable as problem:
            delay = backoff.next()
            log.warning(problem.event, address=address, error=str(problem),
                        attempt=backoff.attempt, retry_in_s=round(delay, 2))
            if on_down is not None:
                on_down(str(problem))
        await asyncio.sleep(delay)


def _upper_half() -> float:
    """Jitter between half and all of the ceiling: a refused login is never retried soon."""
    return 0.5 + random.random() / 2
