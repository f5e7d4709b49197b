"""The SQL views for Datasette agree with the Python definitions, clock changes included."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from collector.facts import CallRecord
from collector.store.opening import open_database
from collector.store.writes import write_facts
from kpi.definitions import CallKpis, KpiSettings
from kpi.present.report import QueueRow, Report, build_report
from kpi.windows import INTERVALS, IntervalSize
from queuepulse.cli import main
from queuepulse.kpi_settings import store_kpi_settings
from tests.kpi_records import answered, unanswered
from tests.traces import TRACE_NAMES, replayed_facts, trace_dir

SETTINGS = KpiSettings(queue_service_level_s={"sales": 30})
NOT_IN_VIEWS = {"service_level", "wait_p50_s", "wait_p90_s"}
"""The configured variant is a choice of column; percentiles are not plain SQL."""
VIEWS = {"1d": "kpi_daily", "15m": "kpi_interval_15m", "30m": "kpi_interval_30m",
         "1h": "kpi_interval_60m"}


Key = tuple[str, float, str | None]


def view_rows(db: Database, view: str) -> dict[Key, dict[str, Any]]:
    return {(r["period"], r["period_start"], r["queue"]): r
            for r in db.query(f"SELECT * FROM {view}")}


def python_rows(report: Report) -> dict[Key, QueueRow]:
    return {(r.period.name, r.period.start, r.queue): r for r in report.rows
            if r.kpis.offered or r.kpis.handled}


def assert_same(view: dict[Key, dict[str, Any]], python: dict[Key, QueueRow]) -> None:
    assert set(view) == set(python)
    for key, row in python.items():
        assert view[key]["period_end"] == row.period.end
        for field in dataclasses.fields(CallKpis):
            if field.name in NOT_IN_VIEWS:
                continue
            expected, got = getattr(row.kpis, field.name), view[key][field.name]
            if expected is None:
                assert got is None, (key, field.name, got)
            else:
                assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), (key, field.name)


def days_of(calls: list[CallRecord], timezone: str) -> tuple[dt.date, dt.date]:
    tz = ZoneInfo(timezone)
    times = [c.entered_at for c in calls] + [c.ended_at + (c.acw_s or 0) for c in calls
                                             if c.ended_at is not None]
    return (dt.datetime.fromtimestamp(min(times), tz).date(),
            dt.datetime.fromtimestamp(max(times), tz).date())


@pytest.mark.parametrize("name", TRACE_NAMES)
@pytest.mark.parametrize("interval", ["1d", "15m", "30m", "1h"])
def test_kpi_views_equal_the_definitions_on_a_replayed_trace(
    name: str, interval: str, tmp_path: Path
) -> None:
    db = open_database(str(tmp_path / "q.sqlite"))
    facts = replayed_facts(name)
    write_facts(db, facts, source="replay")
    store_kpi_settings(db, SETTINGS, "UTC")
    first, last = days_of([f for f in facts if isinstance(f, CallRecord)], "UTC")
    size: IntervalSize = INTERVALS[interval]
    report = build_report(db, SETTINGS, "UTC", first, last, size)
    assert_same(view_rows(db, VIEWS[interval]), python_rows(report))


def test_agent_view_equals_the_agent_report(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "q.sqlite"))
    write_facts(db, replayed_facts("mixed-a"), source="replay")
    store_kpi_settings(db, SETTINGS, "UTC")
    first, last = days_of([f for f in replayed_facts("mixed-a") if isinstance(f, CallRecord)],
                          "UTC")
    report = build_report(db, SETTINGS, "UTC", first, last, INTERVALS["1d"], with_agents=True)
    view = {(r["day"], r["interface"]): r for r in db.query("SELECT * FROM kpi_agent_daily")}
    python = {(a.period.name, a.kpis.interface): a.kpis for a in report.agents}
    assert set(view) == set(python)
    for key, kpis in python.items():
        for field in ("handled", "talk_s", "hold_s", "acw_s", "aht_s", "logged_in_s",
                      "paused_s", "busy_s", "occupancy"):
            assert view[key][field] == pytest.approx(getattr(kpis, field)), (key, field)


def hourly_calls(day: str, timezone: str) -> list[CallRecord]:
    """A call entering every 20 minutes from a local midnight, of alternating outcomes."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(timezone)).timestamp()
    calls: list[CallRecord] = []
    for n in range(75):
        at = start + n * 1200.0
        queue = "sales" if n % 2 else "support"
        calls.append(answered(at, wait=n % 40, talk=300, acw=30, queue=queue) if n % 3 else
                     unanswered(at, wait=n % 9, queue=queue))
    return calls


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
@pytest.mark.parametrize("interval", ["1d", "15m", "1h"])
def test_views_cut_days_and_intervals_on_the_local_clock_when_it_changes(
    day: str, interval: str, tmp_path: Path
) -> None:
    db = open_database(str(tmp_path / "q.sqlite"))
    calls = hourly_calls(day, "Europe/Berlin")
    write_facts(db, calls, source="replay")
    store_kpi_settings(db, SETTINGS, "Europe/Berlin")
    first, last = days_of(calls, "Europe/Berlin")
    report = build_report(db, SETTINGS, "Europe/Berlin", first, last, INTERVALS[interval])
    python = python_rows(report)
    assert_same(view_rows(db, VIEWS[interval]), python)
    if interval == "1h":
        hours = [label[11:] for label, _, queue in python
                 if queue is None and label.startswith(day)]
        # the skipped hour is missing, the repeated one shows twice with its UTC offset
        expected = (["02:00+02:00", "02:00+01:00"] if day == "2026-10-25" else [])
        assert [h for h in hours if h.startswith("02:00")] == expected
        assert len(hours) == (25 if day == "2026-10-25" else 23)


def test_stored_settings_change_what_the_views_say(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "q.sqlite"))
    write_facts(db, [answered(1e9, wait=25), answered(1e9 + 60, wait=10)], source="replay")
    (sl,) = db.execute("SELECT service_level_answered FROM kpi_daily WHERE queue IS NULL")
    assert sl == (0.5,)
    store_kpi_settings(db, KpiSettings(service_level_s=30), "UTC")
    (sl,) = db.execute("SELECT service_level_answered FROM kpi_daily WHERE queue IS NULL")
    assert sl == (1.0,)
    store_kpi_settings(db, KpiSettings(service_level_s=30), "Pacific/Auckland")
    (day,) = db.execute("SELECT period FROM kpi_daily WHERE queue IS NULL")
    assert day == ("2001-09-09",)  # 1e9 is 2001-09-09 01:46 UTC, 13:46 in Auckland


def test_hold_rate_view_is_null_over_imported_history_that_cannot_see_hold(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.sqlite"
    assert main(["import-queue-log", str(trace_dir("hold-a") / "queue_log"), "--db", str(db)]) == 0
    with sqlite3.connect(db) as conn:
        rates = conn.execute("SELECT hold_rate FROM kpi_daily WHERE handled > 0").fetchall()
    assert rates and all(rate is None for (rate,) in rates)
