"""Reports from SQLite: the same definitions as the live board, and the report command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from collector.facts import AgentInterval, CallRecord
from collector.live import LiveView
from collector.store.opening import open_database
from collector.store.reads import read_calls, read_intervals
from collector.store.writes import write_facts
from kpi.board import KpiBoard
from kpi.present.report import build_report
from kpi.settings import KpiSettings
from kpi.windows import INTERVALS, local_date
from queuepulse.cli import main
from tests.kpi_records import answered, unanswered
from tests.traces import TRACE_CONFIG_TOML, TRACE_NAMES, final_records, replayed_facts, trace_dir
from tests.user_errors import files, one_line, run_cli

SETTINGS = KpiSettings(queue_service_level_s={"sales": 30})


def stored(name: str, folder: Path) -> Database:
    db = open_database(str(folder / f"{name}.sqlite"))
    write_facts(db, replayed_facts(name), source="replay")
    return db


def trace_day(name: str) -> dt.date:
    first = min(f.entered_at for f in replayed_facts(name) if isinstance(f, CallRecord))
    return local_date(first, KpiBoard(SETTINGS).timezone)


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_stored_rows_read_back_as_the_facts_the_tracker_made(name: str, tmp_path: Path) -> None:
    db = stored(name, tmp_path)
    facts = replayed_facts(name)
    assert set(read_calls(db, 0, 4e9)) == set(final_records(facts))
    # an interval is keyed by agent and start: a zero-length one gives way to its successor
    kept = {(f.interface, f.started_at): f for f in facts if isinstance(f, AgentInterval)}
    # one still open where the trace ends is stored, and read by none: it adds to no figure
    assert set(read_intervals(db, 0, 4e9)) == {i for i in kept.values() if i.ended_at}
    (open_rows,) = db.execute("SELECT count(*) FROM agent_states WHERE ended_at IS NULL"
                              ).fetchone()
    assert open_rows == sum(1 for i in kept.values() if i.ended_at is None)


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_a_days_report_equals_the_live_boards_today(name: str, tmp_path: Path) -> None:
    db = stored(name, tmp_path)
    day = trace_day(name)
    report = build_report(db, SETTINGS, "UTC", day, day)
    board = KpiBoard(SETTINGS)
    board.add(replayed_facts(name))
    end_of_trace = max(f.ended_at or f.started_at for f in replayed_facts(name)
                       if isinstance(f, AgentInterval)) + 1
    snapshot = board.snapshot(LiveView(end_of_trace, (), (), ()))
    live = {k.queue: k.calls for k in snapshot.kpis if k.window.name == "today"}
    assert {row.queue: row.kpis for row in report.rows} == live
    (center,) = report.center
    (today_center,) = [k.center for k in snapshot.kpis if k.window.name == "today" and k.center]
    assert center.kpis == today_center


def test_calls_count_on_the_local_day_of_the_configured_time_zone(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "q.sqlite"))
    # 2026-11-24 23:30 UTC is 2026-11-25 00:30 in Berlin
    late = dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC).timestamp()
    write_facts(db, [answered(late), unanswered(late - 7200, wait=30)], source="replay")
    berlin_24 = build_report(db, SETTINGS, "Europe/Berlin", dt.date(2026, 11, 24),
                             dt.date(2026, 11, 24))
    berlin_25 = build_report(db, SETTINGS, "Europe/Berlin", dt.date(2026, 11, 25),
                             dt.date(2026, 11, 25))
    utc_24 = build_report(db, SETTINGS, "UTC", dt.date(2026, 11, 24), dt.date(2026, 11, 24))
    assert [r.kpis.offered for r in berlin_24.rows if r.queue is None] == [1]
    assert [r.kpis.offered for r in berlin_25.rows if r.queue is None] == [1]
    assert [r.kpis.offered for r in utc_24.rows if r.queue is None] == [2]


def test_intervals_split_the_day_and_add_up_to_it(tmp_path: Path) -> None:
    db = stored("mixed-a", tmp_path)
    day = trace_day("mixed-a")
    whole = build_report(db, SETTINGS, "UTC", day, day)
    quarters = build_report(db, SETTINGS, "UTC", day, day, INTERVALS["15m"], queue="sales")
    assert len(quarters.rows) == 96 and {r.queue for r in quarters.rows} == {"sales"}
    (sales,) = [r.kpis for r in whole.rows if r.queue == "sales"]
    assert sum(r.kpis.offered for r in quarters.rows) == sales.offered
    assert sum(r.kpis.handled for r in quarters.rows) == sales.handled


def test_agent_report_has_each_agents_handling_and_pauses(tmp_path: Path) -> None:
    db = stored("mixed-a", tmp_path)
    day = trace_day("mixed-a")
    report = build_report(db, SETTINGS, "UTC", day, day, with_agents=True)
    agents = {a.kpis.name: a.kpis for a in report.agents}
    assert set(agents) == {"Agent One", "Agent Two", "Agent Three", "Agent Four"}
    assert sum(a.handled for a in agents.values()) == 80
    assert [p.reason for p in agents["Agent Two"].pauses] == ["Lunch"]
    assert all(a.occupancy is not None and 0 < a.occupancy <= 1 for a in agents.values())


@pytest.fixture
def trace_db(tmp_path: Path) -> tuple[Path, Path, str]:
    db, config = tmp_path / "calls.sqlite", tmp_path / "queuepulse.toml"
    config.write_text(TRACE_CONFIG_TOML + "service_level_s = 30\n", encoding="utf-8")
    assert main(["replay", str(trace_dir("mixed-a") / "ami.jsonl"), "--db", str(db),
                 "--config", str(config)]) == 0
    return db, config, trace_day("mixed-a").isoformat()


def test_report_command_prints_json_with_every_kpi(
    trace_db: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, config, day = trace_db
    assert main(["report", "--db", str(db), "--config", str(config), "--from", day,
                 "--format", "json", "--agents"]) == 0
    report = json.loads(capsys.readouterr().out)
    everything = next(r for r in report["rows"] if r["queue"] is None)["kpis"]
    assert (everything["offered"], everything["answered"]) == (95, 80)
    assert everything["service_level"] == pytest.approx(67 / 85)
    assert len(report["agents"]) == 4 and report["first"] == day


def test_report_command_prints_csv_rows_per_interval_and_queue(
    trace_db: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, config, day = trace_db
    assert main(["report", "--db", str(db), "--config", str(config), "--from", day, "--to",
                 day, "--interval", "1h", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 24 * 3
    busy = [r for r in rows if r["offered"] != "0"]
    assert {r["queue"] for r in busy} == {"sales", "support", ""}
    assert sum(int(r["offered"]) for r in busy if r["queue"]) == 95


def test_report_command_prints_readable_tables(
    trace_db: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, config, day = trace_db
    assert main(["report", "--db", str(db), "--config", str(config), "--from", day,
                 "--agents"]) == 0
    out = capsys.readouterr().out
    for text in ("all queues", "sales", "support", "78.8%", "Agent Two", "Lunch", "occupancy"):
        assert text in out


@pytest.mark.parametrize(("args", "message"), [
    (["--db", "missing.sqlite"], "no database at missing.sqlite"),
    (["--from", "24.11.2026"], "Write it as YYYY-MM-DD"),
    (["--from", "2026-11-25", "--to", "2026-11-24"], "Give --from on or before --to"),
])
def test_report_command_names_the_fix_for_bad_arguments(
    args: list[str], message: str, trace_db: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _, _ = trace_db
    monkeypatch.chdir(db.parent)
    assert main(["report", "--db", str(db), *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("args", "problem", "fix"), [
    (["--queue", "nosuch"], "no calls of queue 'nosuch'", "Give --queue one of those queues"),
    (["--from", "2026-12-01", "--to", "2026-12-31"], "no calls from 2026-12-01 to 2026-12-31",
     "Give --from and --to days within those"),
    (["--from", "2026-11-25", "--queue", "sales"], "no calls on 2026-11-25 in queue 'sales'",
     "Give --from and --to days within those"),
])
def test_a_report_of_nothing_says_what_the_database_holds(
    args: list[str], problem: str, fix: str, trace_db: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, _, day = trace_db
    before = files(db.parent)
    status, err = run_cli(["report", "--db", str(db), *args], capsys)
    assert status == 2
    line = one_line(err)
    assert f"{problem} in {db}" in line
    assert f"it holds 95 calls of the queues sales, support on {day} (UTC)" in line
    assert fix in line
    assert files(db.parent) == before


def test_a_report_of_an_empty_database_says_how_to_fill_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "calls.sqlite"
    open_database(str(db)).close()
    status, err = run_cli(["report", "--db", str(db)], capsys)
    assert status == 2
    assert f"{db} holds no calls yet. Fill it with 'queuepulse run'" in one_line(err)
