"""``queuepulse replay``: a recorded stream into real SQLite tables."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from queuepulse.cli import main
from tests.traces import TRACE_CONFIG_TOML, TRACE_NAMES, logged_calls, trace_dir
from tests.user_errors import files, one_line, run_cli

CALL_COLUMNS = [
    "uniqueid", "linkedid", "queue", "caller_num", "caller_name", "entered_at", "answered_at",
    "ended_at", "outcome", "agent", "agent_interface", "wait_s", "talk_s", "hold_s",
    "hold_count", "acw_s", "acw_source", "handle_s", "ring_attempts", "ring_noanswer",
    "transferred", "transfer_to", "end_reason", "position_entered", "position_left",
]
STATE_COLUMNS = ["agent", "interface", "queue", "state", "reason", "started_at", "ended_at"]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "queuepulse.toml"
    path.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_replay_writes_one_row_per_queue_log_call(
    name: str, tmp_path: Path, config_file: Path
) -> None:
    db = tmp_path / "calls.sqlite"
    trace = str(trace_dir(name) / "ami.jsonl")
    assert main(["replay", trace, "--db", str(db), "--config", str(config_file)]) == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT uniqueid, queue, outcome, wait_s FROM calls").fetchall()
    logged = logged_calls(name)
    assert {(u, q) for u, q, _, _ in rows} == set(logged)
    for uniqueid, queue, outcome, wait_s in rows:
        call = logged[(uniqueid, queue)]
        assert outcome == call.outcome
        assert call.wait is not None and abs(wait_s - call.wait) <= 1.0


def test_tables_have_the_documented_columns(tmp_path: Path, config_file: Path) -> None:
    db = tmp_path / "calls.sqlite"
    main(["replay", str(trace_dir("smoke") / "ami.jsonl"), "--db", str(db)])
    with sqlite3.connect(db) as conn:
        calls = [r[1] for r in conn.execute("PRAGMA table_info(calls)")]
        states = [r[1] for r in conn.execute("PRAGMA table_info(agent_states)")]
        types = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(calls)")}
    assert set(CALL_COLUMNS) <= set(calls)
    assert set(STATE_COLUMNS) <= set(states)
    assert types["entered_at"] == "REAL" and types["wait_s"] == "REAL"


def test_replaying_twice_stores_each_call_once(tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    trace = str(trace_dir("smoke") / "ami.jsonl")
    main(["replay", trace, "--db", str(db)])
    main(["replay", trace, "--db", str(db)])
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM calls").fetchone()
    assert count == len(logged_calls("smoke"))


def test_print_shows_a_table_of_calls(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = str(trace_dir("smoke") / "ami.jsonl")
    main(["replay", trace, "--db", str(tmp_path / "x.sqlite"), "--print"])
    out = capsys.readouterr().out
    assert "14 calls" in out and "abandoned" in out and "Agent Three" in out


def test_a_missing_trace_is_one_readable_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["replay", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "x.sqlite")])
    assert status == 2
    assert "no trace file" in capsys.readouterr().err


def test_a_plain_ami_text_capture_replays_like_json_lines(tmp_path: Path) -> None:
    capture = tmp_path / "capture.txt"
    with capture.open("w", encoding="utf-8") as out:
        for line in (trace_dir("smoke") / "ami.jsonl").open(encoding="utf-8"):
            out.write(json.loads(line)["raw"] + "\r\n\r\n")
    db = tmp_path / "x.sqlite"
    assert main(["replay", str(capture), "--db", str(db)]) == 0
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM calls").fetchone()
    assert count == len(logged_calls("smoke"))


def stored_calls(db: Path) -> list[tuple[object, ...]]:
    """Every row of ``calls``, in call_id order."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT * FROM calls ORDER BY call_id").fetchall()


def smoke_lines() -> list[str]:
    """The lines of the smoke trace."""
    return (trace_dir("smoke") / "ami.jsonl").read_text(encoding="utf-8").splitlines(True)


def test_a_torn_last_line_is_left_out_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = smoke_lines()
    whole, torn = tmp_path / "whole.jsonl", tmp_path / "torn.jsonl"
    whole.write_text("".join(lines[:-1]), encoding="utf-8")
    torn.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    assert main(["replay", str(whole), "--db", str(tmp_path / "whole.sqlite")]) == 0
    capsys.readouterr()
    assert main(["replay", str(torn), "--db", str(tmp_path / "torn.sqlite")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [f"queuepulse: warning: {torn}:{len(lines)}: the last line is cut short "
                        "(a recording stopped while writing); replayed the lines before it."]
    assert stored_calls(tmp_path / "torn.sqlite") == stored_calls(tmp_path / "whole.sqlite")
    assert stored_calls(tmp_path / "torn.sqlite") != []


def refused_changing_nothing(trace: Path, folder: Path,
                             capsys: pytest.CaptureFixture[str]) -> str:
    """Replay ``trace`` into ``folder``'s calls.sqlite and into a new database: both are
    refused with one line, and the folder stays as it was. Returns the line."""
    before = files(folder)
    lines = set()
    for db in (folder / "calls.sqlite", folder / "new.sqlite"):
        status, err = run_cli(["replay", str(trace), "--db", str(db)], capsys)
        assert status == 2
        lines.add(one_line(err))
        assert files(folder) == before
    (line,) = lines
    return line


def test_a_bad_line_before_the_end_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = smoke_lines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines[:-5]) + "{not json\n" + "".join(lines[-5:]),
                      encoding="utf-8")
    assert main(["replay", str(trace_dir("mixed-a") / "ami.jsonl"), "--db",
                 str(tmp_path / "calls.sqlite")]) == 0
    line = refused_changing_nothing(broken, tmp_path, capsys)
    assert f"{broken}:{len(lines) - 4}: not a trace line" in line
    assert "fix or delete it" in line


@pytest.mark.parametrize(("name", "kind", "hint"), [
    ("queue_log", "an Asterisk queue_log", "queuepulse import-queue-log"),
    ("queuepulse.toml", "text starting with '[queues.sales]'", "capture of AMI text"),
    ("other.sqlite", "a SQLite database", "a database goes to --db"),
])
def test_replaying_a_file_that_is_not_a_trace_says_what_it_is(
    name: str, kind: str, hint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "calls.sqlite"
    assert main(["replay", str(trace_dir("smoke") / "ami.jsonl"), "--db", str(existing)]) == 0
    given = tmp_path / name
    if name == "queue_log":
        shutil.copy(trace_dir("smoke") / "queue_log", given)
    elif name.endswith(".toml"):
        given.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    else:
        shutil.copy(existing, given)
    line = refused_changing_nothing(given, tmp_path, capsys)
    assert f"{given} is not an AMI trace: it is {kind}" in line
    assert hint in line
