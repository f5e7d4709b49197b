"""Watching the collector from outside: when each call reaches SQLite and the broker.

A reader thread polls the ``calls`` table (a second connection, as Datasette or a report
would open it) and notes when each call's final row (``phase`` done: a call's row is
written as it goes) first becomes visible, i.e. committed. An MQTT subscriber notes when
each call's final message arrives, and what the all-queues KPI
snapshot says at each update.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiomqtt

from bench.pbx import call_key
from kpi.mqtt.topics import Topics

KPI_WINDOW = "60m"
"""The window whose ``offered`` count shows a call reaching the KPIs (a short run stays
inside it whatever the time of day, unlike ``today``)."""

_POLL_S = 0.01


@dataclass(slots=True)
class Seen:
    """When each call was first seen where it should arrive (epoch seconds)."""

    stored: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)
    published_order: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    kpi_updates: list[tuple[float, int]] = field(default_factory=list)
    """(arrival, offered) of each update of the all-queues KPI topic."""


class Observer:
    """``async with Observer(database, topics, mqtt_port) as seen``: watching until exit.

    ``mqtt_port`` ``None`` watches SQLite only.
    """

    def __init__(self, database: Path, topics: Topics, mqtt_port: int | None) -> None:
        self.seen = Seen()
        self._database = database
        self._topics = topics
        self._mqtt_port = mqtt_port
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="bench-sqlite-reader",
                                        daemon=True)
        self._subscriber: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Seen:
        self._poller.start()
        if self._mqtt_port is not None:
            subscribed = asyncio.get_running_loop().create_future()
            self._subscriber = asyncio.create_task(self._subscribe(subscribed),
                                                   name="bench-mqtt-subscriber")
            await subscribed
        return self.seen

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._subscriber is not None:
            self._subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._subscriber
        await asyncio.to_thread(self._poller.join)

    async def _subscribe(self, subscribed: asyncio.Future[None]) -> None:
        """Note call records and KPI updates, reconnecting if the broker goes away (calls
        published while this client is reconnecting are not seen)."""
        while True:
            try:
                await self._follow(subscribed)
            except aiomqtt.MqttError:
                if not subscribed.done():
                    raise
                await asyncio.sleep(_POLL_S)

    async def _follow(self, subscribed: asyncio.Future[None]) -> None:
        assert self._mqtt_port is not None
        topics = self._topics
        kpi_topic = topics.kpi(None, KPI_WINDOW)
        seen = self.seen
        async with aiomqtt.Client("127.0.0.1", self._mqtt_port,
                                  identifier="queuepulse-bench-observer") as client:
            await client.subscribe(topics.call, qos=1)
            await client.subscribe(kpi_topic, qos=1)
            if not subscribed.done():
                subscribed.set_result(None)
            async for message in client.messages:
                arrived = time.time()
                if not isinstance(message.payload, bytes):
                    continue
                body = json.loads(message.payload)
                if message.topic.matches(kpi_topic):
                    seen.kpi_updates.append((arrived, int(body["offered"])))
                elif body.get("phase", "done") == "done":
                    key = call_key(body["uniqueid"], body["queue"])
                    if key not in seen.published:
                        seen.published[key] = arrived
                        seen.published_order.append(key)
                        seen.outcomes[key] = body["outcome"]

    def _poll(self) -> None:
        connection: sqlite3.Connection | None = None
        last = 0
        stored = self.seen.stored
        going: set[str] = set()
        """Calls whose row is not final yet."""
        try:
            while not self._stop.wait(_POLL_S):
                if connection is None:
                    connection = self._connect()
                    if connection is None:
                        continue
                try:
                    rows = connection.execute(
                        "SELECT rowid, uniqueid, queue, phase FROM calls WHERE rowid > ? "
                        "ORDER BY rowid", (last,),
                    ).fetchall()
                    # a call's row is written as it goes: final once its phase is done
                    still = {call_key(*row) for row in connection.execute(
                        "SELECT uniqueid, queue FROM calls WHERE phase != 'done'")
                    } if going else set()
                except sqlite3.OperationalError:
                    continue  # the daemon is still creating the schema
                now = time.time()
                for key in going - still:
                    stored.setdefault(key, now)
                going &= still
                for rowid, uniqueid, queue, phase in rows:
                    key = call_key(uniqueid, queue)
                    if phase == "done":
                        stored.setdefault(key, now)
                    else:
                        going.add(key)
                    last = rowid
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection | None:
        if not self._database.exists():
            return None
        try:
            return sqlite3.connect(f"file:{self._database}?mode=ro", uri=True,
                                   check_same_thread=False)
        except sqlite3.OperationalError:
            return None
