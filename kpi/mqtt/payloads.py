"""MQTT payloads: the JSON queuepulse publishes, version ``SCHEMA`` (see docs/mqtt.md).

Every JSON payload is an object with ``schema`` (bumped on any incompatible change),
``pbx`` and the figures; times are UTC epoch seconds, durations seconds, ratios between 0
and 1, and ``null`` means "no data" (e.g. a service level with no calls yet). A message's
body leaves out the moment it was published, so that an unchanged figure is recognised as
unchanged; :meth:`Message.payload` stamps ``updated_at`` in when it is sent.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from collector.ami.link import AmiLink
from collector.facts import CallRecord
from collector.live import LiveAgent
from kpi.alerts import Alert
from kpi.board import AgentSnapshot, KpiSnapshot
from kpi.callbacks import CallbacksPending
from kpi.live_state import QueueLive
from kpi.mqtt.topics import Topics
from kpi.present.formats import rounded

SCHEMA = 1


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message: topic, JSON body (without its publication time) and retain flag."""

    topic: str
    body: str
    retain: bool
    stamped: bool = True

    def payload(self, at: float | None = None) -> bytes:
        """The bytes to send: the body, with ``updated_at`` first when stamped with ``at``."""
        if not self.stamped or at is None:
            return self.body.encode()
        return ('{"updated_at": ' + json.dumps(round(at, 3)) + ", " + self.body[1:]).encode()


def _json(fields: dict[str, Any]) -> str:
    return json.dumps(fields, ensure_ascii=False)


def _figures(value: object) -> dict[str, Any]:
    """A frozen dataclass's fields, rounded for publication."""
    assert dataclasses.is_dataclass(value) and not isinstance(value, type)
    return {f.name: rounded(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)}


def kpi_message(topics: Topics, snapshot: KpiSnapshot) -> Message:
    """Retained KPIs of a queue (or all queues) over a window."""
    window = snapshot.window
    fields: dict[str, Any] = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "queue": snapshot.queue,
        "window": window.name,
        "since": round(window.start, 3) if window.name == "today" else None,
        **_figures(snapshot.calls),
        "service_level_target": rounded("service_level_target", snapshot.service_level_target),
    }
    center = snapshot.center
    if center is not None:
        fields.update({
            "agents": center.agents,
            "agents_logged_in_s": rounded("_s", center.logged_in_s),
            "agents_paused_s": rounded("_s", center.paused_s),
            "agents_busy_s": rounded("_s", center.busy_s),
            "occupancy": rounded("occupancy", center.occupancy),
            "cost_per_call": rounded("cost_per_call", center.cost_per_call),
        })
    return Message(topics.kpi(snapshot.queue, window.name), _json(fields), retain=True)


def whole_seconds(seconds: float | None) -> int | None:
    """A duration as the whole seconds a payload shows (``None`` stays ``None``)."""
    return None if seconds is None else int(seconds)


def live_message(topics: Topics, queue: QueueLive) -> Message:
    """Retained live state of a queue (or all queues): who waits, and the agents."""
    agents = _figures(queue.agents)
    agents["paused_by_reason"] = {p.reason: p.agents for p in queue.agents.paused_by_reason}
    fields = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "queue": queue.queue,
        "waiting": queue.waiting,
        "longest_wait_s": whole_seconds(queue.longest_wait_s),
        "oldest_entered_at": rounded("oldest_entered_at", queue.oldest_entered_at),
        "connected": queue.connected,
        "agents": agents,
    }
    return Message(topics.live(queue.queue), _json(fields), retain=True)


def callbacks_message(topics: Topics, pending: CallbacksPending) -> Message:
    """Retained count of the callers of a queue (or all queues) who gave up today and were
    not reached yet."""
    fields = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "queue": pending.queue,
        "pending": pending.callers,
        "oldest_abandoned_at": rounded("oldest_abandoned_at", pending.oldest_abandoned_at),
    }
    return Message(topics.callbacks(pending.queue), _json(fields), retain=True)


def alert_message(topics: Topics, alert: Alert) -> Message:
    """Retained state of one alert rule of a queue: raised or not, and the figure it reads."""
    fields = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "queue": alert.queue,
        "alert": alert.kind.value,
        "active": alert.active,
        "since": rounded("since_at", alert.since),
        "value": rounded("value", alert.value),
        "threshold": rounded("threshold", float(alert.threshold)),
        "clear": rounded("clear", float(alert.clear)),
        "agents": list(alert.agents),
    }
    return Message(topics.alert(alert.queue, alert.kind.value), _json(fields), retain=True)


def agent_state_message(topics: Topics, agent: LiveAgent) -> Message:
    """Retained current state of an agent."""
    fields = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "interface": agent.interface,
        "name": agent.name,
        "state": agent.state.value,
        "queue": agent.queue,
        "reason": agent.reason,
        "since": round(agent.since, 3),
        "memberships": [
            {"queue": m.queue, "paused": m.paused, "reason": m.reason or None}
            for m in agent.memberships
        ],
    }
    return Message(topics.agent_state(agent.interface), _json(fields), retain=True)


def agent_kpi_message(topics: Topics, snapshot: AgentSnapshot) -> Message:
    """Retained KPIs of an agent over a window."""
    kpis = snapshot.kpis
    figures = _figures(kpis)
    figures["pauses"] = {p.reason: rounded("_s", p.seconds) for p in kpis.pauses}
    fields = {"schema": SCHEMA, "pbx": topics.pbx, "window": snapshot.window.name, **figures}
    return Message(topics.agent_kpi(kpis.interface, snapshot.window.name), _json(fields),
                   retain=True)


def call_message(topics: Topics, record: CallRecord) -> Message:
    """A finished call's full record (the ``calls`` row), not retained."""
    fields = {"schema": SCHEMA, "pbx": topics.pbx, **record.as_row()}
    return Message(topics.call, _json(fields), retain=False, stamped=False)


def heartbeat_message(topics: Topics, at: float, uptime_s: float, calls_sent: int,
                      calls_dropped: int, calls_pending: int, errors: int = 0) -> Message:
    """A periodic sign of life, not retained."""
    fields = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "at": round(at, 3),
        "uptime_s": round(uptime_s, 1),
        "calls_sent": calls_sent,
        "calls_dropped": calls_dropped,
        "calls_pending": calls_pending,
        "errors": errors,
    }
    return Message(topics.heartbeat, _json(fields), retain=False, stamped=False)


def ami_message(topics: Topics, link: AmiLink) -> Message:
    """Retained state of the AMI connection: while it is ``disconnected`` every figure is
    frozen at ``since``."""
    fields = {
        "schema": SCHEMA,
        "pbx": topics.pbx,
        "state": link.state,
        "since": round(link.since, 3),
        "address": link.address,
        "problem": link.problem,
    }
    return Message(topics.ami, _json(fields), retain=True, stamped=False)
