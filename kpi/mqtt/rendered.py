"""The retained messages of the board's snapshots, each rendered only when it changed.

A KPI cycle renders every retained topic, but at a steady pace most of them show what
they showed a cycle ago: the figures of a queue no call of which changed, an agent whose
state did not change. :class:`RetainedRenderer` remembers, per topic, what the last
message was rendered from, and renders (builds and encodes the JSON of) only the
messages whose inputs differ; the others are the very messages of the last cycle. The
inputs compared are exactly what each payload function in :mod:`kpi.mqtt.payloads`
reads, so a message is the same whether rendered again or not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from kpi.board import BoardSnapshot, KpiSnapshot
from kpi.live_state import QueueLive
from kpi.mqtt.payloads import (
    Message,
    agent_kpi_message,
    agent_state_message,
    alert_message,
    callbacks_message,
    kpi_message,
    live_message,
    whole_seconds,
)
from kpi.mqtt.topics import Topics

T = TypeVar("T")


def _kpi_shown(snapshot: KpiSnapshot) -> object:
    window = snapshot.window
    return (window.start if window.name == "today" else None, snapshot.calls, snapshot.center,
            snapshot.service_level_target)


def _live_shown(queue: QueueLive) -> object:
    return (queue.waiting, whole_seconds(queue.longest_wait_s), queue.oldest_entered_at,
            queue.connected, queue.agents)


class RetainedRenderer:
    """Renders a snapshot's retained messages, again only where their inputs changed."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.rendered = 0
        """Messages rendered (not taken from the last time): for tests and diagnostics."""
        self._last: dict[Hashable, tuple[object, Message]] = {}

    def messages(self, snapshot: BoardSnapshot, *, agent_kpis: bool = True) -> list[Message]:
        """Every retained message ``snapshot`` gives (without the agents' KPIs if asked)."""
        last, self._last = self._last, {}
        one = self._one
        messages = [
            *(one(last, ("kpi", k.queue, k.window.name), _kpi_shown(k), kpi_message, k)
              for k in snapshot.kpis),
            *(one(last, ("live", q.queue), _live_shown(q), live_message, q)
              for q in snapshot.queues),
            *(one(last, ("state", a.interface), a, agent_state_message, a)
              for a in snapshot.agents),
        ]
        if agent_kpis:
            messages += [agent_kpi_message(self.topics, a) for a in snapshot.agent_kpis]
        messages += [one(last, ("alert", a.queue, a.kind), a, alert_message, a)
                     for a in snapshot.alerts]
        messages += [one(last, ("callbacks", c.queue), c, callbacks_message, c)
                     for c in snapshot.callbacks]
        return messages

    def _one(self, last: dict[Hashable, tuple[object, Message]], key: Hashable, shown: object,
             render: Callable[[Topics, T], Message], value: T) -> Message:
        """The message of topic ``key``: last time's when it showed the same."""
        before = last.get(key)
        if before is not None and before[0] == shown:
            message = before[1]
        else:
            message = render(self.topics, value)
            self.rendered += 1
        self._last[key] = (shown, message)
        return message
