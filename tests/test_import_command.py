"""``queuepulse import-queue-log``: queue_log files into real SQLite tables, each fact once."""

from __future__ import annotations

import gzip
import io
import itertools
import sqlite3
import sys
from pathlib import Path

import pytest

from queuepulse.cli import build_parser, main
from tests.traces import TRACE_CONFIG_TOML, TRACE_NAMES, logged_calls, trace_dir
from tests.user_errors import one_line, run_cli

CallRow = tuple[str, str, str, float | None, float | None, float | None]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "queuepulse.toml"
    path.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    return path


def import_logs(db: Path, config: Path, *files: str | Path) -> int:
    """Run the command; its exit status."""
    return main(["import-queue-log", *map(str, files), "--db", str(db), "--config", str(config)])


def calls(db: Path) -> list[CallRow]:
    """uniqueid, queue, outcome, wait, talk and ACW of every stored call, in order."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT uniqueid, queue, outcome, wait_s, talk_s, acw_s FROM calls "
                            "ORDER BY entered_at, uniqueid").fetchall()


def intervals(db: Path) -> list[tuple[str, str, float, float]]:
    """agent, state, start and end of every stored agent interval, in order."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT agent, state, started_at, ended_at FROM agent_states "
                            "ORDER BY agent, started_at").fetchall()


def assert_no_agent_counted_twice(db: Path) -> None:
    """No agent is in two stored intervals at the same moment, whatever their source."""
    for (agent, _, _, end), (other, _, start, _) in itertools.pairwise(intervals(db)):
        if agent == other:
            assert end <= start, (agent, end, start)


def pieces(tmp_path: Path, name: str, cuts: list[tuple[int, int]]) -> list[Path]:
    """A trace's queue_log cut into (overlapping) pieces; the second is gzip'd."""
    lines = (trace_dir(name) / "queue_log").read_text(encoding="utf-8").splitlines(True)
    paths = []
    for number, (start, end) in enumerate(cuts):
        data = "".join(lines[start:end]).encode()
        path = tmp_path / (f"queue_log.{number}.gz" if number == 1 else f"queue_log.{number}")
        path.write_bytes(gzip.compress(data) if number == 1 else data)
        paths.append(path)
    return paths


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_each_trace_imports_with_queue_logs_outcomes_and_timings(
    name: str, tmp_path: Path, config_file: Path
) -> None:
    db = tmp_path / "history.sqlite"
    assert import_logs(db, config_file, trace_dir(name) / "queue_log") == 0
    logged = logged_calls(name)
    rows = calls(db)
    assert {(u, q) for u, q, *_ in rows} == set(logged)
    for uniqueid, queue, outcome, wait, talk, _ in rows:
        call = logged[(uniqueid, queue)]
        assert (outcome, wait, talk) == (call.outcome, call.wait, call.connected)
    with sqlite3.connect(db) as conn:
        sources = conn.execute("SELECT DISTINCT source FROM calls UNION "
                               "SELECT DISTINCT source FROM agent_states").fetchall()
    assert sources == [("queue_log",)]


def test_importing_the_same_file_twice_adds_nothing(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, log = tmp_path / "history.sqlite", trace_dir("mixed-a") / "queue_log"
    import_logs(db, config_file, log)
    first = (calls(db), intervals(db))
    capsys.readouterr()
    assert import_logs(db, config_file, log) == 0
    assert (calls(db), intervals(db)) == first
    out = capsys.readouterr().out
    assert "written: 0 calls, 0 agent state intervals" in out
    assert f"{len(logged_calls('mixed-a'))} imported before" in out


def test_overlapping_rotated_pieces_in_any_order_store_what_the_whole_log_stores(
    tmp_path: Path, config_file: Path
) -> None:
    whole, split = tmp_path / "whole.sqlite", tmp_path / "split.sqlite"
    import_logs(whole, config_file, trace_dir("mixed-a") / "queue_log")
    newest, older, oldest = pieces(tmp_path, "mixed-a", [(250, 389), (120, 270), (0, 140)])
    assert import_logs(split, config_file, older, newest, oldest) == 0
    assert calls(split) == calls(whole)
    assert intervals(split) == intervals(whole)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_overlapping_pieces_imported_one_by_one_store_each_call_once(
    order: tuple[int, int, int], tmp_path: Path, config_file: Path
) -> None:
    whole, split = tmp_path / "whole.sqlite", tmp_path / "split.sqlite"
    import_logs(whole, config_file, trace_dir("mixed-a") / "queue_log")
    files = pieces(tmp_path, "mixed-a", [(0, 140), (120, 270), (250, 389)])
    for index in order:
        assert import_logs(split, config_file, files[index]) == 0
    assert calls(split) == calls(whole)
    assert_no_agent_counted_twice(split)


def test_calls_imported_before_their_after_call_work_are_completed_by_the_next_piece(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, db = tmp_path / "whole.sqlite", tmp_path / "history.sqlite"
    import_logs(whole, config_file, trace_dir("smoke") / "queue_log")
    lines = (trace_dir("smoke") / "queue_log").read_text().splitlines(True)
    # the first piece ends just after two calls complete, before their ACW is decided
    first, second = tmp_path / "queue_log.1", tmp_path / "queue_log"
    first.write_text("".join(lines[:20]))
    second.write_text("".join(lines[15:]))
    import_logs(db, config_file, first)
    undecided = [row[:2] for row in calls(db) if row[2] == "answered" and row[5] is None]
    assert len(undecided) == 2
    capsys.readouterr()
    import_logs(db, config_file, second)
    assert "(2 completed now)" in capsys.readouterr().out
    assert calls(db) == calls(whole)
    assert [r[5] for r in calls(db) if r[:2] in undecided] == [0.0, 7.0]


def test_calls_the_live_collector_stored_are_not_imported_again(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "calls.sqlite"
    name = "mixed-a"
    main(["replay", str(trace_dir(name) / "ami.jsonl"), "--db", str(db),
          "--config", str(config_file)])
    before = calls(db)
    capsys.readouterr()
    assert import_logs(db, config_file, trace_dir(name) / "queue_log") == 0
    assert calls(db) == before
    assert f"calls already present: {len(logged_calls(name))} from the live collector" in (
        capsys.readouterr().out)
    assert_no_agent_counted_twice(db)


def test_imported_rows_have_every_column_reports_read(tmp_path: Path, config_file: Path) -> None:
    db = tmp_path / "history.sqlite"
    import_logs(db, config_file, trace_dir("mixed-a") / "queue_log")
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        answered = conn.execute("SELECT * FROM calls WHERE outcome = 'answered' "
                                "AND acw_s IS NOT NULL").fetchall()
        unanswered = conn.execute("SELECT * FROM calls WHERE outcome != 'answered'").fetchall()
        states = conn.execute("SELECT * FROM agent_states").fetchall()
    assert answered and unanswered and states
    always = ("call_id", "uniqueid", "linkedid", "queue", "caller_num", "entered_at",
              "ended_at", "outcome", "wait_s", "acw_source", "ring_noanswer", "transferred",
              "position_entered", "source")
    for row in answered:
        for column in (*always, "answered_at", "agent", "agent_interface", "talk_s", "acw_s",
                       "handle_s", "end_reason"):
            assert row[column] is not None, column
    for row in unanswered:
        for column in (*always, "position_left"):
            assert row[column] is not None, column
    for row in states:
        for column in ("agent", "interface", "state", "started_at", "ended_at", "source"):
            assert row[column] is not None, column


def test_standard_input_is_read_for_a_dash(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gzip.compress((trace_dir("smoke") / "queue_log").read_bytes())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    db = tmp_path / "history.sqlite"
    assert import_logs(db, config_file, "-") == 0
    assert len(calls(db)) == len(logged_calls("smoke"))


def test_datetime_stamps_are_read_in_the_time_zone_given(tmp_path: Path,
                                                         config_file: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text("2026-11-24 02:47:08|c1|support|NONE|ENTERQUEUE||5550100|1\n"
                   "2026-11-24 02:47:20|c1|support|NONE|ABANDON|1|1|12\n")
    db = tmp_path / "history.sqlite"
    assert main(["import-queue-log", str(log), "--db", str(db),
                 "--timezone", "Europe/Berlin"]) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT entered_at, wait_s FROM calls").fetchall() == [
            (1795484828.0, 12.0)]


def test_the_summary_counts_skipped_lines_per_reason(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "queue_log"
    log.write_text((trace_dir("smoke") / "queue_log").read_text()
                   + "garbage\n\x00\x00\n1795484900|c9|support|NONE|FULL|\n")
    assert import_logs(tmp_path / "h.sqlite", config_file, log) == 0
    out = capsys.readouterr().out
    assert "lines skipped: 3" in out
    assert "2  not a queue_log line" in out
    assert "1  caller never entered the queue" in out
    assert "PAUSEALL" in out


def test_a_missing_file_is_one_readable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["import-queue-log", str(tmp_path / "nope"), "--db", str(tmp_path / "x")])
    assert status == 2
    assert "cannot read queue_log file" in capsys.readouterr().err


def test_a_failed_import_creates_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run_cli(["import-queue-log", str(trace_dir("smoke") / "queue_log"),
                           str(tmp_path / "queue_log.1"), "--db",
                           str(tmp_path / "history.sqlite")], capsys)
    assert status == 2
    assert f"cannot read queue_log file {tmp_path / 'queue_log.1'}" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_time_zone_is_one_readable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["import-queue-log", str(trace_dir("smoke") / "queue_log"), "--db",
                   str(tmp_path / "x"), "--timezone", "Mars/Olympus"])
    assert status == 2
    assert "unknown time zone" in capsys.readouterr().err


def test_a_truncated_gzip_piece_keeps_its_readable_lines(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = gzip.compress((trace_dir("mixed-a") / "queue_log").read_bytes())
    log = tmp_path / "queue_log.1.gz"
    log.write_bytes(packed[: len(packed) // 2])
    db = tmp_path / "h.sqlite"
    assert import_logs(db, config_file, log) == 0
    assert calls(db)
    assert "unreadable end of" in capsys.readouterr().out


def test_every_documented_command_line_is_accepted() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "import.md").read_text()
    commands = [line[line.index("queuepulse "):].split()[1:] for line in text.splitlines()
                if "queuepulse import-queue-log " in line or "queuepulse check " in line]
    assert len(commands) >= 6
    parser = build_parser()
    for argv in commands:
        assert parser.parse_args(argv).handler is not None, argv
