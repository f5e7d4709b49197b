"""The KPI tables SQL users read hold what the Python definitions compute: per day, per
interval, per queue and per agent, on every recorded trace and across clock changes; they
follow the stored settings, and a new KPI is a new column."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from bench.recordings import recording_names
from collector.facts import Fact
from collector.store.opening import open_database
from collector.store.writes import prune, write_facts
from kpi.definitions import CallKpis
from kpi.occupancy import AgentKpis
from kpi.present.report import QueueRow, Report, build_report
from kpi.settings import KpiSettings
from kpi.tables import AGENT_KEYS, AGENT_TABLE, CALL_TABLES, PERIOD_KEYS, PERIODS
from kpi.windows import INTERVALS
from queuepulse.cli import main
from queuepulse.kpi_settings import store_kpi_settings
from queuepulse.kpi_tables import rebuild
from tests.kpi_records import answered, unanswered
from tests.traces import TRACE_CONFIG_TOML, final_records, replayed_facts, trace_dir

SETTINGS = KpiSettings(queue_service_level_s={"sales": 30}, service_level_variant="sl2")
TABLE_OF = {size.label: name for name, size in PERIODS.items()}

Key = tuple[str, float, str | None]


def filled(path: Path, facts: list[Fact] | tuple[Fact, ...], settings: KpiSettings = SETTINGS,
           timezone: str = "UTC") -> Database:
    """A database holding ``facts`` and ``settings``, its KPI tables computed."""
    db = open_database(str(path))
    write_facts(db, facts, source="replay")
    store_kpi_settings(db, settings, timezone)
    rebuild(db)
    return db


def table_rows(db: Database, table: str) -> dict[Key, dict[str, Any]]:
    return {(r["period"], r["period_start"], r["queue"]): r
            for r in db.query(f"SELECT * FROM {table}")}


def python_rows(report: Report) -> dict[Key, QueueRow]:
    return {(r.period.name, r.period.start, r.queue): r for r in report.rows
            if r.kpis.offered or r.kpis.handled}


def assert_same(stored: dict[Key, dict[str, Any]], python: dict[Key, QueueRow]) -> None:
    assert set(stored) == set(python)
    for key, row in python.items():
        assert stored[key]["period_end"] == row.period.end
        for field in dataclasses.fields(CallKpis):
            expected, got = getattr(row.kpis, field.name), stored[key][field.name]
            if expected is None:
                assert got is None, (key, field.name, got)
            else:
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), (key, field.name)


def days_of(facts: list[Fact] | tuple[Fact, ...], timezone: str) -> tuple[dt.date, dt.date]:
    calls = final_records(facts)
    tz = ZoneInfo(timezone)
    times = [c.entered_at for c in calls] + [c.ended_at + (c.acw_s or 0) for c in calls
                                             if c.ended_at is not None]
    return (dt.datetime.fromtimestamp(min(times), tz).date(),
            dt.datetime.fromtimestamp(max(times), tz).date())


def assert_tables_equal_the_report(db: Database, settings: KpiSettings, timezone: str,
                                   first: dt.date, last: dt.date) -> None:
    """Every call KPI table, and the agent table, equal the report of the same days."""
    for label, table in TABLE_OF.items():
        report = build_report(db, settings, timezone, first, last, INTERVALS[label])
        assert_same(table_rows(db, table), python_rows(report))
    report = build_report(db, settings, timezone, first, last, INTERVALS["1d"],
                          with_agents=True)
    stored = {(r["day"], r["interface"]): r for r in db.query("SELECT * FROM kpi_agent_daily")}
    python = {(a.period.name, a.kpis.interface): a.kpis for a in report.agents}
    assert set(stored) == set(python)
    for key, kpis in python.items():
        assert stored[key]["agent"] == kpis.name
        for field in AGENT_TABLE.column_names[len(AGENT_KEYS):]:
            if field != "pauses":
                assert stored[key][field] == pytest.approx(getattr(kpis, field)), (key, field)


@pytest.mark.parametrize("name", recording_names())
def test_the_kpi_tables_equal_the_report_on_every_recorded_trace(
    name: str, tmp_path: Path
) -> None:
    facts = replayed_facts(name)
    db = filled(tmp_path / "q.sqlite", facts)
    assert_tables_equal_the_report(db, SETTINGS, "UTC", *days_of(facts, "UTC"))


def test_pauses_are_kept_per_agent_and_reason_as_json(tmp_path: Path) -> None:
    facts = replayed_facts("lab-acw")
    db = filled(tmp_path / "q.sqlite", facts)
    first, last = days_of(facts, "UTC")
    report = build_report(db, SETTINGS, "UTC", first, last, INTERVALS["1d"], with_agents=True)
    paused = {a.kpis.interface: [dataclasses.asdict(p) for p in a.kpis.pauses]
              for a in report.agents}
    assert any(paused.values())
    stored = {row["interface"]: [{"reason": reason, "seconds": seconds} for reason, seconds in
                                 db.execute("SELECT json_extract(p.value, '$.reason'), "
                                            "json_extract(p.value, '$.seconds') FROM "
                                            "kpi_agent_daily, json_each(pauses) p WHERE "
                                            "interface = ?", [row["interface"]]).fetchall()]
              for row in db.query("SELECT interface FROM kpi_agent_daily")}
    assert stored == paused


def hourly_calls(day: str, timezone: str) -> list[Fact]:
    """A call entering every 20 minutes from a local midnight, of alternating outcomes."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(timezone)).timestamp()
    calls: list[Fact] = []
    for n in range(75):
        at = start + n * 1200.0
        queue = "sales" if n % 2 else "support"
        calls.append(answered(at, wait=n % 40, talk=300, acw=30, queue=queue) if n % 3 else
                     unanswered(at, wait=n % 9, queue=queue))
    return calls


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_the_tables_cut_days_and_intervals_on_the_local_clock_when_it_changes(
    day: str, tmp_path: Path
) -> None:
    calls = hourly_calls(day, "Europe/Berlin")
    db = filled(tmp_path / "q.sqlite", calls, timezone="Europe/Berlin")
    first, last = days_of(calls, "Europe/Berlin")
    assert_tables_equal_the_report(db, SETTINGS, "Europe/Berlin", first, last)
    hours = [label[11:] for label, _, queue in table_rows(db, "kpi_interval_60m")
             if queue is None and label.startswith(day)]
    # the skipped hour is missing, the repeated one shows twice with its UTC offset
    expected = ["02:00+02:00", "02:00+01:00"] if day == "2026-10-25" else []
    assert [h for h in hours if h.startswith("02:00")] == expected
    assert len(hours) == (25 if day == "2026-10-25" else 23)


def columns(db: Database, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()]


def test_a_table_has_the_keys_of_its_period_then_a_column_per_kpi(tmp_path: Path) -> None:
    db = filled(tmp_path / "q.sqlite", replayed_facts("smoke"))
    kpis = [f.name for f in dataclasses.fields(CallKpis)]
    for table in CALL_TABLES:
        assert columns(db, table.name) == [name for name, _ in PERIOD_KEYS] + kpis
    agent = [f.name for f in dataclasses.fields(AgentKpis) if f.name not in ("interface", "name")]
    assert columns(db, "kpi_agent_daily") == [name for name, _ in AGENT_KEYS] + agent


def test_the_stored_settings_decide_what_the_tables_say(tmp_path: Path) -> None:
    facts: list[Fact] = [answered(1e9, wait=25), answered(1e9 + 60, wait=10)]
    db = filled(tmp_path / "q.sqlite", facts, KpiSettings())
    sql = "SELECT period, service_level FROM kpi_daily WHERE queue IS NULL"
    assert db.execute(sql).fetchall() == [("2001-09-09", 0.5)]
    store_kpi_settings(db, KpiSettings(service_level_s=30), "UTC")
    assert rebuild(db).reason == "settings changed"
    assert db.execute(sql).fetchall() == [("2001-09-09", 1.0)]
    store_kpi_settings(db, KpiSettings(service_level_s=30), "Pacific/Auckland")
    rebuild(db, [dt.date(2001, 9, 9)])  # a range is not enough: every day is computed again
    # 1e9 is 2001-09-09 01:46 UTC, 13:46 in Auckland
    assert db.execute(sql).fetchall() == [("2001-09-09", 1.0)]
    (start,) = db.execute("SELECT period_start FROM kpi_daily WHERE queue IS NULL").fetchone()
    assert start == dt.datetime(2001, 9, 9, tzinfo=ZoneInfo("Pacific/Auckland")).timestamp()
    assert rebuild(db).reason is None


def test_a_new_kpi_makes_the_table_again_and_every_day_computed(tmp_path: Path) -> None:
    facts = replayed_facts("mixed-a")
    db = filled(tmp_path / "q.sqlite", facts)
    # the table as a queuepulse without the fcr KPI made it
    older = [[name, kind] for name, kind in CALL_TABLES[0].columns if name != "fcr"]
    db.execute("ALTER TABLE kpi_daily DROP COLUMN fcr")
    db.execute("UPDATE kpi_tables SET columns = ? WHERE name = 'kpi_daily'",
               [json.dumps(older)])
    db.conn.commit()
    rebuilt = rebuild(db, [])
    assert rebuilt.reason == "new tables or columns"
    assert "fcr" in columns(db, "kpi_daily")
    assert_tables_equal_the_report(db, SETTINGS, "UTC", *days_of(facts, "UTC"))


def test_replaying_and_importing_compute_the_days_they_wrote(tmp_path: Path) -> None:
    db_path = tmp_path / "q.sqlite"
    config = tmp_path / "queuepulse.toml"
    config.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    for name in ("smoke", "mixed-a"):
        assert main(["replay", str(trace_dir(name) / "ami.jsonl"), "--db", str(db_path),
                     "--config", str(config)]) == 0
    assert main(["import-queue-log", str(trace_dir("hold-a") / "queue_log"), "--db",
                 str(db_path), "--config", str(config)]) == 0
    db = Database(sqlite3.connect(db_path))
    facts = [*replayed_facts("smoke"), *replayed_facts("mixed-a"), *replayed_facts("hold-a")]
    first, last = days_of(facts, "UTC")
    assert_tables_equal_the_report(db, KpiSettings(), "UTC", first, last)


def test_hold_rate_is_null_over_imported_history_that_cannot_see_hold(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    assert main(["import-queue-log", str(trace_dir("hold-a") / "queue_log"), "--db", str(db)]) == 0
    with sqlite3.connect(db) as conn:
        rates = conn.execute("SELECT hold_rate FROM kpi_daily WHERE handled > 0").fetchall()
    assert rates and all(rate is None for (rate,) in rates)


def test_rebuild_kpis_stores_the_configured_settings_and_computes_with_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = replayed_facts("mixed-a")
    db = filled(tmp_path / "q.sqlite", facts, KpiSettings())
    db.close()
    config = tmp_path / "queuepulse.toml"
    config.write_text('[pbx]\ntimezone = "America/Chicago"\n[kpi]\nservice_level_s = 45\n',
                      encoding="utf-8")
    # the calls came in during the evening of the 23rd, in Chicago
    assert main(["rebuild-kpis", "--db", str(tmp_path / "q.sqlite"), "--config", str(config),
                 "--from", "2026-11-01"]) == 0
    assert "1 day computed (2026-11-23, every day: settings changed)" in (
        capsys.readouterr().out)
    db = Database(sqlite3.connect(tmp_path / "q.sqlite"))
    chicago = KpiSettings(service_level_s=45)
    assert_tables_equal_the_report(db, chicago, "America/Chicago", *days_of(facts,
                                                                              "America/Chicago"))
    assert main(["rebuild-kpis", "--db", str(tmp_path / "q.sqlite"), "--from", "2026-11-22",
                 "--to", "2026-11-23"]) == 0
    assert "2 days computed (2026-11-22 to 2026-11-23) in" in capsys.readouterr().out
    assert_tables_equal_the_report(db, chicago, "America/Chicago", *days_of(facts,
                                                                              "America/Chicago"))


def test_rebuild_kpis_refuses_a_database_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.sqlite"
    assert main(["rebuild-kpis", "--db", str(missing)]) == 2
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.exists()


def test_rows_of_days_retention_deleted_stay_until_the_settings_change(tmp_path: Path) -> None:
    old, new = 1e9, 1e9 + 10 * 86400.0
    db = filled(tmp_path / "q.sqlite", [answered(old), answered(new)], KpiSettings())
    assert prune(db, now=new, retention_days=5, events_retention_days=0) == 1
    days = "SELECT period FROM kpi_daily WHERE queue IS NULL ORDER BY period"
    assert rebuild(db).days == 1
    assert db.execute(days).fetchall() == [("2001-09-09",), ("2001-09-19",)]
    store_kpi_settings(db, KpiSettings(service_level_s=30), "UTC")
    rebuild(db)
    assert db.execute(days).fetchall() == [("2001-09-19",)]
