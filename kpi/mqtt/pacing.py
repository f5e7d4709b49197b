"""When each retained topic is sent: when its content changed, at most once a cycle.

The publisher renders retained messages and asks :class:`Pacing` which of them to send.
A message goes out when its body differs from what its topic last carried on this
connection and the topic was not sent within the last cycle (``mqtt.kpi_interval_s``);
otherwise it waits, and :attr:`Pacing.held_until` says when its cycle is over. A finished
call makes its queue's KPIs due as soon as their cycle allows (:meth:`Pacing.changes_due`).

An agent's KPI topics change with time alone for every logged-in agent, so they are
rendered only for the agents something happened to since their topics were last sent
(their state changed, a call of theirs ended), and for those this connection has not
sent yet. Pure: the caller passes the time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from collector.facts import CallRecord
from kpi.board import BoardSnapshot
from kpi.mqtt.payloads import Message, agent_kpi_message
from kpi.mqtt.topics import Topics
from kpi.windows import LIVE_WINDOWS


class Pacing:
    """What each retained topic last carried on this connection, and what is due."""

    def __init__(self, topics: Topics, cycle_s: float) -> None:
        self.topics = topics
        self.cycle_s = cycle_s
        self.held_until = math.inf
        """When the earliest message held back by its cycle may go."""
        self._sent: dict[str, str] = {}
        self._sent_at: dict[str, float] = {}
        self._queues: set[str | None] = set()
        self._agents: set[str] = set()
        self._rendered: dict[str, str] = {}
        """The agent KPI topics rendered this cycle, with their agent's interface."""

    def connected(self) -> None:
        """A new connection: the broker may have forgotten every retained topic."""
        self._sent.clear()
        self._sent_at.clear()
        self.held_until = math.inf

    def call_finished(self, record: CallRecord) -> None:
        """A call ended: its queue's KPIs, the all-queues ones and its agent's change."""
        self._queues.update((record.queue, None))
        if record.agent_interface is not None:
            self._agents.add(record.agent_interface)

    def agent_changed(self, interface: str) -> None:
        """An agent's state changed: its figures and the all-queues ones change."""
        self._queues.add(None)
        self._agents.add(interface)

    def changes_due(self) -> float:
        """When the earliest changed queue's KPIs may next be sent (its ``today`` topic
        stands for them all, since a call changes every window together)."""
        return min((self._sent_at.get(self.topics.kpi(queue, LIVE_WINDOWS[0]), -math.inf)
                    + self.cycle_s for queue in self._queues), default=math.inf)

    def cycle_started(self) -> None:
        """A cycle renders everything again: what was waiting for it is taken."""
        self._queues.clear()
        self.held_until = math.inf

    def agent_kpis(self, snapshot: BoardSnapshot) -> list[Message]:
        """The KPI messages of the agents something happened to, and of those whose
        topics this connection has not sent yet."""
        changed, sent, topics = self._agents, self._sent, self.topics
        self._agents = set()
        self._rendered = {}
        messages = []
        for agent in snapshot.agent_kpis:
            interface = agent.kpis.interface
            topic = topics.agent_kpi(interface, agent.window.name)
            if interface in changed or topic not in sent:
                self._rendered[topic] = interface
                messages.append(agent_kpi_message(topics, agent))
        return messages

    def due(self, messages: Iterable[Message], now: float) -> list[Message]:
        """The messages whose body changed and whose topic is free to be sent again;
        an agent whose topics wait for their cycle stays changed until they go."""
        due: list[Message] = []
        for message in messages:
            if self._sent.get(message.topic) == message.body:
                continue
            free_at = self._sent_at.get(message.topic, -math.inf) + self.cycle_s
            if free_at <= now:
                due.append(message)
                continue
            self.held_until = min(self.held_until, free_at)
            interface = self._rendered.get(message.topic)
            if interface is not None:
                self._agents.add(interface)
        return due

    def sent(self, messages: Sequence[Message], now: float) -> None:
        """The broker has taken ``messages``."""
        for message in messages:
            self._sent[message.topic] = message.body
            self._sent_at[message.topic] = now
