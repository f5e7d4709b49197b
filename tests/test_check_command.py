"""``queuepulse check``: the live collector's calls against Asterisk's queue_log."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from queuepulse.cli import main
from tests.recording_truth import case_id, config_toml, streams
from tests.traces import logged_calls, trace_dir

STREAMS = streams()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each stream of each recording replayed once into its own database, as the live
    collector stores it; keyed by :func:`case_id` (``smoke/ami``)."""
    folder = tmp_path_factory.mktemp("replayed")
    databases = {}
    for name, stream in STREAMS:
        key = case_id((name, stream))
        config = folder / f"{name}.toml"
        config.write_text(config_toml(name), encoding="utf-8")
        db = folder / f"{key.replace('/', '-')}.sqlite"
        assert main(["replay", str(trace_dir(name) / stream), "--db", str(db),
                     "--config", str(config)]) == 0
        databases[key] = db
    return databases


def check(db: Path, *logs: Path | str, capsys: pytest.CaptureFixture[str],
          ) -> tuple[int, dict[str, Any]]:
    """Run the command with JSON output; its exit status and verdict."""
    capsys.readouterr()
    status = main(["check", "--db", str(db), "--queue-log", *map(str, logs),
                   "--format", "json"])
    verdict: dict[str, Any] = json.loads(capsys.readouterr().out)
    return status, verdict


def tampered(source: Path, tmp_path: Path, sql: str) -> Path:
    """A copy of a database with one change made."""
    db = tmp_path / "tampered.sqlite"
    shutil.copy(source, db)
    with sqlite3.connect(db) as conn:
        conn.execute(sql)
    return db


@pytest.mark.parametrize("case", STREAMS, ids=case_id)
def test_each_replayed_recording_agrees_fully_with_its_queue_log(
    case: tuple[str, str], replayed: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # restart victims included: queue_log's ABANDON of a caller Asterisk dropped is read
    # as the drop it was, and callers joinempty turned away, in no queue_log, not judged
    name = case[0]
    status, verdict = check(replayed[case_id(case)], trace_dir(name) / "queue_log",
                            capsys=capsys)
    assert status == 0 and verdict["agrees"]
    total = len(logged_calls(name))
    assert verdict["matched"] == verdict["agreeing"] == total
    assert verdict["queue_log_calls"] == verdict["live_calls"] == total
    assert verdict["differences"] == []


def test_a_call_missing_from_live_data_is_a_disagreement(
    replayed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tampered(replayed["mixed-a/ami"], tmp_path, "DELETE FROM calls WHERE call_id = "
                  "(SELECT call_id FROM calls ORDER BY entered_at LIMIT 1 OFFSET 10)")
    status, verdict = check(db, trace_dir("mixed-a") / "queue_log", capsys=capsys)
    assert status == 1 and not verdict["agrees"]
    assert verdict["missing_live"] == 1
    assert [d["what"] for d in verdict["differences"]] == ["missing from live data"]


def test_an_outcome_and_a_wait_that_differ_are_listed(
    replayed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tampered(replayed["smoke/ami"], tmp_path,
                  "UPDATE calls SET wait_s = wait_s + 2.5 WHERE outcome = 'abandoned'")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE calls SET outcome = 'unknown' WHERE transferred = 1")
    status, verdict = check(db, trace_dir("smoke") / "queue_log", capsys=capsys)
    assert status == 1
    assert verdict["outcome_mismatches"] == 1 and verdict["timing_mismatches"] == 3
    whats = sorted(d["what"] for d in verdict["differences"])
    assert whats == ["abandon wait"] * 3 + ["outcome"]


def test_talk_plus_hold_is_compared_with_calltime(
    replayed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tampered(replayed["hold-a/ami"], tmp_path,
                  "UPDATE calls SET hold_s = 0 WHERE outcome = 'answered'")
    status, verdict = check(db, trace_dir("hold-a") / "queue_log", capsys=capsys)
    assert status == 1
    assert {d["what"] for d in verdict["differences"]} == {"talk+hold vs calltime"}
    assert verdict["timing_mismatches"] == 12


def test_a_wider_tolerance_accepts_small_differences(
    replayed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tampered(replayed["smoke/ami"], tmp_path, "UPDATE calls SET wait_s = wait_s + 1.5")
    capsys.readouterr()
    assert main(["check", "--db", str(db), "--queue-log",
                 str(trace_dir("smoke") / "queue_log"), "--tolerance", "3"]) == 0


def test_calls_still_going_on_where_the_queue_log_ends_are_not_judged(
    replayed: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (trace_dir("mixed-a") / "queue_log").read_text().splitlines(True)
    head = tmp_path / "queue_log"
    head.write_text("".join(lines[:200]))
    status, verdict = check(replayed["mixed-a/ami"], head, capsys=capsys)
    assert status == 0
    assert verdict["not_comparable"] > 0 and verdict["matched"] > 40


def test_the_table_says_full_agreement(
    replayed: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["check", "--db", str(replayed["smoke/ami"]), "--queue-log",
                 str(trace_dir("smoke") / "queue_log")]) == 0
    out = capsys.readouterr().out
    assert "full agreement: 14 of 14 matched calls agree" in out
    assert "missing from queue_log" in out


def test_a_database_without_live_calls_is_one_readable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "history.sqlite"
    main(["import-queue-log", str(trace_dir("smoke") / "queue_log"), "--db", str(db)])
    capsys.readouterr()
    status = main(["check", "--db", str(db), "--queue-log",
                   str(trace_dir("smoke") / "queue_log")])
    assert status == 2
    assert "no live calls" in capsys.readouterr().err
