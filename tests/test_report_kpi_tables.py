"""A report by interval reads the call KPIs the KPI tables hold for the days they are up to
date with, and computes every other day from the calls: what it prints is what the calls
say, however fresh the tables are."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from collector.store.kpi_tables import pending
from collector.store.writes import write_facts
from kpi.present.report import build_report
from kpi.settings import KpiSettings
from kpi.windows import INTERVALS
from queuepulse.cli import main
from queuepulse.kpi_tables import rebuild
from tests.kpi_records import answered
from tests.test_kpi_tables import days_of, filled
from tests.traces import TRACE_NAMES, replayed_facts

DEFAULTS = KpiSettings()


def report(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["report", "--db", str(db), "--format", "json", *args]) == 0
    return dict(json.loads(capsys.readouterr().out))


def offered(found: dict[str, Any], period_start: float) -> int:
    """The all-queues count of calls offered in the period starting at ``period_start``."""
    return int(next(r["kpis"]["offered"] for r in found["rows"]
                    if r["queue"] is None and r["period"]["start"] == period_start))


def tampered(path: Path) -> tuple[str, float, int]:
    """Make the tables say 999 calls were offered in one busy hour (a change no calls
    explain, so that a report shows where its figures came from); that day, the hour's
    start and the calls really offered then."""
    with sqlite3.connect(path) as conn:
        period, start, count = conn.execute(
            "SELECT period, period_start, offered FROM kpi_interval_60m WHERE queue IS NULL "
            "ORDER BY offered DESC LIMIT 1").fetchone()
        conn.execute("UPDATE kpi_interval_60m SET offered = 999 WHERE queue IS NULL AND "
                     "period_start = ?", [start])
    return str(period)[:10], float(start), int(count)


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    path = tmp_path / "calls.sqlite"
    filled(path, replayed_facts("mixed-a"), DEFAULTS).close()
    return path


def test_a_report_by_interval_reads_the_call_kpis_the_tables_hold(
    stored: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    day, start, count = tampered(stored)
    assert offered(report(stored, capsys, "--from", day, "--interval", "1h"), start) == 999
    # without an interval a report always computes from the calls
    whole = report(stored, capsys, "--from", day)
    assert next(r for r in whole["rows"] if r["queue"] is None)["kpis"]["offered"] == count


def test_a_day_written_since_its_kpi_rows_were_computed_comes_from_the_calls(
    stored: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    day, start, count = tampered(stored)
    with sqlite3.connect(stored) as conn:
        write_facts(Database(conn), [answered(start + 60.0, num="5550199")], source="live")
    assert pending(Database(sqlite3.connect(stored))).spans
    assert offered(report(stored, capsys, "--from", day, "--interval", "1h"), start) == count + 1


def test_a_report_with_other_settings_than_the_tables_computes_from_the_calls(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    day, start, count = tampered(stored)
    config = tmp_path / "other.toml"
    config.write_text("[kpi]\nservice_level_s = 45\n", encoding="utf-8")
    found = report(stored, capsys, "--from", day, "--interval", "1h", "--config", str(config))
    assert offered(found, start) == count


def test_writes_stay_noted_until_the_tables_are_computed_for_them(stored: Path) -> None:
    db = Database(sqlite3.connect(stored))
    assert not pending(db).spans
    call = answered(1.8e9, wait=10, talk=60, acw=5)
    write_facts(db, [call], source="live")
    assert pending(db).spans == ((call.entered_at, call.entered_at + 75.0),)
    assert rebuild(db, []).days == 2  # the call's day, and the one before: its repeat window
    assert not pending(db).spans


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_a_report_from_the_tables_equals_the_report_from_the_calls(
    name: str, tmp_path: Path,
) -> None:
    facts = replayed_facts(name)
    db = filled(tmp_path / "calls.sqlite", facts, DEFAULTS)
    first, last = days_of(facts, "UTC")
    for size in INTERVALS.values():
        for queue in (None, "support"):
            computed = build_report(db, DEFAULTS, "UTC", first, last, size, queue)
            read = build_report(db, DEFAULTS, "UTC", first, last, size, queue, kpi_tables=True)
            assert dataclasses.asdict(read) == dataclasses.asdict(computed), (size, queue)
