"""``queuepulse calls``: the calls of a replayed trace, found by every filter, in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from collector.facts import CallRecord, Outcome
from collector.store.call_search import CallFilter, search_calls
from collector.store.opening import open_database
from collector.store.writes import write_facts
from queuepulse.cli import main
from tests.test_report import trace_day
from tests.traces import final_records, replayed_facts
from tests.user_errors import files, one_line, run_cli

TRACE = "mixed-a"


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = tmp_path / "calls.sqlite"
    db = open_database(str(path))
    write_facts(db, replayed_facts(TRACE), source="replay")
    db.close()
    return str(path)


def traced() -> list[CallRecord]:
    # a stint's record is revised as its call goes on: the table holds the last
    return sorted(final_records(replayed_facts(TRACE)), key=lambda c: (c.entered_at, c.queue))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out


def test_every_filter_finds_exactly_the_matching_calls(db_path: str) -> None:
    calls = traced()
    abandoned = next(c for c in calls if c.outcome is Outcome.ABANDONED)
    answered = next(c for c in calls if c.agent is not None)
    db = open_database(db_path)
    everything = CallFilter(0, 4e9)
    assert search_calls(db, everything) == calls
    number = abandoned.caller_num[-5:]
    assert search_calls(db, CallFilter(0, 4e9, number=number)) == [
        c for c in calls if c.caller_num.endswith(number)]
    assert search_calls(db, CallFilter(0, 4e9, queue="sales")) == [
        c for c in calls if c.queue == "sales"]
    assert search_calls(db, CallFilter(0, 4e9, agent=answered.agent)) == [
        c for c in calls if c.agent == answered.agent]
    assert search_calls(db, CallFilter(0, 4e9, agent=answered.agent_interface)) == [
        c for c in calls if c.agent_interface == answered.agent_interface]
    both = CallFilter(0, 4e9, queue="support", outcome=Outcome.ABANDONED)
    assert search_calls(db, both) == [
        c for c in calls if c.queue == "support" and c.outcome is Outcome.ABANDONED]
    assert search_calls(db, CallFilter(0, 4e9, limit=3)) == calls[:3]
    middle = calls[len(calls) // 2].entered_at
    assert search_calls(db, CallFilter(middle, 4e9)) == [
        c for c in calls if c.entered_at >= middle]
    # LIKE's wildcards in a number are taken literally
    assert search_calls(db, CallFilter(0, 4e9, number="%")) == []


def test_the_table_fits_100_columns_and_names_each_call(db_path: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    day = str(trace_day(TRACE))
    out = run(["calls", "--db", db_path, "--from", day], capsys)
    lines = [line.rstrip() for line in out.splitlines()]
    assert max(len(line) for line in lines) <= 100
    assert lines[0] == f"{len(traced())} calls, {day} (UTC)"
    assert lines[1].split() == ["entered", "queue", "caller", "outcome", "agent", "wait",
                                "talk", "hold", "ACW"]
    rows = lines[3:]
    assert len(rows) == len(traced())
    first = traced()[0]
    assert rows[0].split()[1:4] == [first.queue, first.caller_num, first.outcome.value]


def test_csv_and_json_carry_every_column_of_the_filtered_calls(
        db_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    day = str(trace_day(TRACE))
    wanted = [c for c in traced() if c.queue == "sales" and c.outcome is Outcome.ANSWERED]
    found = list(csv.DictReader(io.StringIO(run(
        ["calls", "--db", db_path, "--from", day, "--queue", "sales", "--outcome", "answered",
         "--format", "csv"], capsys))))
    assert [row["call_id"] for row in found] == [c.call_id for c in wanted]
    assert all(row["entered_local"].startswith(day) for row in found)
    assert float(found[0]["wait_s"]) == pytest.approx(wanted[0].wait_s, abs=0.05)
    listed = json.loads(run(["calls", "--db", db_path, "--from", day, "--queue", "sales",
                             "--outcome", "answered", "--format", "json"], capsys))
    assert [row["call_id"] for row in listed] == [c.call_id for c in wanted]
    assert listed[0]["talk_s"] == wanted[0].talk_s


def test_a_day_without_calls_lists_none(db_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(["calls", "--db", db_path, "--from", "2001-01-01"], capsys)
    assert out.splitlines()[0].rstrip() == "0 calls, 2001-01-01 (UTC)"


def test_a_range_backwards_is_one_line_and_changes_nothing(
        db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files(tmp_path)
    status, err = run_cli(["calls", "--db", db_path, "--from", "2026-11-25", "--to",
                           "2026-11-24"], capsys)
    assert status == 2
    assert "before it starts" in one_line(err)
    status, err = run_cli(["calls", "--db", db_path, "--limit", "-1"], capsys)
    assert status == 2
    assert "--limit" in one_line(err)
    assert files(tmp_path) == before
