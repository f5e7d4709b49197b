"""The MQTT topic scheme (a public interface; see docs/mqtt.md).

Everything lives under ``<mqtt.prefix>/<pbx.id>``. Queue names and agent interfaces may
hold characters MQTT gives a meaning to (``/`` separates levels, ``+`` and ``#`` are
wildcards) or forbids (NUL), so they are percent-escaped into one topic level:
``Local/201@from-queue/n`` becomes ``Local%2F201@from-queue%2Fn``. :func:`unescape`
reverses it. An empty name is the level ``%`` (never the escape of a name), and a level
longer than :data:`MAX_LEVEL_BYTES` is cut, with a hash of the whole name appended, so
that a topic stays far below MQTT's 65,535 bytes and distinct names keep distinct topics.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

_ESCAPES = {"%": "%25", "/": "%2F", "+": "%2B", "#": "%23"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
EMPTY = "%"
"""The level of an empty name."""
MAX_LEVEL_BYTES = 200
"""The longest level a name becomes, in UTF-8 bytes."""
_HASH_CHARS = 12


@functools.lru_cache(maxsize=4096)
def escape(name: str) -> str:
    """A queue or agent name as one safe topic level (remembered for the names in use:
    every KPI cycle names the topics of every queue and agent again)."""
    if not name:
        return EMPTY
    escaped = "".join(_ESCAPES.get(ch, ch) for ch in name)
    # control characters (NUL above all) have no place in a topic
    escaped = _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", escaped)
    # a topic starting with $ is reserved for the broker's own
    escaped = "%24" + escaped[1:] if escaped.startswith("$") else escaped
    if len(escaped.encode()) <= MAX_LEVEL_BYTES:
        return escaped
    digest = hashlib.sha1(name.encode(errors="surrogatepass")).hexdigest()[:_HASH_CHARS]
    cut = escaped.encode()[: MAX_LEVEL_BYTES - _HASH_CHARS - 1].decode(errors="ignore")
    # never end inside an escape: "%2" would read as something else
    cut = re.sub(r"%[0-9A-F]?$", "", cut)
    return f"{cut}~{digest}"


def unescape(level: str) -> str:
    """The name a topic level was made from (a cut one: its start and hash)."""
    if level == EMPTY:
        return ""
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
    def ami(self) -> str:
        """Retained state of the AMI connection."""
        return f"{self.base}/ami"

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
