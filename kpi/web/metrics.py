"""The Prometheus endpoint's metrics: the live board, and the calls finished since start.

Every scrape reads a fresh board snapshot (:class:`BoardCollector`), so the gauges are
as current as the MQTT topics. Names follow Prometheus' conventions: a ``queuepulse_``
prefix, base units in the name (``_seconds``, ``_ratio``), ``_total`` for counters.
Figures over a window carry it as the ``window`` label (``today``, ``15m``, ``60m``); a
figure without data (a service level before the first call) is left out, not written
as NaN. docs/grafana.md lists every metric.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.facts import AgentState, CallRecord, Fact
from kpi.board import BoardSnapshot

SnapshotSource = Callable[[], BoardSnapshot | None]
"""The board as of now, or ``None`` before the first event."""


class CallCounter:
    """Calls finished since the daemon started, per queue and outcome: a fact sink."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, facts: Iterable[Fact]) -> None:
        """Count the finished calls among ``facts``."""
        for fact in facts:
            if isinstance(fact, CallRecord):
                self.counts[(fact.queue, fact.outcome.value)] += 1


@dataclass(frozen=True, slots=True)
class _Figure:
    """A call KPI published per queue and window: its metric name, help and field."""

    name: str
    help: str
    field: str


FIGURES = (
    _Figure("queuepulse_offered_calls", "Calls offered to the queue in the window", "offered"),
    _Figure("queuepulse_answered_calls", "Calls answered in the window", "answered"),
    _Figure("queuepulse_abandoned_calls", "Callers who gave up waiting in the window",
            "abandoned"),
    _Figure("queuepulse_service_level_ratio",
            "Service level in the window (the configured variant), 0 to 1", "service_level"),
    _Figure("queuepulse_abandon_rate_ratio", "Abandon rate in the window, 0 to 1",
            "abandon_rate"),
    _Figure("queuepulse_asa_seconds", "Average speed of answer in the window", "asa_s"),
    _Figure("queuepulse_aht_seconds", "Average handle time in the window", "aht_s"),
    _Figure("queuepulse_longest_answered_wait_seconds",
            "Longest wait of a call answered in the window", "longest_wait_s"),
)
"""The call KPIs of each queue and window, as gauges."""

AGENT_COUNT_STATES = {
    "available": "available", "ringing": "ringing", "talking": "talking", "hold": "on_hold",
    "acw": "acw", "paused": "paused",
}
"""The ``state`` label of ``queuepulse_agents``, and the agent count it reads."""


class BoardCollector(Collector):
    """The metrics of the board ``snapshots`` gives, and of the calls ``counter`` counted."""

    def __init__(self, snapshots: SnapshotSource, counter: CallCounter) -> None:
        self._snapshots = snapshots
        self._counter = counter

    def collect(self) -> Iterator[Metric]:
        """Every metric, read now."""
        calls = CounterMetricFamily("queuepulse_calls",
                                    "Calls finished since queuepulse started, by outcome",
                                    labels=["queue", "outcome"])
        for (queue, outcome), count in sorted(self._counter.counts.items()):
            calls.add_metric([queue, outcome], count)
        yield calls
        snapshot = self._snapshots()
        if snapshot is not None:
            yield from _board_metrics(snapshot)


def _gauge(name: str, help_text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=labels)


def _board_metrics(snapshot: BoardSnapshot) -> Iterator[Metric]:
    queues = [q for q in snapshot.queues if q.queue is not None]
    waiting = _gauge("queuepulse_calls_waiting", "Callers waiting in the queue now", ["queue"])
    longest = _gauge("queuepulse_longest_wait_seconds",
                     "How long the longest-waiting caller has waited now", ["queue"])
    connected = _gauge("queuepulse_calls_connected", "Callers talking to an agent now",
                       ["queue"])
    agents = _gauge("queuepulse_agents", "Agents logged in to the queue, by state now",
                    ["queue", "state"])
    for queue in queues:
        name = queue.queue or ""
        waiting.add_metric([name], queue.waiting)
        longest.add_metric([name], queue.longest_wait_s or 0.0)
        connected.add_metric([name], queue.connected)
        for label, field in AGENT_COUNT_STATES.items():
            agents.add_metric([name, label], getattr(queue.agents, field))
    yield from (waiting, longest, connected, agents)

    figures = {f.name: _gauge(f.name, f.help, ["queue", "window"]) for f in FIGURES}
    target = _gauge("queuepulse_service_level_target_ratio",
                    "The service level the queue aims at, 0 to 1", ["queue"])
    occupancy = _gauge("queuepulse_occupancy_ratio",
                       "Busy time over available time of all agents in the window", ["window"])
    for kpi in snapshot.kpis:
        if kpi.queue is None:
            if kpi.center is not None and kpi.center.occupancy is not None:
                occupancy.add_metric([kpi.window.name], kpi.center.occupancy)
            continue
        for figure in FIGURES:
            value = getattr(kpi.calls, figure.field)
            if value is not None:
                figures[figure.name].add_metric([kpi.queue, kpi.window.name], value)
        if kpi.window.name == "today":
            target.add_metric([kpi.queue], kpi.service_level_target)
    yield from figures.values()
    yield from (target, occupancy)

    state = _gauge("queuepulse_agent_state",
                   "1 for the state each agent is in now, 0 for the others",
                   ["interface", "agent", "state"])
    in_state = _gauge("queuepulse_agent_state_seconds",
                      "How long each agent has been in its current state", ["interface", "agent"])
    for agent in snapshot.agents:
        for each in AgentState:
            state.add_metric([agent.interface, agent.name, each.value],
                             1.0 if agent.state is each else 0.0)
        in_state.add_metric([agent.interface, agent.name], max(0.0, snapshot.at - agent.since))
    yield from (state, in_state)

    pending = _gauge("queuepulse_callbacks_pending",
                     "Callers who gave up today and were not reached again yet", ["queue"])
    for count in snapshot.callbacks:
        if count.queue is not None:
            pending.add_metric([count.queue], count.callers)
    yield pending

    alerts = _gauge("queuepulse_alert_active", "1 while the queue's alert is raised",
                    ["queue", "alert"])
    for alert in snapshot.alerts:
        alerts.add_metric([alert.queue, alert.kind.value], 1.0 if alert.active else 0.0)
    yield alerts
