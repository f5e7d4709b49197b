"""The board a running service publishes, read back from its broker's retained topics.

:class:`RetainedBoard` follows every topic under ``<prefix>/`` and turns the latest
payloads back into the board's own objects (:mod:`kpi.mqtt.retained`), for ``queuepulse
top``: the same KPIs, live queue state and agent states the service publishes.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import aiomqtt

from collector.backoff import Backoff
from collector.errors import UserError
from kpi.mqtt.retained import ami_link, board_from_retained, updated_at
from kpi.mqtt.settings import FIRST_RETRY_S, MqttConfig
from kpi.mqtt.topics import Topics, unescape
from kpi.present.screens import Screen

_SETTLE_S = 1.0
"""With --once, retained messages are taken as complete after this long without one."""
_ANSWER_S = 5.0
"""How long ``top`` waits for the broker to answer, and with --once for the first figures:
someone is watching the terminal, and a broker that is not there is better said soon."""


class RetainedBoard:
    """The latest payload of every topic under ``<prefix>/``, kept by :meth:`run`."""

    def __init__(self, settings: MqttConfig, host: str, port: int, pbx: str | None) -> None:
        self.host, self.port = host, port
        self.retained: dict[str, bytes] = {}
        self.connected = asyncio.Event()
        self.last_message = 0.0
        self._mqtt = settings
        self._prefix = settings.prefix
        self._pbx = pbx
        self._stamp: tuple[float, float] | None = None

    @property
    def address(self) -> str:
        """The broker, as ``host:port``."""
        return f"{self.host}:{self.port}"

    def _client(self) -> aiomqtt.Client:
        mqtt = self._mqtt
        return aiomqtt.Client(self.host, self.port, username=mqtt.username or None,
                              password=mqtt.password.value or None, timeout=_ANSWER_S,
                              tls_context=ssl.create_default_context() if mqtt.tls else None)

    async def run(self) -> None:
        """Follow the broker until cancelled; raises :class:`UserError` if it is never reached."""
        backoff = Backoff(cap_s=self._mqtt.reconnect_max_s, first_s=FIRST_RETRY_S)
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(f"{self._prefix}/#", qos=1)
                    self.connected.set()
                    backoff.reset()
                    async for message in client.messages:
                        self._take(message.topic.value, message.payload)
            except aiomqtt.MqttError as error:
                if not self.connected.is_set():
                    raise UserError(
                        f"cannot reach the MQTT broker at {self.address} ({error}). Start "
                        "it, or give the broker queuepulse publishes to (--mqtt HOST:PORT "
                        "or mqtt.host in --config)."
                    ) from error
            await asyncio.sleep(backoff.next())

    def _take(self, topic: str, payload: Any) -> None:
        self.last_message = time.monotonic()
        if not isinstance(payload, bytes) or not payload:
            self.retained.pop(topic, None)
            return
        self.retained[topic] = payload
        stamp = updated_at(payload)
        if stamp is not None and (self._stamp is None or stamp >= self._stamp[0]):
            self._stamp = (stamp, time.monotonic())

    def pbx_ids(self) -> list[str]:
        """The PBX ids whose topics the broker holds."""
        start = self._prefix + "/"
        return sorted({unescape(t[len(start):].split("/", 1)[0]) for t in self.retained
                       if t.startswith(start)})

    def topics(self) -> Topics | None:
        """The topics of the PBX shown: the configured one, else the first the broker has."""
        if self._pbx is not None:
            return Topics(self._prefix, self._pbx)
        ids = self.pbx_ids()
        return Topics(self._prefix, ids[0]) if ids else None

    def now(self) -> float:
        """PBX time now: the newest figures' time, plus the time since they arrived."""
        if self._stamp is None:
            return time.time()
        stamp, mark = self._stamp
        return stamp + (time.monotonic() - mark)

    def screen(self) -> Screen | None:
        """The board the retained topics describe, or ``None`` while there are none."""
        topics = self.topics()
        if topics is None:
            return None
        snapshot = board_from_retained(topics, self.retained, self.now())
        if not snapshot.kpis and not snapshot.queues:
            return None
        status = self.retained.get(topics.status, b"").decode(errors="replace")
        note = " (queuepulse offline)" if status == "offline" else ""
        link = ami_link(self.retained[topics.ami]) if topics.ami in self.retained else None
        return Screen(snapshot, f"mqtt {self.address} {topics.base}{note}", link=link)

    def missing(self) -> str:
        """Why there is nothing to show, with what to check."""
        where = f"{self._prefix}/{self._pbx or '<pbx.id>'}/"
        return (f"no queuepulse figures under {where} on the MQTT broker at {self.address}. "
                "Is queuepulse running with [mqtt] enabled = true, publishing to this broker "
                "(and with this pbx.id and mqtt.prefix)?")

    async def settled(self) -> None:
        """Wait until the retained messages have arrived (a short quiet spell after them)."""
        await asyncio.wait_for(self.connected.wait(), _ANSWER_S)
        deadline = time.monotonic() + _ANSWER_S
        start = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            quiet_since = max(self.last_message, start)
            if time.monotonic() - quiet_since >= _SETTLE_S and self.screen() is not None:
                return
