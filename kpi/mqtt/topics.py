"""The MQTT topic scheme (a public interface; see docs/mqtt.md).

Everything lives under ``<mqtt.prefix>/<pbx.id>``. Queue names and agent interfaces may
hold characters MQTT gives a meaning to (``/`` separates levels, ``+`` and ``#`` are
wildcards), so they are percent-escaped into one topic level: ``Local/201@from-queue/n``
becomes ``Local%2F201@from-queue%2Fn``. :func:`unescape` reverses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPES = {"%": "%25", "/": "%2F", "+": "%2B", "#": "%23"}


def escape(name: str) -> str:
    """A queue or agent name as one safe topic level."""
    escaped = "".join(_ESCAPES.get(ch, ch) for ch in name)
    # a topic starting with $ is reserved for the broker's own
    return "%24" + escaped[1:] if escaped.startswith("$") else escaped


def unescape(level: str) -> str:
    """The name a topic level was made from."""
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), level)


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic queuepulse publishes to, for one PBX."""

    prefix: str
    pbx: str

    @property
    def base(self) -> str:
        """``<prefix>/<pbx>``: the root of every topic."""
        return f"{self.prefix}/{escape(self.pbx)}"

    @property
    def status(self) -> str:
        """Retained ``online`` / ``offline`` (the last will)."""
        return f"{self.base}/status"

    @property
    def heartbeat(self) -> str:
        """A periodic, non-retained sign of life with counters."""
        return f"{self.base}/heartbeat"

    @property
    def call(self) -> str:
        """One non-retained message per finished call, with its full record."""
        return f"{self.base}/call"

    def kpi(self, queue: str | None, window: str) -> str:
        """Retained KPI snapshot of a queue (``None``: all queues) over a window."""
        return f"{self._queue(queue)}/kpi/{window}"

    def live(self, queue: str | None) -> str:
        """Retained live state of a queue (``None``: all queues)."""
        return f"{self._queue(queue)}/live"

    def callbacks(self, queue: str | None) -> str:
        """Retained count of a queue's (``None``: all queues') callers to call back."""
        return f"{self._queue(queue)}/callbacks"

    def alert(self, queue: str, kind: str) -> str:
        """Retained state of one alert rule of a queue."""
        return f"{self._queue(queue)}/alert/{kind}"

    def agent_state(self, interface: str) -> str:
        """Retained current state of an agent."""
        return f"{self.base}/agent/{escape(interface)}/state"

    def agent_kpi(self, interface: str, window: str) -> str:
        """Retained KPIs of an agent over a window."""
        return f"{self.base}/agent/{escape(interface)}/kpi/{window}"

    def _queue(self, queue: str | None) -> str:
        return f"{self.base}/all" if queue is None else f"{self.base}/queue/{escape(queue)}"
