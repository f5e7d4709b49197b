"""The MQTT shell: publishes the board's KPIs, live state, agent states and finished calls.

Decisions live elsewhere (the board computes, :mod:`kpi.mqtt.payloads` renders); this module
only keeps a connection and sends. Its reconnection is aiomqtt's documented pattern: a
plain loop around ``async with Client(...)`` that catches :class:`aiomqtt.MqttError` and
waits a :class:`~collector.backoff.Backoff` delay (at most ``mqtt.reconnect_max_s``).
While the broker is away the daemon carries on (calls are stored in SQLite regardless);
finished calls wait in a bounded buffer, and on reconnecting every retained topic is
published again, since a restarted broker may have lost them.

Retained topics are coalesced per topic (:mod:`kpi.mqtt.pacing`): a cycle renders every
retained message and sends those whose body changed since it was last sent on this
connection, unless that topic was sent less than a cycle (``mqtt.kpi_interval_s``) ago;
such a topic waits for the end of its cycle. A finished call or agent interval starts a
cycle at once for its queue, so the first change of a quiet queue goes out at once, and
a busy queue's at most once a cycle. A cycle also runs every cycle regardless, for what
time alone changes (waits, rolling windows); an agent's KPI topics, which time alone
changes for every logged-in agent, are sent only when something happened to the agent.

A cycle does only the work that changed: with neither a fact nor an event since the
last cycle (the board and the live view as they were) it takes no snapshot; the board
computes a queue's call figures again only when a call of that queue changed or a window
boundary passed; and a topic's payload is rendered again only when what it shows changed
(:mod:`kpi.mqtt.rendered`).

Nothing that goes wrong in here reaches the daemon: an unexpected error (a bug, a payload
the client library refuses) is logged, counted in :attr:`MqttPublisher.errors` and ends
the connection, which is made again after a delay that grows to
:data:`FAULT_RETRY_MAX_S`. Topics are built from escaped, length-limited names
(:mod:`kpi.mqtt.topics`); a payload over :data:`MAX_PAYLOAD_BYTES` is not sent, and
counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Self, TypeVar

import aiomqtt
import structlog

from collector.ami.link import AmiLink
from collector.backoff import Backoff
from collector.errors import UserError
from collector.facts import AgentInterval, CallRecord, Fact, Phase
from collector.live import LiveView
from collector.throttle import Throttle
from kpi.board import BoardSnapshot, KpiBoard
from kpi.mqtt.homeassistant import (
    discovery_messages,
    project_support_url,
    queuepulse_version,
)
from kpi.mqtt.pacing import Pacing
from kpi.mqtt.payloads import (
    Message,
    ami_message,
    call_message,
    heartbeat_message,
)
from kpi.mqtt.rendered import RetainedRenderer
from kpi.mqtt.settings import FIRST_RETRY_S, MqttConfig
from kpi.mqtt.topics import Topics

log = structlog.get_logger("queuepulse.mqtt")
T = TypeVar("T")

ONLINE = "online"
OFFLINE = "offline"
QOS = 1
# CONNACK refusals for credentials: MQTT 3.1.1 codes, and their MQTT 5 reason names
_REFUSALS = {"4", "5", "Bad user name or password", "Not authorized"}
OPERATION_TIMEOUT_S = 10.0
"""How long the broker may take to acknowledge a publish or a subscription. A broker that
takes longer is stuck or cut off: the connection is dropped and made again (which
resends every retained topic), so a longer wait would only keep the figures stale."""
CALL_BUFFER = 10_000
"""Finished calls kept for the broker while it is away; older ones are dropped first.
Every call is in SQLite regardless: the buffer only bounds the memory an outage costs
(a few MB), so it is not a setting."""
_OFFLINE_WITHIN_S = 2.0
"""How long stopping waits to tell the broker ``offline``; a broker that does not take it
by then gets the last will instead, and stopping stays well within TimeoutStopSec."""
RETAINED_CHUNK = 500
"""Retained messages in flight at once: a full resend (thousands of agents' topics) goes
out in chunks, so that it never holds thousands of publishes and their buffers at once."""
MAX_PAYLOAD_BYTES = 256 * 1024
"""The largest payload sent. The largest queuepulse makes (a call with long caller names,
the live state of a queue with many pause reasons) is a few kilobytes; one far bigger
comes from names no PBX should have, and brokers refuse messages past their own limit
(often 256 KB on hosted ones) by dropping the connection."""
FAULT_RETRY_MAX_S = 60.0
"""After an unexpected error, the connection is made again after a delay growing to
this: a fault that repeats must not turn into a reconnect loop that floods the broker."""
_STABLE_S = 60.0
"""A connection that lasted this long resets the delays of unexpected errors."""
_REPORT_EVERY_S = 60.0
"""One log line per this long about repeated trouble, with its count."""

MessageSource = Callable[[], Iterable[Message]]
"""Retained messages the board does not make (the AMI link's state, ...), rendered at
every cycle and sent when they change, like the board's."""


class MqttSetupError(UserError):
    """The MQTT settings cannot be used (e.g. TLS cannot be set up)."""


async def _bounded(call: Awaitable[T], within_s: float = OPERATION_TIMEOUT_S) -> T:
    """Await an aiomqtt call (made with ``timeout=math.inf``) for at most ``within_s``.

    aiomqtt bounds its calls with ``asyncio.wait_for``, which in Python 3.11 can swallow a
    cancellation that arrives together with the broker's answer, so that stopping the
    daemon would hang; ``asyncio.timeout`` does not.
    """
    async with asyncio.timeout(within_s):
        return await call


async def _put(client: aiomqtt.Client, topic: str, payload: str | bytes, *, retain: bool,
               within_s: float = OPERATION_TIMEOUT_S) -> None:
    """Publish with QoS 1 and wait for the broker's acknowledgement."""
    await _bounded(client.publish(topic, payload, qos=QOS, retain=retain, timeout=math.inf),
                   within_s)


def _fix_for(error: BaseException) -> str:
    """What to check when the broker cannot be reached or refuses queuepulse."""
    if isinstance(error, aiomqtt.MqttCodeError) and str(error.rc) in _REFUSALS:
        return "check mqtt.username and mqtt.password (or the broker's ACL for them)"
    if isinstance(error, TimeoutError):
        return "the broker does not answer: check mqtt.port and mqtt.tls"
    return "check mqtt.host and mqtt.port, and that the broker is running"


def snapshot_messages(topics: Topics, snapshot: BoardSnapshot, *,
                      agent_kpis: bool = True) -> list[Message]:
    """Every retained message a board snapshot gives (without the agents' KPIs if asked)."""
    return RetainedRenderer(topics).messages(snapshot, agent_kpis=agent_kpis)


class MqttPublisher:
    """Keeps the broker up to date with the board; run :meth:`run` as a task.

    ``live`` returns the tracker's current live view; its time is the KPIs' "now".
    """

    def __init__(self, settings: MqttConfig, pbx_id: str, board: KpiBoard,
                 live: Callable[[], LiveView], link: Callable[[], AmiLink] | None = None
                 ) -> None:
        self.topics = Topics(settings.prefix, pbx_id)
        self.board = board
        """The board published; the daemon puts another in its place when settings change."""
        self.connected = False
        self.calls_sent = 0
        """Call messages the broker acknowledged: every revision of a call's record."""
        self.finals_sent = 0
        """Of those, the final records (``phase`` done): one per call."""
        self.calls_dropped = 0
        self.connections = 0
        self.errors = 0
        """Unexpected errors (each ended a connection)."""
        self.payloads_dropped = 0
        """Messages not sent because their payload was over :data:`MAX_PAYLOAD_BYTES`."""
        self.cycles = 0
        """KPI cycles run: each sends the retained messages that changed."""
        self.snapshots = 0
        """Board snapshots taken: a cycle with neither a fact nor an event since the last
        one (the board and the live view unchanged) takes none and renders nothing."""
        self.sources: list[MessageSource] = []
        """Further retained messages to keep the broker up to date with."""
        self._link = link
        if link is not None:
            self.sources.append(lambda: (ami_message(self.topics, link()),))
        self._mqtt = settings
        self._pbx_id = pbx_id
        self._live = live
        self._cycle_s = settings.kpi_interval_s
        self._calls: deque[CallRecord] = deque()
        self._pacing = Pacing(self.topics, settings.kpi_interval_s)
        self._renderer = RetainedRenderer(self.topics)
        self._shown: tuple[KpiBoard, int, LiveView, BoardSnapshot, list[Message]] | None = None
        self._wake = asyncio.Event()
        self._announce = False
        self._announced: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] = ((), ())
        self._say_online = False
        self._closing = False
        self._tls: ssl.SSLContext | None = None
        self._started = time.monotonic()
        self._faults = Throttle(_REPORT_EVERY_S)
        self._oversized = Throttle(_REPORT_EVERY_S)

    async def __aenter__(self) -> Self:
        if self._mqtt.tls:
            try:
                self._tls = ssl.create_default_context()
            except ssl.SSLError as error:
                raise MqttSetupError(
                    f"cannot set up TLS for MQTT ({error}). Check the system's CA "
                    "certificates, or set mqtt.tls = false for a plain connection."
                ) from error
        self._started = time.monotonic()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._closing = True
        log.info("mqtt.closed", calls_sent=self.calls_sent, finals_sent=self.finals_sent,
                 calls_dropped=self.calls_dropped, calls_unsent=len(self._calls))

    def facts(self, facts: Iterable[Fact]) -> None:
        """A fact sink: queue each finished call among ``facts`` for its ``call`` event, and
        have the KPIs the facts change published soon."""
        for fact in facts:
            if isinstance(fact, CallRecord):
                self.call_finished(fact)
            elif isinstance(fact, AgentInterval) and fact.ended_at is not None:
                self._pacing.agent_changed(fact.interface)
                self._wake.set()

    def call_finished(self, record: CallRecord) -> None:
        """Queue a finished call for its ``call`` event; never blocks."""
        if len(self._calls) >= CALL_BUFFER:
            self._calls.popleft()
            self.calls_dropped += 1
        self._calls.append(record)
        self._pacing.call_finished(record)
        self._wake.set()

    def wake(self) -> None:
        """Something a :attr:`sources` renders has changed: run a cycle soon."""
        self._wake.set()

    async def run(self) -> None:
        """Stay connected to the broker and keep it up to date, until cancelled."""
        backoff = Backoff(cap_s=self._mqtt.reconnect_max_s, first_s=FIRST_RETRY_S)
        faults = Backoff(cap_s=FAULT_RETRY_MAX_S, first_s=1.0)
        while True:
            error: BaseException | None = None
            began = time.monotonic()
            try:
                async with self._client() as client:
                    backoff.reset()
                    await self._session(client)
            except* (aiomqtt.MqttError, TimeoutError) as group:
                error = group.exceptions[0]
            except* Exception as group:  # a fault here must never reach the collector
                self._fault(group.exceptions[0])
            finally:
                self.connected = False
            if self._closing:
                # a failed disconnect while stopping must not turn into a reconnect
                raise asyncio.CancelledError
            if time.monotonic() - began >= _STABLE_S:
                faults.reset()
            if error is None:
                delay = faults.next()
            else:
                delay = backoff.next()
                # one warning per outage; the retries of a long outage are debug detail
                report = log.warning if backoff.attempt == 1 else log.debug
                report("mqtt.unavailable", host=self._mqtt.host, port=self._mqtt.port,
                       error=str(error) or type(error).__name__, attempt=backoff.attempt,
                       retry_in_s=round(delay, 2), fix=_fix_for(error))
            await asyncio.sleep(delay)

    def _fault(self, error: BaseException) -> None:
        """Count an unexpected error, and log it (one line per minute with the count)."""
        self.errors += 1
        count = self._faults.hit(time.monotonic())
        if count:
            log.error("mqtt.publish_failed", errors=count, total=self.errors,
                      error=type(error).__name__,
                      detail="calls are stored regardless; MQTT reconnects and carries on",
                      exc_info=error)

    def _client(self) -> aiomqtt.Client:
        mqtt = self._mqtt
        return aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username or None,
            password=mqtt.password.value or None,
            identifier=mqtt.client_id or f"queuepulse-{self._pbx_id}",
            will=aiomqtt.Will(self.topics.status, OFFLINE, qos=QOS, retain=True),
            keepalive=mqtt.keepalive_s,
            timeout=OPERATION_TIMEOUT_S,
            tls_context=self._tls,
            max_concurrent_outgoing_calls=10,
        )

    async def _session(self, client: aiomqtt.Client) -> None:
        """One connection's life: announce, then keep publishing until it breaks."""
        self.connected = True
        self.connections += 1
        self._pacing.connected()
        self._announce, self._announced = self._mqtt.homeassistant, ((), ())
        log.info("mqtt.connected", host=self._mqtt.host, port=self._mqtt.port,
                 connections=self.connections)
        try:
            # the listener notices a lost connection at once, so it starts first: an
            # unanswered subscription or publish would only time out
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._listen(client), name="mqtt-listen")
                tasks.create_task(self._publish(client), name="mqtt-publish")
        except asyncio.CancelledError:
            self._closing = True
            # a graceful disconnect discards the last will, so say offline ourselves
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await _put(client, self.topics.status, OFFLINE, retain=True,
                           within_s=_OFFLINE_WITHIN_S)
            raise

    async def _listen(self, client: aiomqtt.Client) -> None:
        """Notice a lost connection at once; note Home Assistant restarting and a stale
        last will saying offline, for the publishing task to answer.

        It never waits for the broker itself, or it could not notice the broker is gone.
        """
        ha_status = f"{self._mqtt.homeassistant_prefix}/status"
        async for message in client.messages:
            payload = message.payload
            text = payload.decode(errors="replace") if isinstance(payload, bytes) else ""
            if message.topic.matches(ha_status) and text == ONLINE:
                log.info("mqtt.homeassistant_online")
                self._announce = True
                self._wake.set()
            elif message.topic.matches(self.topics.status) and text == OFFLINE:
                self._say_online = True
                self._wake.set()

    async def _publish(self, client: aiomqtt.Client) -> None:
        """Announce, then send calls as they finish and changed retained topics at most
        once a second each."""
        await _bounded(client.subscribe(self.topics.status, qos=QOS, timeout=math.inf))
        if self._mqtt.homeassistant:
            await _bounded(client.subscribe(f"{self._mqtt.homeassistant_prefix}/status",
                                            qos=QOS, timeout=math.inf))
        await _put(client, self.topics.status, ONLINE, retain=True)
        loop = asyncio.get_running_loop()
        next_cycle = loop.time()
        next_heartbeat = loop.time() + self._mqtt.heartbeat_s
        while True:
            if self._say_online and not self._closing:
                self._say_online = False
                await _put(client, self.topics.status, ONLINE, retain=True)
            await self._send_calls(client)
            now = loop.time()
            pacing = self._pacing
            if now >= min(next_cycle, pacing.held_until, pacing.changes_due()):
                await self._cycle(client, now)
                next_cycle = now + self._cycle_s
            if now >= next_heartbeat:
                await self._heartbeat(client)
                next_heartbeat = now + self._mqtt.heartbeat_s
            self._wake.clear()
            if self._calls or self._say_online:
                continue
            wake_at = min(next_cycle, next_heartbeat, pacing.held_until, pacing.changes_due())
            # asyncio.timeout, unlike wait_for in 3.11, never loses a cancellation that
            # arrives as the event is set
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wake_at - loop.time())):
                    await self._wake.wait()

    async def _send_calls(self, client: aiomqtt.Client) -> None:
        """Send the queued calls, oldest first, many in flight at once.

        Waiting for each acknowledgement before the next publish would cost a round trip
        to the broker per call. A call leaves the queue once the broker has acknowledged
        it, so a connection lost midway sends the unacknowledged ones again (QoS 1 is at
        least once anyway); the broker keeps them in order.
        """
        while self._calls:
            chunk = list(itertools.islice(self._calls, RETAINED_CHUNK))
            messages = [call_message(self.topics, record) for record in chunk]
            await self._put_all(client, [(m.topic, m.payload(), False) for m in messages])
            for _ in chunk:
                self._calls.popleft()
            self.calls_sent += len(chunk)
            self.finals_sent += sum(record.phase is Phase.DONE for record in chunk)

    async def _cycle(self, client: aiomqtt.Client, now: float) -> None:
        """Send the retained messages that changed, holding back those sent within the
        last cycle until their cycle is over."""
        pacing = self._pacing
        pacing.cycle_started()
        self.cycles += 1
        messages = [message for source in self.sources for message in source()]
        live = self._live()
        queues: tuple[str, ...] | None = None
        alerts: tuple[tuple[str, str], ...] = ()
        if live.at > 0:  # else no event seen yet: there is no "now" to compute KPIs at
            try:
                snapshot, shown = self._snapshot(live)
                messages += [*shown, *pacing.agent_kpis(snapshot)]
            except Exception:
                # a bug in one figure must not stop the calls and the other figures
                log.exception("mqtt.snapshot_failed", at=live.at)
                return
            queues = tuple(sorted({k.queue for k in snapshot.kpis if k.queue is not None}))
            alerts = tuple((a.queue, a.kind.value) for a in snapshot.alerts)
        if self._mqtt.homeassistant and queues is not None and (
                self._announce or (queues, alerts) != self._announced):
            await self._send_all(client, discovery_messages(
                self.topics, queues, self._mqtt.homeassistant_prefix, queuepulse_version(),
                project_support_url(), alerts=alerts, ami=self._link is not None),
                at=None, now=now)
            self._announce, self._announced = False, (queues, alerts)
        await self._send_all(client, pacing.due(messages, now), at=live.at, now=now)

    def _snapshot(self, live: LiveView) -> tuple[BoardSnapshot, list[Message]]:
        """The board's snapshot at ``live`` and its retained messages (the agents' KPIs
        aside); the last cycle's when neither a fact nor an event came since."""
        board, shown = self.board, self._shown
        if (shown is not None and shown[0] is board and shown[1] == board.changes
                and shown[2] == live):
            return shown[3], shown[4]
        snapshot = board.snapshot(live)
        messages = self._renderer.messages(snapshot, agent_kpis=False)
        self._shown = (board, board.changes, live, snapshot, messages)
        self.snapshots += 1
        return snapshot, messages

    async def _send_all(self, client: aiomqtt.Client, messages: Sequence[Message],
                        at: float | None, now: float) -> None:
        """Send retained messages concurrently, :data:`RETAINED_CHUNK` at a time, and note
        what each topic last carried."""
        for first in range(0, len(messages), RETAINED_CHUNK):
            chunk = messages[first:first + RETAINED_CHUNK]
            await self._put_all(client, [(m.topic, m.payload(at), m.retain) for m in chunk])
            self._pacing.sent(chunk, now)

    async def _put_all(self, client: aiomqtt.Client,
                       publishes: Sequence[tuple[str, bytes, bool]]) -> None:
        """Publish (topic, payload, retain) messages concurrently; raise the first error.

        One time limit covers them all: a limit per message costs a timer each. A payload
        over :data:`MAX_PAYLOAD_BYTES` is left out, counted and logged.
        """
        results = await _bounded(asyncio.gather(
            *(client.publish(topic, payload, qos=QOS, retain=retain, timeout=math.inf)
              for topic, payload, retain in publishes if self._fits(topic, payload)),
            return_exceptions=True))
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _fits(self, topic: str, payload: bytes) -> bool:
        if len(payload) <= MAX_PAYLOAD_BYTES:
            return True
        self.payloads_dropped += 1
        count = self._oversized.hit(time.monotonic())
        if count:
            log.warning("mqtt.payload_too_large", topic=topic[:200], bytes=len(payload),
                        limit_bytes=MAX_PAYLOAD_BYTES, dropped=count,
                        total=self.payloads_dropped)
        return False

    async def _heartbeat(self, client: aiomqtt.Client) -> None:
        message = heartbeat_message(self.topics, self._live().at,
                                    time.monotonic() - self._started, self.calls_sent,
                                    self.calls_dropped, len(self._calls), self.errors)
        await _put(client, message.topic, message.payload(), retain=False)
