"""Agent KPIs: time per state, occupancy, per-agent handling and cost per call."""

from __future__ import annotations

import pytest

from collector.facts import AgentInterval, AgentState
from collector.live import LiveAgent, LiveMembership, LiveView
from kpi.definitions import call_kpis
from kpi.occupancy import agent_kpis, center_kpis, open_intervals
from kpi.repeat_callers import CallerIndex
from kpi.settings import KpiSettings
from kpi.windows import Window
from tests.kpi_records import answered, interval, unanswered

WINDOW = Window("test", 0.0, 1000.0)


def shift(agent: str = "PJSIP/201") -> list[AgentInterval]:
    """Available 100 s, talking 50, ACW 10, paused for lunch 40."""
    return [
        interval(AgentState.AVAILABLE, 0, 100, agent=agent),
        interval(AgentState.TALKING, 100, 150, agent=agent, queue="support"),
        interval(AgentState.ACW, 150, 160, agent=agent, queue="support"),
        interval(AgentState.PAUSED, 160, 200, agent=agent, reason="Lunch"),
        interval(AgentState.LOGGED_OUT, 200, 900, agent=agent),
    ]


def test_occupancy_is_busy_time_over_logged_in_unpaused_time() -> None:
    (agent,) = agent_kpis([], shift(), WINDOW)
    assert (agent.logged_in_s, agent.paused_s, agent.busy_s) == (200, 40, 60)
    assert agent.occupancy == pytest.approx(60 / 160)
    assert [(p.reason, p.seconds) for p in agent.pauses] == [("Lunch", 40)]


def test_hold_counts_as_busy_and_ringing_as_available() -> None:
    intervals = [interval(AgentState.RINGING, 0, 10), interval(AgentState.HOLD, 10, 40)]
    (agent,) = agent_kpis([], intervals, WINDOW)
    assert agent.occupancy == pytest.approx(30 / 40)


def test_time_is_clipped_to_the_window() -> None:
    (agent,) = agent_kpis([], shift(), Window("part", 120.0, 180.0))
    assert (agent.busy_s, agent.paused_s, agent.logged_in_s) == (40, 20, 60)


def test_an_interval_whose_end_was_not_seen_adds_nothing() -> None:
    intervals = [interval(AgentState.TALKING, 0, 10), interval(AgentState.AVAILABLE, 10, None)]
    (agent,) = agent_kpis([], intervals, WINDOW)
    assert agent.logged_in_s == 10 and agent.occupancy == 1.0


def test_an_agent_paused_all_the_time_has_no_occupancy() -> None:
    (agent,) = agent_kpis([], [interval(AgentState.PAUSED, 0, 100, reason="Training")], WINDOW)
    assert agent.occupancy is None


def test_open_intervals_of_the_live_view_run_until_now() -> None:
    live = LiveView(at=500.0, calls=(), queues=(), agents=(
        LiveAgent("PJSIP/201", "Alice", AgentState.TALKING, "support", None, 420.0,
                  (LiveMembership("support", False, ""),)),))
    (agent,) = agent_kpis([], [interval(AgentState.AVAILABLE, 400, 420), *open_intervals(live)],
                          WINDOW)
    assert (agent.busy_s, agent.logged_in_s) == (80, 100)


def test_calls_count_for_the_agent_that_handled_them() -> None:
    calls = [answered(0, talk=60, hold=10, acw=5, agent="PJSIP/201"),
             answered(0, talk=30, agent="PJSIP/202"), unanswered(0)]
    alice, bob = agent_kpis(calls, [], WINDOW)
    assert (alice.interface, alice.handled, alice.talk_s, alice.hold_s, alice.acw_s) == (
        "PJSIP/201", 1, 60, 10, 5)
    assert alice.aht_s == 75 and bob.handled == 1 and bob.occupancy is None


def test_overall_occupancy_adds_up_every_agents_time() -> None:
    agents = agent_kpis([], [*shift("PJSIP/201"), interval(AgentState.TALKING, 0, 40,
                                                              agent="PJSIP/202")], WINDOW)
    center = center_kpis(agents, call_kpis([], WINDOW, KpiSettings()), KpiSettings())
    assert center.agents == 2
    assert center.occupancy == pytest.approx((60 + 40) / (160 + 40))
    assert center.cost_per_call is None


def test_cost_per_call_adds_agent_hours_and_trunk_minutes() -> None:
    calls = [answered(0, wait=30, talk=90), answered(100, wait=60, talk=180)]
    settings = KpiSettings(agent_hourly=36.0, trunk_per_minute=0.5)
    agents = agent_kpis(calls, [interval(AgentState.AVAILABLE, 0, 3600)],
                        Window("h", 0.0, 3600.0))
    totals = call_kpis(calls, Window("h", 0.0, 3600.0), settings, CallerIndex(calls))
    center = center_kpis(agents, totals, settings)
    # 1 agent hour x 36 + 6 trunk minutes x 0.5 = 39, over 2 calls
    assert center.trunk_minutes == 6 and center.cost_per_call == pytest.approx(19.5)


def test_no_handled_call_has_no_cost_per_call() -> None:
    settings = KpiSettings(agent_hourly=36.0)
    agents = agent_kpis([], [interval(AgentState.AVAILABLE, 0, 3600)], WINDOW)
    center = center_kpis(agents, call_kpis([], WINDOW, settings), settings)
    assert center.cost_per_call is None
