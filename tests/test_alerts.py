"""Alert rules: raised after holding for a while, cleared on the far side of a second line."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from collector.facts import AgentState
from collector.live import LiveAgent, LiveCall, LiveMembership, LiveView
from collector.parser import FrameParser
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.alerts import (
    Alert,
    AlertConfig,
    AlertKind,
    AlertWatch,
    QueueAlertConfig,
    QueueNow,
)
from kpi.board import KpiBoard
from kpi.live_state import queue_live
from kpi.mqtt.payloads import alert_message
from kpi.mqtt.publisher import snapshot_messages
from kpi.mqtt.retained import board_from_retained
from kpi.mqtt.topics import Topics
from kpi.present.wallboard import render
from kpi.settings import KpiSettings
from queuepulse.config import ConfigError, parse_config
from tests.traces import TRACE_CONFIG, trace_dir

OFF = AlertConfig(longest_wait_s=0, waiting=0, service_level_below=0,
                  no_agent_available=False, agent_paused_min=0)


def waiting_view(at: float, waiting: int, *, available: int = 1, queue: str = "sales",
                 paused_since: float | None = None) -> LiveView:
    calls = tuple(LiveCall(f"c{i}", queue, "555", "", at - 10.0 * (i + 1), None, None, False)
                  for i in range(waiting))
    agents = [LiveAgent(f"A{i}", f"Agent {i}", AgentState.AVAILABLE, None, None, 0.0,
                        (LiveMembership(queue, False, ""),)) for i in range(available)]
    if paused_since is not None:
        agents.append(LiveAgent("P", "Agent Paused", AgentState.PAUSED, None, "Lunch",
                                paused_since, (LiveMembership(queue, True, "Lunch"),)))
    return LiveView(at, calls, tuple(agents), ())


def now_of(view: LiveView, queue: str = "sales", level: float | None = None) -> QueueNow:
    return QueueNow(queue_live(view, queue), level, view.agents)


def one(alerts: Sequence[Alert], kind: AlertKind) -> Alert:
    (found,) = [a for a in alerts if a.kind is kind]
    return found


def test_waiting_raises_only_after_holding_for_s_and_clears_below_the_clear_line() -> None:
    watch = AlertWatch(replace(OFF, waiting=3, waiting_clear=1, for_s=5.0))

    def step(at: float, waiting: int) -> Alert:
        return one(watch.update(at, [now_of(waiting_view(at, waiting))]), AlertKind.WAITING)

    assert not step(0.0, 3).active          # crossed, not yet held
    assert not step(3.0, 2).active          # dipped: the clock starts again
    assert not step(4.0, 4).active
    raised = step(9.0, 3)
    assert (raised.active, raised.since, raised.value, raised.threshold) == (True, 9.0, 3, 3)
    assert step(10.0, 2).active             # below the raise line, above the clear line
    cleared = step(11.0, 1)
    assert (cleared.active, cleared.since) == (False, 11.0)
    assert not step(12.0, 2).active         # between the lines: stays clear


def test_longest_wait_uses_the_oldest_waiting_caller() -> None:
    watch = AlertWatch(replace(OFF, longest_wait_s=25.0, longest_wait_clear_s=5.0, for_s=0.0))
    raised = one(watch.update(100.0, [now_of(waiting_view(100.0, 3))]), AlertKind.LONGEST_WAIT)
    assert (raised.active, raised.value) == (True, 30.0)
    # the callers were answered: nobody waits, the longest wait is 0
    cleared = one(watch.update(101.0, [now_of(waiting_view(101.0, 0))]), AlertKind.LONGEST_WAIT)
    assert (cleared.active, cleared.value) == (False, 0.0)


def test_service_level_without_calls_changes_nothing() -> None:
    watch = AlertWatch(replace(OFF, service_level_below=70.0, service_level_clear=80.0, for_s=0.0))
    view = waiting_view(0.0, 0)
    assert one(watch.update(0.0, [now_of(view, level=0.5)]), AlertKind.SERVICE_LEVEL).active
    assert one(watch.update(1.0, [now_of(view, level=None)]), AlertKind.SERVICE_LEVEL).active
    assert one(watch.update(2.0, [now_of(view, level=0.75)]), AlertKind.SERVICE_LEVEL).active
    assert not one(watch.update(3.0, [now_of(view, level=0.8)]),
                   AlertKind.SERVICE_LEVEL).active


def test_no_agent_available_needs_a_waiting_caller() -> None:
    watch = AlertWatch(replace(OFF, no_agent_available=True, for_s=0.0))
    kind = AlertKind.NO_AGENT_AVAILABLE
    assert not one(watch.update(0.0, [now_of(waiting_view(0.0, 0, available=0))]), kind).active
    assert one(watch.update(1.0, [now_of(waiting_view(1.0, 1, available=0))]), kind).active
    assert not one(watch.update(2.0, [now_of(waiting_view(2.0, 1, available=1))]), kind).active


def test_agent_paused_names_the_agents_paused_too_long() -> None:
    watch = AlertWatch(replace(OFF, agent_paused_min=10.0, for_s=0.0))
    kind = AlertKind.AGENT_PAUSED
    early = one(watch.update(500.0, [now_of(waiting_view(500.0, 0, paused_since=0.0))]), kind)
    assert (early.active, early.agents) == (False, ())
    late = one(watch.update(600.0, [now_of(waiting_view(600.0, 0, paused_since=0.0))]), kind)
    assert (late.active, late.agents, late.value) == (True, ("Agent Paused",), 600.0)


def test_a_queue_overrides_the_rules_key_by_key_and_can_turn_them_off() -> None:
    watch = AlertWatch(replace(OFF, waiting=3, for_s=0.0),
                       {"sales": QueueAlertConfig(waiting=1, waiting_clear=0),
                        "billing": QueueAlertConfig(enabled=False)})
    assert watch.rules("sales").waiting == 1
    assert watch.rules("sales").for_s == 0.0
    assert watch.kinds("billing") == ()
    views = [now_of(waiting_view(0.0, 2, queue=q), queue=q) for q in ("sales", "support",
                                                                      "billing")]
    alerts = watch.update(0.0, views)
    assert {(a.queue, a.active) for a in alerts} == {("sales", True), ("support", False)}


def test_a_reading_older_than_the_last_changes_nothing() -> None:
    watch = AlertWatch(replace(OFF, waiting=1, waiting_clear=0, for_s=0.0))
    assert one(watch.update(10.0, [now_of(waiting_view(10.0, 1))]), AlertKind.WAITING).active
    assert one(watch.update(5.0, [now_of(waiting_view(5.0, 0))]), AlertKind.WAITING).active


def test_the_configuration_refuses_a_clear_line_past_the_raise_line() -> None:
    with pytest.raises(ConfigError, match=r"'alerts\.waiting_clear': 5 is not below waiting"):
        parse_config("[alerts]\nwaiting = 5\nwaiting_clear = 5\n")
    with pytest.raises(ConfigError, match=r"'queues\.sales\.alerts\.service_level_clear'"):
        parse_config("[queues.sales.alerts]\nservice_level_below = 90\n")
    with pytest.raises(ConfigError, match=r"'alerts\.service_level_window': '5m'"):
        parse_config('[alerts]\nservice_level_window = "5m"\n')
    config = parse_config("[alerts]\nwaiting = 4\n[queues.sales.alerts]\nwaiting = 9\n")
    assert config.alert_watch().rules("sales").waiting == 9
    assert config.alert_watch().rules("support").waiting == 4


def test_on_a_recorded_trace_the_waiting_alert_follows_the_callers_with_hysteresis() -> None:
    """Every board snapshot of mixed-a: the alert is raised exactly when the callers
    waiting have been at 3 or more for 2 s, and cleared exactly when they fall to 1."""
    rules = replace(OFF, waiting=3, waiting_clear=1, for_s=2.0)
    tracker, parser = Tracker(TRACE_CONFIG), FrameParser()
    board = KpiBoard(KpiSettings(), alerts=AlertWatch(rules))
    expected: dict[str, tuple[bool, float | None]] = {}
    raised = cleared = 0
    for frame in TraceReader(trace_dir("mixed-a") / "ami.jsonl"):
        event = parser.parse(frame.text, frame.received_at)
        if event is None:
            continue
        board.add(tracker.feed(event))
        live = tracker.live()
        snapshot = board.snapshot(live)
        for alert in snapshot.alerts:
            waiting = len(live.waiting(alert.queue))
            active, pending = expected.get(alert.queue, (False, None))
            if active and waiting <= 1:
                active, cleared = False, cleared + 1
            elif not active and waiting >= 3:
                pending = live.at if pending is None else pending
                if live.at - pending >= 2.0:
                    active, pending, raised = True, None, raised + 1
            elif not active:
                pending = None
            expected[alert.queue] = (active, pending)
            assert alert.active == active, (alert, waiting)
    assert raised >= 2 and cleared >= 2


def test_raised_alerts_are_listed_on_the_wallboard_and_read_back_from_mqtt() -> None:
    watch = AlertWatch(replace(OFF, waiting=2, waiting_clear=0, for_s=0.0))
    board = KpiBoard(KpiSettings(), alerts=watch)
    snapshot = board.snapshot(waiting_view(1_800_000_000.0, 2))
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(render(snapshot, timezone=ZoneInfo("UTC")))
    assert "ALERT sales: 2 callers waiting (alert at 2)" in console.export_text()
    topics = Topics("queuepulse", "pbx")
    message = alert_message(topics, snapshot.alerts[0])
    assert message.topic == "queuepulse/pbx/queue/sales/alert/waiting"
    assert message in snapshot_messages(topics, snapshot)
    retained = {m.topic: m.payload(snapshot.at) for m in snapshot_messages(topics, snapshot)}
    assert board_from_retained(topics, retained, snapshot.at).alerts == snapshot.alerts
