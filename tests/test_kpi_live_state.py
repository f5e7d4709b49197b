"""Live KPIs: callers waiting, the longest current wait, agents by state."""

from __future__ import annotations

from collector.facts import AgentState
from collector.live import LiveAgent, LiveCall, LiveMembership, LiveQueue, LiveView
from kpi.live_state import PauseCount, queue_live, queue_names


def member(queue: str, paused: bool = False, reason: str = "") -> LiveMembership:
    return LiveMembership(queue, paused, reason)


def agent(interface: str, state: AgentState, *memberships: LiveMembership,
          reason: str | None = None) -> LiveAgent:
    return LiveAgent(interface, interface, state, None, reason, 0.0, memberships)


def call(uid: str, queue: str, entered: float, answered: float | None = None) -> LiveCall:
    return LiveCall(uid, queue, "555", "Caller", entered, answered, None, False)


LIVE = LiveView(
    at=100.0,
    calls=(call("a", "support", 40.0), call("b", "support", 70.0), call("c", "sales", 90.0),
           call("d", "support", 10.0, answered=20.0)),
    agents=(
        agent("A", AgentState.AVAILABLE, member("support"), member("sales", True, "Lunch")),
        agent("B", AgentState.PAUSED, member("support", True, "Lunch"),
              member("sales", True, "Lunch"), reason="Lunch"),
        agent("C", AgentState.TALKING, member("support")),
        agent("D", AgentState.ACW, member("sales")),
        agent("E", AgentState.LOGGED_OUT),
        agent("F", AgentState.RINGING, member("support")),
    ),
    queues=(LiveQueue("billing", "ringall", 20, 0.0),),
)


def test_waiting_callers_and_longest_current_wait_per_queue() -> None:
    support = queue_live(LIVE, "support")
    assert (support.waiting, support.longest_wait_s, support.oldest_entered_at) == (2, 60, 40)
    assert support.connected == 1
    everything = queue_live(LIVE, None)
    assert (everything.waiting, everything.longest_wait_s) == (3, 60)


def test_an_empty_queue_has_no_longest_wait() -> None:
    billing = queue_live(LIVE, "billing")
    assert (billing.waiting, billing.longest_wait_s, billing.agents.logged_in) == (0, None, 0)


def test_agents_are_counted_by_state_with_the_pause_of_each_queue() -> None:
    support = queue_live(LIVE, "support").agents
    assert (support.logged_in, support.available, support.paused, support.talking,
            support.ringing) == (4, 1, 1, 1, 1)
    sales = queue_live(LIVE, "sales").agents
    assert (sales.logged_in, sales.available, sales.paused, sales.acw) == (3, 0, 2, 1)
    assert sales.paused_by_reason == (PauseCount("Lunch", 2),)


def test_all_queues_count_each_logged_in_agent_once() -> None:
    counts = queue_live(LIVE, None).agents
    assert (counts.logged_in, counts.available, counts.paused, counts.on_hold) == (5, 1, 1, 0)


def test_queue_names_come_from_config_calls_and_memberships() -> None:
    assert queue_names(LIVE) == ("billing", "sales", "support")
