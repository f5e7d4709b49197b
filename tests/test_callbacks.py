"""Abandoned callers: called again, called back, reached, and the ones still to call."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time
import urllib.request
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlite_utils import Database

from collector.facts import CallRecord, Dial, Outcome
from collector.parser import FrameParser
from collector.replay import replay
from collector.store.opening import open_database
from collector.store.writes import write_facts
from collector.tracker import Tracker, TrackerConfig
from kpi.board import KpiBoard
from kpi.callbacks import AGENT, CALLER, PendingCallbacks, callbacks, number_key
from kpi.present.report import build_report
from kpi.settings import KpiSettings
from queuepulse.kpi_tables import rebuild
from queuepulse.pbxsim.demo_pbx import DEMO_CENTER
from tests.kpi_records import answered, unanswered
from tests.served import DemoDaemon
from tests.test_callcenter import NINE_AM, simulate
from tests.traces import read_queue_log, replayed_facts, trace_dir

DAY = 86400.0
T0 = 1_795_478_400.0 + 9 * 3600  # 2026-11-24 09:00 UTC


def gave_up(at: float, number: str = "+15550000002", queue: str = "sales") -> CallRecord:
    call = unanswered(at, 30.0, Outcome.ABANDONED)
    return replace(call, caller_num=number, queue=queue, uniqueid=f"{at}", linkedid=f"{at}")


def came_back(at: float, number: str = "+15550000002", *, answered_call: bool = True
              ) -> CallRecord:
    call = (answered(at) if answered_call
            else unanswered(at, 5.0, Outcome.ABANDONED))
    return replace(call, caller_num=number, uniqueid=f"{at}", linkedid=f"{at}")


def dialled(at: float, number: str, answered_after: float | None = 5.0) -> Dial:
    return Dial("1.1", "1.1", "201", number, at,
                None if answered_after is None else at + answered_after,
                "ANSWER" if answered_after is not None else "NOANSWER")


def test_numbers_match_on_their_last_eight_digits_whatever_the_prefix() -> None:
    assert number_key("+15550000002") == number_key("0015550000002") == "50000002"
    assert number_key("5550000002") == "50000002"
    assert number_key("anonymous") is None and number_key("") is None
    assert number_key("201") == "201"


def test_a_caller_who_calls_again_and_is_answered_is_reached_by_caller() -> None:
    first = gave_up(T0)
    again = came_back(T0 + 600)
    (row,) = callbacks([first], [first, again], [], DAY)
    assert row.abandoned_at == pytest.approx(T0 + 30)
    assert (row.called_again_at, row.called_back_at, row.reached_by) == (T0 + 600, None, CALLER)
    assert row.reached_at == again.answered_at
    assert row.time_to_reach_s == pytest.approx(again.answered_at - (T0 + 30))  # type: ignore[operator]


def test_a_call_back_answered_reaches_and_one_unanswered_does_not() -> None:
    first = gave_up(T0)
    missed, reached = dialled(T0 + 100, "0015550000002", None), dialled(T0 + 900,
                                                                         "15550000002")
    (row,) = callbacks([first], [first], [missed, reached], DAY)
    assert (row.called_back_at, row.reached_at, row.reached_by) == (T0 + 100, T0 + 905, AGENT)


def test_nothing_after_the_window_counts_and_an_anonymous_caller_is_left_out() -> None:
    first = gave_up(T0)
    late = came_back(T0 + 2 * 3600)
    (row,) = callbacks([first], [first, late], [dialled(T0 + 3 * 3600, "+15550000002")],
                       3600.0)
    assert (row.called_again_at, row.called_back_at, row.reached_at) == (None, None, None)
    assert row.window_ends_at == pytest.approx(T0 + 30 + 3600)
    assert callbacks([gave_up(T0, number="anonymous")], [], [], DAY) == ()


def test_a_caller_who_gave_up_again_is_not_reached_by_that_call() -> None:
    first = gave_up(T0)
    again = came_back(T0 + 300, answered_call=False)
    (row, _) = callbacks([first, again], [first, again], [], DAY)
    assert (row.called_again_at, row.reached_at) == (T0 + 300, None)


def test_the_live_count_leaves_out_the_reached_and_the_callers_past_their_window() -> None:
    pending = PendingCallbacks(3600.0)
    pending.add([gave_up(T0, "+15550000001"), gave_up(T0 + 10, "+15550000002", "support"),
                 gave_up(T0 + 20, "+15550000003")])
    counts = {c.queue: c.callers for c in pending.pending(T0 + 100, since=T0 - 10)}
    assert counts == {"sales": 2, "support": 1, None: 3}
    pending.add([came_back(T0 + 200, "+15550000001"),
                 dialled(T0 + 300, "0015550000002")])
    counts = {c.queue: c.callers for c in pending.pending(T0 + 400, since=T0 - 10)}
    assert counts == {"sales": 1, None: 1}
    (everyone,) = pending.pending(T0 + 20 + 30 + 3601, since=T0 - 10)
    assert (everyone.queue, everyone.callers) == (None, 0)


def logged_callbacks(name: str, window_s: float) -> tuple[int, int]:
    """From queue_log alone: how many callers who gave up called again within the window,
    and how many of them were answered then (whole seconds, by caller number)."""
    numbers: dict[str, str] = {}
    entered: list[tuple[int, str, str]] = []
    connected: set[str] = set()
    gave_up_at: list[tuple[int, str]] = []
    for line in read_queue_log(trace_dir(name) / "queue_log"):
        if line.event == "ENTERQUEUE":
            numbers[line.callid] = line.data[1] if len(line.data) > 1 else ""
            entered.append((int(line.at), line.callid, numbers[line.callid]))
        elif line.event == "CONNECT":
            connected.add(line.callid)
        elif line.event == "ABANDON" and numbers.get(line.callid):
            gave_up_at.append((int(line.at), numbers[line.callid]))
    again = reached = 0
    for at, number in gave_up_at:
        later = [(t, c) for t, c, n in entered if n == number and at < t <= at + window_s]
        again += bool(later)
        reached += any(c in connected for _, c in later)
    return again, reached


def test_on_a_recorded_trace_callers_again_and_reached_are_queue_logs() -> None:
    facts = replayed_facts("mixed-a")
    calls = [f for f in facts if isinstance(f, CallRecord)]
    rows = callbacks(calls, calls, [], DAY)
    assert len(rows) == sum(1 for c in calls if c.outcome is Outcome.ABANDONED)
    again, reached = logged_callbacks("mixed-a", DAY)
    assert again > 0 and reached > 0
    assert sum(r.called_again_at is not None for r in rows) == again
    assert sum(r.reached_at is not None for r in rows) == reached


def stored(tmp_path: Path) -> Database:
    db = open_database(str(tmp_path / "calls.sqlite"))
    write_facts(db, replayed_facts("mixed-a"), source="replay")
    return db


def test_the_table_the_report_and_the_live_board_agree(tmp_path: Path) -> None:
    db = stored(tmp_path)
    facts = replayed_facts("mixed-a")
    calls = [f for f in facts if isinstance(f, CallRecord)]
    first = min(c.entered_at for c in calls)
    rebuild(db)
    day = dt.datetime.fromtimestamp(first, dt.UTC).date()
    report = build_report(db, KpiSettings(), "UTC", day, day)
    table = [tuple(row.values()) for row in db.query(
        "SELECT * FROM kpi_callbacks ORDER BY entered_at, queue")]
    assert table == [tuple(vars_of(r)) for r in report.callbacks]
    assert table, "mixed-a has callers who gave up"
    board = KpiBoard(KpiSettings())
    board.add(facts)
    end = max(c.entered_at for c in calls) + 60
    live = {p.queue: p.callers for p in board.callbacks.pending(end, since=first - 1)}
    assert live[None] == sum(r.reached_at is None for r in report.callbacks)


def vars_of(row: object) -> list[object]:
    return [getattr(row, name) for name in row.__dataclass_fields__]  # type: ignore[attr-defined]


def test_the_simulated_center_calls_back_its_abandoned_callers_and_queuepulse_sees_it() -> None:
    """The demo's call center: agents call back callers who gave up, some of whom call
    again; every dial queuepulse sees to a customer follows that customer giving up."""
    config = TrackerConfig(wrapuptime={"sales": 6.0})
    run = simulate(DEMO_CENTER, 1, NINE_AM, 4, config)
    facts = list(replay(run.frames, Tracker(config), FrameParser()))
    calls = [f for f in facts if isinstance(f, CallRecord)]
    dials = [f for f in facts if isinstance(f, Dial)]
    gave_up = {t.caller_num: t for t in run.center.truth if t.outcome.value == "abandoned"}
    customers = [d for d in dials if d.number in gave_up]
    assert len(customers) >= 20
    assert all(d.number in gave_up or d.number in DEMO_CENTER.supervisors for d in dials)
    rows = callbacks(calls, calls, dials, DAY)
    by = Counter(r.reached_by for r in rows)
    assert by[AGENT] >= 10 and by[CALLER] >= 5 and by[None] >= 10
    # every customer dialled was called back after giving up, within the window
    called_back = {r.caller_num for r in rows if r.called_back_at is not None}
    assert called_back == {d.number for d in customers}


def test_the_demo_pbx_callbacks_reach_the_database_and_the_live_board(
        tmp_path: Path) -> None:
    with DemoDaemon(tmp_path, "[web]\nenabled = true\nport = 0\n", speed=150.0,
                    seed=3) as served:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with contextlib.closing(sqlite3.connect(tmp_path / "demo.sqlite")) as conn:
                (stored_dials,) = conn.execute("SELECT count(*) FROM dials").fetchone()
            if stored_dials >= 3:
                break
        assert stored_dials >= 3
        with urllib.request.urlopen(served.url + "api/board", timeout=10) as response:
            board = json.loads(response.read())
        pending = [q["callbacks_pending"] for q in board["queues"]]
        assert board["all"]["callbacks_pending"] == sum(pending)
    db = Database(sqlite3.connect(tmp_path / "demo.sqlite"))
    first, last = db.execute("SELECT min(entered_at), max(entered_at) FROM calls").fetchone()
    day = dt.datetime.fromtimestamp(first, dt.UTC).date()
    report = build_report(db, KpiSettings(), "UTC", day,
                          dt.datetime.fromtimestamp(last, dt.UTC).date())
    assert any(r.called_back_at is not None for r in report.callbacks)
