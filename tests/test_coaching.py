"""Coaching figures: rings let go per agent and queue, calls per agent and queue, login
sessions, and the agents' part of ``queuepulse report``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from collector.facts import AgentInterval, AgentState, CallRecord, RingNoAnswer
from collector.store.opening import open_database
from collector.store.writes import write_facts
from kpi.coaching import agent_queue_kpis, login_sessions
from kpi.occupancy import agent_kpis
from kpi.windows import Window
from queuepulse.cli import main
from tests.traces import read_queue_log, replayed_facts, trace_dir

EVER = Window("ever", 0.0, 4e9)


def interval(state: AgentState, start: float, end: float | None) -> AgentInterval:
    return AgentInterval("Alice", "PJSIP/201", None, state, None, start, end)


def test_a_session_runs_from_login_to_logout_and_an_unseen_end_is_not_guessed() -> None:
    sessions = login_sessions([
        interval(AgentState.AVAILABLE, 100.0, 160.0),
        interval(AgentState.TALKING, 160.0, 400.0),
        interval(AgentState.LOGGED_OUT, 400.0, 900.0),
        interval(AgentState.PAUSED, 900.0, 1000.0),
        # the record stops at 1000 and goes on at 5000: the daemon was not running
        interval(AgentState.AVAILABLE, 5000.0, 5100.0),
        interval(AgentState.AVAILABLE, 5100.0, None),
    ])
    assert [(s.logged_in_at, s.logged_out_at, s.last_seen_at) for s in sessions] == [
        (100.0, 400.0, 400.0), (900.0, None, 1000.0), (5000.0, None, 5100.0)]
    assert [s.duration_s for s in sessions] == [300.0, 100.0, 100.0]


def test_on_a_pbx_restart_the_sessions_end_when_the_agents_were_logged_out() -> None:
    intervals = [f for f in replayed_facts("lab-reconnect") if isinstance(f, AgentInterval)]
    logouts = {(i.interface, i.started_at) for i in intervals
               if i.state is AgentState.LOGGED_OUT}
    ended = {(s.interface, s.logged_out_at) for s in login_sessions(intervals)
             if s.logged_out_at is not None}
    assert ended and ended <= logouts


@pytest.mark.parametrize("name", ["mixed-a", "lab-load"])
def test_calls_per_agent_and_queue_add_up_and_ronas_are_queue_logs(name: str) -> None:
    facts = replayed_facts(name)
    calls = [f for f in facts if isinstance(f, CallRecord)]
    rings = [f for f in facts if isinstance(f, RingNoAnswer)]
    split = agent_queue_kpis(calls, rings, EVER)
    per_agent = Counter[str]()
    for row in split:
        per_agent[row.interface] += row.handled
    assert per_agent == Counter({a.interface: a.handled for a in agent_kpis(calls, [], EVER)
                                 if a.handled})
    logged = Counter((line.agent, line.queue) for line in read_queue_log(
        trace_dir(name) / "queue_log") if line.event == "RINGNOANSWER")
    assert Counter({(r.name, r.queue): r.rona for r in split if r.rona}) == logged


def test_the_agents_report_fits_100_columns_with_ronas_queues_and_sessions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "calls.sqlite"
    db = open_database(str(db_path))
    write_facts(db, replayed_facts("lab-load"), source="replay")
    db.close()
    capsys.readouterr()
    assert main(["report", "--db", str(db_path), "--from", "2026-12-04", "--agents"]) == 0
    out = capsys.readouterr().out
    lines = [line.rstrip() for line in out.splitlines()]
    assert max(len(line) for line in lines) <= 100
    agents = lines.index(next(line for line in lines if line.startswith("Agents, ")))
    assert lines[agents + 1].split() == ["agent", "handled", "AHT", "RONA", "logged", "in",
                                         "paused", "occupancy", "pauses"]
    jose = next(line for line in lines[agents:] if line.startswith("José Núñez"))
    assert jose.split()[4] == "1"
    assert any(line.startswith("Agents per queue, ") for line in lines)
    sessions = lines.index(next(line for line in lines if line.startswith("Login sessions, ")))
    assert lines[sessions + 1].split() == ["agent", "logged", "in", "logged", "out", "for"]
    assert "Alice Martin   11:08:29 not seen" in "\n".join(lines[sessions:])
