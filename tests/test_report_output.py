"""``queuepulse report`` as people read it (tables that fit) and as programs read it (CSV)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from rich.console import Console

from collector.facts import AgentState
from collector.replay import replay_to_database
from collector.store.opening import open_database
from collector.store.writes import write_facts
from collector.tracker import Tracker
from kpi.present.formats import duration
from kpi.present.report import build_report
from kpi.present.report_output import report_csv, report_tables
from kpi.settings import KpiSettings
from kpi.windows import local_date
from queuepulse.cli import main
from tests.kpi_records import answered, interval
from tests.traces import TRACE_CONFIG, replayed_calls, trace_dir

TRACES = ("mixed-a", "lab-load", "lab-abandon")
"""Recorded days: two queues and four agents; eleven agents with long names in four
scripts, breaks and lunches; timeouts and a closed queue."""
UTC = ZoneInfo("UTC")
DURATION = re.compile(r"(\d+:)?\d{1,2}:\d\d")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Each trace replayed into its own database, with its day."""
    folder = tmp_path_factory.mktemp("reports")
    found = {}
    for name in TRACES:
        db = folder / f"{name}.sqlite"
        calls = replay_to_database(trace_dir(name) / "ami.jsonl", str(db),
                                   Tracker(TRACE_CONFIG)).calls
        day = local_date(min(c.entered_at for c in calls), UTC)
        found[name] = (db, day.isoformat())
    return found


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """The lines ``queuepulse report`` prints off a terminal."""
    capsys.readouterr()
    assert main(["report", *args]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("name", TRACES)
@pytest.mark.parametrize("extra", [[], ["--agents"], ["--interval", "15m", "--agents"]])
def test_the_default_report_fits_100_columns(
    name: str, extra: list[str], recorded: dict[str, tuple[Path, str]],
    capsys: pytest.CaptureFixture[str]
) -> None:
    db, day = recorded[name]
    lines = printed(capsys, "--db", str(db), "--from", day, *extra)
    assert max(cell_len(line) for line in lines) <= 100
    assert not any("…" in line for line in lines)
    heading = next(line for line in lines if line.startswith(("queue ", "period ")))
    assert heading.split()[-9:] == ["offered", "answered", "abandoned", "other", "SL", "ASA",
                                    "AHT", "abn%", "longest"]
    if "--agents" in extra:
        agents = next(line for line in lines if " handled " in line)
        assert agents.split()[-9:] == ["agent", "handled", "AHT", "RONA", "logged", "in",
                                       "paused", "occupancy", "pauses"]


def test_wide_adds_every_other_column_and_cuts_nothing(
    recorded: dict[str, tuple[Path, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, day = recorded["lab-load"]
    compact = printed(capsys, "--db", str(db), "--from", day, "--agents")
    wide = printed(capsys, "--db", str(db), "--from", day, "--agents", "--wide")
    headings = next(line for line in wide if line.startswith("queue ")).split()
    for column in ("short", "p90", "talk", "hold", "ACW", "transfer", "FCR"):
        assert column in headings
        assert column not in next(line for line in compact if line.startswith("queue "))
    assert max(cell_len(line) for line in wide) > 100
    assert not any("…" in line for line in wide)


def test_durations_are_minutes_and_seconds_and_hours_past_one(
    recorded: dict[str, tuple[Path, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, day = recorded["mixed-a"]
    lines = printed(capsys, "--db", str(db), "--from", day)
    calls = [c for c in replayed_calls("mixed-a").values() if c.queue == "sales"]
    waits = [c.wait_s for c in calls if c.answered_at is not None and c.wait_s is not None]
    sales = next(line for line in lines if line.startswith("sales ")).split()
    assert sales[6] == duration(sum(waits) / len(waits))  # ASA
    assert sales[-1] == duration(max(waits))  # longest
    assert all(DURATION.fullmatch(cell) for cell in (sales[6], sales[7], sales[-1]))
    assert (duration(59.6), duration(605), duration(3725)) == ("1:00", "10:05", "1:02:05")


def test_csv_rounds_durations_to_a_tenth_and_ratios_to_a_thousandth(
    recorded: dict[str, tuple[Path, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, day = recorded["mixed-a"]
    exact = json.loads("\n".join(printed(capsys, "--db", str(db), "--from", day, "--format",
                                         "json")))
    rows = list(csv.DictReader(io.StringIO("\n".join(
        printed(capsys, "--db", str(db), "--from", day, "--format", "csv")))))
    for row, full in zip(rows, exact["rows"], strict=True):
        assert row["period_start"].isdigit()
        for field, value in full["kpis"].items():
            if isinstance(value, float):
                digits = 1 if field.endswith("_s") else 2 if field.endswith("_minutes") else 3
                assert float(row[field]) == round(value, digits), field
                assert len(row[field].partition(".")[2]) <= digits, field
        assert float(row["service_level_target"]) == 0.8


def test_pauses_without_a_reason_count_in_paused_but_are_not_listed(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "pauses.sqlite"))
    start = 1_795_478_400.0 + 9 * 3600
    write_facts(db, [
        answered(start + 60),
        interval(AgentState.AVAILABLE, start, start + 600),
        interval(AgentState.PAUSED, start + 600, start + 900),
        interval(AgentState.PAUSED, start + 900, start + 1200, reason="Lunch"),
    ], source="replay")
    day = local_date(start, UTC)
    report = build_report(db, KpiSettings(), "UTC", day, day, with_agents=True)
    (agent,) = report.agents
    assert agent.kpis.paused_s == 600
    out = io.StringIO()
    console = Console(file=out, width=100)
    for table in report_tables(report):
        console.print(table)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("201 "))
    assert line.split()[-2:] == ["Lunch", "5:00"] and "(none)" not in out.getvalue()
    assert line.split()[5] == "10:00"  # paused, both pauses
    (row,) = csv.DictReader(io.StringIO(report_csv(report, agents=True)))
    assert row["pauses"] == "Lunch=300.0"
