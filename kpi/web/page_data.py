"""What the browser wallboard shows, as the JSON its page is pushed.

Pure: a board snapshot in, plain JSON-ready values out. Every figure is the board's, as
the terminal wallboard shows it; the page only lays them out, and counts waits and time
in state on between two pushes from ``at``.
"""

from __future__ import annotations

from typing import Any

from collector.facts import AgentState
from kpi.board import BoardSnapshot, KpiSnapshot
from kpi.definitions import other_outcomes
from kpi.live_state import QueueLive
from kpi.present.formats import alert_text, rounded, sl_style
from kpi.settings import DEFAULT_SERVICE_LEVEL_TARGET

STATE_LABELS = {
    AgentState.AVAILABLE: "available",
    AgentState.RINGING: "ringing",
    AgentState.TALKING: "talking",
    AgentState.HOLD: "on hold",
    AgentState.ACW: "after-call work",
    AgentState.PAUSED: "paused",
    AgentState.LOGGED_OUT: "logged out",
}
_STATE_ORDER = {state: i for i, state in enumerate(STATE_LABELS)}


def _queue(name: str | None, live: QueueLive | None, kpi: KpiSnapshot | None,
           to_call_back: int) -> dict[str, Any]:
    calls = None if kpi is None else kpi.calls
    target = DEFAULT_SERVICE_LEVEL_TARGET if kpi is None else kpi.service_level_target
    level = None if calls is None else calls.service_level
    waiting = 0 if live is None else live.waiting
    return {
        "queue": name,
        "waiting": waiting,
        "oldest_entered_at": None if live is None or not waiting else live.oldest_entered_at,
        "offered": 0 if calls is None else calls.offered,
        "answered": 0 if calls is None else calls.answered,
        "abandoned": 0 if calls is None else calls.abandoned,
        "other": 0 if calls is None else other_outcomes(calls),
        "service_level": rounded("service_level", level),
        "service_level_target": target,
        "service_level_colour": sl_style(level, target) or "none",
        "asa_s": rounded("asa_s", None if calls is None else calls.asa_s),
        "aht_s": rounded("aht_s", None if calls is None else calls.aht_s),
        "agents_available": 0 if live is None else live.agents.available,
        "agents_logged_in": 0 if live is None else live.agents.logged_in,
        "callbacks_pending": to_call_back,
    }


def page_data(snapshot: BoardSnapshot, pbx: str, window: str = "today") -> dict[str, Any]:
    """The page's JSON: every queue (and all queues), every agent, the raised alerts."""
    kpis = {k.queue: k for k in snapshot.kpis if k.window.name == window}
    lives = {q.queue: q for q in snapshot.queues}
    names = sorted({q for q in kpis if q is not None} | {q for q in lives if q is not None})
    agents = sorted(snapshot.agents, key=lambda a: (_STATE_ORDER[a.state], a.name, a.interface))
    pending = {c.queue: c.callers for c in snapshot.callbacks}
    return {
        "pbx": pbx,
        "at": round(snapshot.at, 3),
        "window": window,
        "queues": [_queue(name, lives.get(name), kpis.get(name), pending.get(name, 0))
                   for name in names],
        "all": _queue(None, lives.get(None), kpis.get(None), pending.get(None, 0)),
        "agents": [{
            "name": a.name,
            "interface": a.interface,
            "state": a.state.value,
            "label": STATE_LABELS[a.state],
            "since": round(a.since, 3),
            "queue": a.queue or ", ".join(m.queue for m in a.memberships),
            "reason": a.reason or "",
        } for a in agents if a.state is not AgentState.LOGGED_OUT],
        "alerts": [{"queue": a.queue, "alert": a.kind.value, "since": a.since,
                    "text": alert_text(a)} for a in snapshot.alerts if a.active],
    }
