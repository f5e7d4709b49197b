"""The retained MQTT topics read back into a board snapshot, for a wallboard beside the service.

``queuepulse top --mqtt`` subscribes to ``<prefix>/<pbx>/#`` and hands the latest payload
of each topic to :func:`board_from_retained`, which rebuilds the same objects the live
board makes (:class:`~kpi.board.KpiSnapshot`, :class:`~kpi.live_state.QueueLive`,
:class:`~collector.live.LiveAgent`, :class:`~kpi.alerts.Alert`), so one renderer serves
both. Payloads follow docs/mqtt.md (schema :data:`kpi.mqtt.payloads.SCHEMA`); a topic
whose payload cannot be read (another schema, not JSON) is left out. Agent KPI topics
are not read: the wallboard does not show them.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from collector.ami.link import AmiLink
from collector.facts import AgentState
from collector.live import LiveAgent, LiveMembership
from kpi.alerts import Alert, AlertKind
from kpi.board import BoardSnapshot, KpiSnapshot
from kpi.definitions import CallKpis
from kpi.live_state import AgentCounts, PauseCount, QueueLive
from kpi.mqtt.payloads import SCHEMA
from kpi.mqtt.topics import Topics, unescape
from kpi.settings import DEFAULT_SERVICE_LEVEL_TARGET
from kpi.windows import Window, live_window

_UTC = ZoneInfo("UTC")
_CALL_FIELDS = typing.get_type_hints(CallKpis)


def payload_json(payload: bytes) -> dict[str, Any] | None:
    """A queuepulse JSON payload of the schema this version reads, else ``None``."""
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(value, dict) or value.get("schema") != SCHEMA:
        return None
    return value


def updated_at(payload: bytes) -> float | None:
    """When a retained payload was published (its ``updated_at``), if it says."""
    value = payload_json(payload)
    stamp = None if value is None else value.get("updated_at")
    return float(stamp) if isinstance(stamp, int | float) else None


def ami_link(payload: bytes) -> AmiLink | None:
    """The AMI connection's state a retained ``<base>/ami`` payload tells, if it can be read."""
    fields = payload_json(payload)
    if fields is None:
        return None
    try:
        return AmiLink(fields["state"] == "connected", float(fields["since"]),
                       str(fields.get("address") or ""), fields.get("problem"))
    except (KeyError, TypeError, ValueError):
        return None


def _call_kpis(fields: Mapping[str, Any]) -> CallKpis:
    values: dict[str, Any] = {}
    for name, kind in _CALL_FIELDS.items():
        value = fields.get(name)
        if kind is int:
            values[name] = int(value or 0)
        elif kind is float:
            values[name] = float(value or 0.0)
        else:
            values[name] = None if value is None else float(value)
    return CallKpis(**values)


def _kpi(queue: str | None, fields: Mapping[str, Any]) -> KpiSnapshot:
    name = str(fields["window"])
    end = float(fields.get("updated_at") or 0.0)
    since = fields.get("since")
    window = (Window(name, float(since), end) if since is not None
              else live_window(name, end, _UTC))
    # a publisher older than the field: the default target
    target = fields.get("service_level_target")
    return KpiSnapshot(queue, window, _call_kpis(fields), None,
                       DEFAULT_SERVICE_LEVEL_TARGET if target is None else float(target))


def _queue_live(queue: str | None, fields: Mapping[str, Any], at: float) -> QueueLive:
    agents = fields.get("agents") or {}
    oldest = fields.get("oldest_entered_at")
    reasons = agents.get("paused_by_reason") or {}
    return QueueLive(
        queue=queue,
        at=at,
        waiting=int(fields.get("waiting") or 0),
        longest_wait_s=None if oldest is None else max(0.0, at - float(oldest)),
        oldest_entered_at=None if oldest is None else float(oldest),
        connected=int(fields.get("connected") or 0),
        agents=AgentCounts(
            **{f.name: int(agents.get(f.name) or 0) for f in dataclasses.fields(AgentCounts)
               if f.name != "paused_by_reason"},
            paused_by_reason=tuple(PauseCount(str(r), int(n)) for r, n in sorted(reasons.items())),
        ),
    )


def _agent(fields: Mapping[str, Any]) -> LiveAgent:
    return LiveAgent(
        interface=str(fields["interface"]),
        name=str(fields.get("name") or fields["interface"]),
        state=AgentState(fields["state"]),
        queue=fields.get("queue"),
        reason=fields.get("reason"),
        since=float(fields["since"]),
        memberships=tuple(
            LiveMembership(str(m["queue"]), bool(m.get("paused")), str(m.get("reason") or ""))
            for m in fields.get("memberships") or ()
        ),
    )


def _alert(fields: Mapping[str, Any]) -> Alert:
    def number(name: str) -> float | None:
        value = fields.get(name)
        return None if value is None else float(value)

    return Alert(queue=str(fields["queue"]), kind=AlertKind(fields["alert"]),
                 active=bool(fields["active"]), since=number("since"), value=number("value"),
                 threshold=float(fields["threshold"]), clear=float(fields["clear"]),
                 agents=tuple(str(a) for a in fields.get("agents") or ()))


def board_from_retained(topics: Topics, retained: Mapping[str, bytes], at: float) -> BoardSnapshot:
    """The board the retained payloads under ``topics.base`` describe, as of ``at``.

    ``retained`` maps each topic to its latest payload (an empty payload clears a topic);
    waiting times and agents' timers are counted to ``at``.
    """
    base = topics.base + "/"
    kpis: list[KpiSnapshot] = []
    queues: list[QueueLive] = []
    agents: list[LiveAgent] = []
    alerts: list[Alert] = []
    for topic, payload in sorted(retained.items()):
        if not topic.startswith(base):
            continue
        levels = topic[len(base):].split("/")
        fields = payload_json(payload)
        if fields is None:
            continue
        try:
            match levels:
                case ["all", "kpi", _]:
                    kpis.append(_kpi(None, fields))
                case ["queue", queue, "kpi", _]:
                    kpis.append(_kpi(unescape(queue), fields))
                case ["all", "live"]:
                    queues.append(_queue_live(None, fields, at))
                case ["queue", queue, "live"]:
                    queues.append(_queue_live(unescape(queue), fields, at))
                case ["agent", _, "state"]:
                    agents.append(_agent(fields))
                case ["queue", _, "alert", _]:
                    alerts.append(_alert(fields))
        except (KeyError, TypeError, ValueError):
            continue  # a payload this version cannot read is left out, like a foreign one
    return BoardSnapshot(at=at, kpis=tuple(kpis), queues=tuple(queues), agents=tuple(agents),
                         agent_kpis=(), alerts=tuple(alerts))
