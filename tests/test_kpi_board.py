"""The live board: fed with the tracker's facts, it gives the same KPIs as the definitions."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest

from collector.facts import AgentInterval, CallRecord, Fact
from collector.live import LiveView
from collector.parser import FrameParser
from collector.store.opening import open_database
from collector.store.reads import read_facts
from collector.store.writes import write_facts
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.board import BoardSnapshot, KpiBoard
from kpi.definitions import CallKpis, call_kpis
from kpi.occupancy import agent_kpis
from kpi.repeat_callers import CallerIndex
from kpi.settings import KpiSettings
from kpi.windows import earliest_live_start, live_window
from tests.traces import TRACE_CONFIG, replayed_facts, trace_dir

SETTINGS = KpiSettings(queue_service_level_s={"sales": 30})
T = TypeVar("T")


def by_key(snapshot: BoardSnapshot) -> dict[tuple[str | None, str], CallKpis]:
    return {(k.queue, k.window.name): k.calls for k in snapshot.kpis}


def quiet(at: float) -> LiveView:
    """Nobody waiting, no agent known: only time has passed."""
    return LiveView(at, (), (), ())


def test_snapshots_while_replaying_equal_the_definitions_over_the_calls_so_far() -> None:
    board = KpiBoard(SETTINGS, "Europe/Berlin")
    tracker = Tracker(TRACE_CONFIG)
    parser = FrameParser()
    seen: dict[str, CallRecord] = {}
    checked = 0
    events = (parser.parse(f.text, f.received_at)
              for f in TraceReader(trace_dir("mixed-a") / "ami.jsonl"))
    for n, event in enumerate(e for e in events if e is not None):
        facts = tracker.feed(event)
        board.add(facts)
        seen.update((f.call_id, f) for f in facts if isinstance(f, CallRecord))
        if n % 150:
            continue
        live = tracker.live()
        snapshot = board.snapshot(live)
        for (queue, name), kpis in by_key(snapshot).items():
            window = live_window(name, live.at, board.timezone)
            calls = [c for c in seen.values() if queue is None or c.queue == queue]
            assert kpis == call_kpis(calls, window, SETTINGS, CallerIndex(seen.values())), (
                queue, name)
            checked += 1
    assert checked > 50


def test_all_queues_and_each_queue_have_every_live_window() -> None:
    board = KpiBoard(SETTINGS)
    facts = replayed_facts("mixed-a")
    board.add(facts)
    end = max(f.entered_at for f in facts if isinstance(f, CallRecord)) + 60
    snapshot = board.snapshot(quiet(end))
    assert set(by_key(snapshot)) == {(q, w) for q in ("sales", "support", None)
                                     for w in ("today", "15m", "60m")}
    center = [k.center for k in snapshot.kpis if k.queue is None]
    assert all(c is not None for c in center)
    assert {a.kpis.name for a in snapshot.agent_kpis} == {
        "Agent One", "Agent Two", "Agent Three", "Agent Four"}


def test_a_board_primed_from_sqlite_equals_one_fed_live(tmp_path: Path) -> None:
    facts: tuple[Fact, ...] = replayed_facts("mixed-a")
    db = open_database(str(tmp_path / "q.sqlite"))
    write_facts(db, facts, source="live")
    end = max(f.ended_at or 0.0 for f in facts if isinstance(f, AgentInterval)) + 1
    live = quiet(end)
    fed = KpiBoard(SETTINGS)
    fed.add(facts)
    primed = KpiBoard(SETTINGS)
    primed.add(read_facts(db, earliest_live_start(end, primed.timezone), end))
    assert primed.snapshot(live) == fed.snapshot(live)


def test_calls_leave_the_rolling_windows_as_time_passes() -> None:
    board = KpiBoard(SETTINGS)
    facts = replayed_facts("smoke")
    board.add(facts)
    end = max(f.entered_at for f in facts if isinstance(f, CallRecord))
    for later, offered in ((end + 60, 14), (end + 15 * 60 + 30, 0)):
        assert by_key(board.snapshot(quiet(later)))[(None, "15m")].offered == offered
    assert by_key(board.snapshot(quiet(end + 3 * 3600)))[(None, "today")].offered == 14


def test_todays_agent_figures_equal_the_definition_over_every_interval() -> None:
    facts = replayed_facts("mixed-a")
    board = KpiBoard(SETTINGS)
    board.add(facts)
    end = max(f.ended_at or 0.0 for f in facts if isinstance(f, AgentInterval)) + 1
    snapshot = board.snapshot(quiet(end))
    window = live_window("today", end, board.timezone)
    expected = agent_kpis(facts_of(facts, CallRecord), facts_of(facts, AgentInterval), window)
    got = tuple(a.kpis for a in snapshot.agent_kpis if a.window.name == "today")
    assert [a.interface for a in got] == [a.interface for a in expected]
    for mine, theirs in zip(got, expected, strict=True):
        for field in ("handled", "logged_in_s", "paused_s", "busy_s", "occupancy", "aht_s"):
            assert getattr(mine, field) == pytest.approx(getattr(theirs, field)), field
        assert [p.reason for p in mine.pauses] == [p.reason for p in theirs.pauses]


def test_todays_agent_figures_stay_exact_once_intervals_leave_the_hourly_window() -> None:
    facts = replayed_facts("mixed-a")
    board = KpiBoard(SETTINGS)
    board.add(facts)
    end = max(f.ended_at or 0.0 for f in facts if isinstance(f, AgentInterval)) + 1
    calls, intervals = facts_of(facts, CallRecord), facts_of(facts, AgentInterval)
    for later in (end, end + 1800, end + 3601, end + 7200):
        snapshot = board.snapshot(quiet(later))
        window = live_window("today", later, board.timezone)
        assert window.start < min(i.started_at for i in intervals)  # still the same day
        expected = agent_kpis(calls, intervals, window)
        got = tuple(a.kpis for a in snapshot.agent_kpis if a.window.name == "today")
        assert [a.interface for a in got] == [a.interface for a in expected]
        for mine, theirs in zip(got, expected, strict=True):
            for field in ("handled", "logged_in_s", "paused_s", "busy_s", "occupancy"):
                assert getattr(mine, field) == pytest.approx(getattr(theirs, field)), field
    assert not [a for a in snapshot.agent_kpis if a.window.name == "60m" and a.kpis.busy_s]


def facts_of(facts: tuple[Fact, ...], kind: type[T]) -> list[T]:
    return [f for f in facts if isinstance(f, kind)]
