"""Reading commands (report, top --db, check) never change the database: not its settings,
not its schema, not a byte; they work on a file they may only read."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from collector.facts import AgentInterval, CallRecord, Fact
from collector.replay import replay_to_database
from collector.store.opening import open_database
from collector.store.schema import migrations
from collector.store.writes import write_facts
from collector.tracker import Tracker
from kpi.present.screens import DatabaseBoard
from queuepulse.cli import main
from queuepulse.kpi_settings import stored_kpi_settings
from tests.live_pbx import TracePbx, run_live
from tests.traces import TRACE_CONFIG, TRACE_CONFIG_TOML, final_records, replayed_facts, trace_dir
from tests.user_errors import files

QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")
DAY = "2026-11-24"
# what the daemon below is configured with: every setting a report uses, none the default
SETTINGS_TOML = (
    '[pbx]\ntimezone = "America/Chicago"\n'
    '[kpi]\nservice_level_s = 12\nservice_level_variant = "offered"\nshort_abandon_s = 3\n'
    "repeat_window_h = 2\nservice_level_target = 90\n"
    "[kpi.cost]\nagent_hourly = 30\ntrunk_per_minute = 0.02\n"
    "[queues.support]\nservice_level_s = 45\nservice_level_target = 70\n"
)


def report_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``queuepulse report --format json`` with these arguments, parsed."""
    capsys.readouterr()
    assert main(["report", *args, "--format", "json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_report_without_config_reads_the_thresholds_the_daemon_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon_db = tmp_path / "live" / "calls.sqlite"
    daemon_db.parent.mkdir()
    asyncio.run(run_live(TracePbx("mixed-a"), daemon_db, settings=SETTINGS_TOML))
    config = tmp_path / "queuepulse.toml"
    config.write_text(SETTINGS_TOML + TRACE_CONFIG_TOML, encoding="utf-8")
    defaults = tmp_path / "defaults.toml"
    defaults.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    # the trace's calls came in during the evening of the 23rd, in Chicago
    day = ["--from", "2026-11-23", "--agents"]
    before = files(daemon_db.parent)

    stored = report_json(["--db", str(daemon_db), *day], capsys)
    assert files(daemon_db.parent) == before
    configured = report_json(["--db", str(daemon_db), "--config", str(config), *day], capsys)
    assert stored == configured
    assert stored["timezone"] == "America/Chicago"
    everything = next(r for r in stored["rows"] if r["queue"] is None)["kpis"]
    assert everything["service_level"] == everything["service_level_offered"]
    assert stored["center"][0]["kpis"]["cost_per_call"] is not None
    targets = {r["queue"]: r["service_level_target"] for r in stored["rows"]}
    assert targets == {None: 0.9, "sales": 0.9, "support": 0.7}
    as_default = report_json(["--db", str(daemon_db), "--config", str(defaults), "--from",
                              DAY, "--agents"], capsys)
    assert as_default["rows"] != stored["rows"]
    # a report given another configuration computes with it, and still writes nothing
    with contextlib.closing(sqlite3.connect(f"file:{daemon_db}?immutable=1", uri=True)) as conn:
        assert conn.execute("SELECT name, value FROM kpi_settings WHERE queue IS NULL AND "
                            "name IN ('timezone', 'service_level_s') ORDER BY name").fetchall() == [
            ("service_level_s", 12), ("timezone", "America/Chicago")]
    assert files(daemon_db.parent) == before


def test_top_from_a_file_uses_the_stored_thresholds_and_time_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "calls.sqlite"
    asyncio.run(run_live(TracePbx("mixed-a"), db, settings=SETTINGS_TOML))
    config = tmp_path / "queuepulse.toml"
    config.write_text(SETTINGS_TOML + TRACE_CONFIG_TOML, encoding="utf-8")
    before = files(tmp_path)
    boards = []
    for args in (["--db", str(db)], ["--db", str(db), "--config", str(config)]):
        capsys.readouterr()
        assert main(["top", *args, "--once"]) == 0
        boards.append(capsys.readouterr().out)
    assert boards[0] == boards[1]
    assert "2026-11-23" in boards[0]  # the evening in Chicago, not the night in UTC
    assert files(tmp_path) == before


def write_old_facts(db: Database, facts: tuple[Fact, ...]) -> None:
    """The facts as a queuepulse of that schema stored them: the columns it had."""
    def old_rows(table: str, rows: Iterable[dict[str, object]]) -> None:
        columns = {column.name for column in db[table].columns}
        db.table(table).insert_all([{k: v for k, v in row.items() if k in columns}
                                    for row in rows])

    old_rows("calls", ({**c.as_row(), "source": "replay"} for c in final_records(facts)))
    old_rows("agent_states", ({**i.as_row(), "source": "replay"} for i in facts
                              if isinstance(i, AgentInterval)))


def test_reading_an_older_database_leaves_its_schema_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "calls.sqlite"
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        db = Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        migrations.apply(db, stop_before="0005_kpi_settings_variant_targets_and_costs")
        write_old_facts(db, replayed_facts("mixed-a"))
    before = files(tmp_path)
    report = report_json(["--db", str(db_path), "--from", DAY], capsys)
    assert next(r for r in report["rows"] if r["queue"] is None)["kpis"]["offered"] == 95
    assert main(["top", "--db", str(db_path), "--once"]) == 0
    assert main(["check", "--db", str(db_path), "--queue-log",
                 str(trace_dir("mixed-a") / "queue_log")]) == 0
    assert files(tmp_path) == before


# -- a database the user may only read ----------------------------------------------------


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write, holding a replayed database and its queue_log (0444).

    It lies in a folder every user may enter, so that the commands can be run as an
    unprivileged user when the tests run as root (for whom permissions change nothing).
    """
    top = Path(tempfile.mkdtemp(prefix="queuepulse-ro-"))
    top.chmod(0o755)
    folder = top / "state"
    folder.mkdir()
    replay_to_database(trace_dir("mixed-a") / "ami.jsonl", str(folder / "calls.sqlite"),
                       Tracker(TRACE_CONFIG))
    shutil.copy(trace_dir("mixed-a") / "queue_log", folder / "queue_log")
    for file in folder.iterdir():
        file.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        shutil.rmtree(top)


@cache
def as_nobody() -> tuple[str, ...]:
    """The words that run a command as an unprivileged user, when the tests run as root.

    Empty when they do not, or when no such user can start queuepulse here (its Python
    may lie in root's home): then only the files' bytes and times prove nothing changed.
    """
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return ()
    nobody = pwd.getpwnam("nobody")
    words = ("setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
             "--clear-groups")
    probe = subprocess.run([*words, QUEUEPULSE, "--version"], capture_output=True,
                           timeout=60, check=False)
    return words if probe.returncode == 0 else ()


def as_reader(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run queuepulse as a user who may not write the folder (see :func:`as_nobody`)."""
    return subprocess.run([*as_nobody(), QUEUEPULSE, *args], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize("command", [
    ["report", "--db", "{db}", "--from", DAY],
    ["top", "--db", "{db}", "--once"],
    ["check", "--db", "{db}", "--queue-log", "{queue_log}"],
])
def test_reading_commands_work_on_a_read_only_database_in_a_read_only_folder(
    command: list[str], read_only_folder: Path
) -> None:
    db, queue_log = read_only_folder / "calls.sqlite", read_only_folder / "queue_log"
    before = files(read_only_folder)
    done = as_reader([w.format(db=db, queue_log=queue_log) for w in command])
    assert done.returncode == 0, done.stderr
    assert "sales" in done.stdout or "full agreement" in done.stdout
    assert files(read_only_folder) == before
    assert sorted(p.name for p in read_only_folder.iterdir()) == ["calls.sqlite", "queue_log"]


def test_a_database_board_follows_a_writer_that_started_after_it(tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    facts = replayed_facts("mixed-a")
    calls = final_records(facts)
    first_half = [f for f in facts if not isinstance(f, CallRecord)] + calls[: len(calls) // 2]
    with contextlib.closing(open_database(str(db))) as writer:
        write_facts(writer, first_half, source="replay")
    end = max(c.ended_at or c.entered_at for c in calls)
    board = DatabaseBoard(str(db), stored_kpi_settings)

    def offered() -> int:
        snapshot = board.screen(now=end).snapshot
        return sum(k.calls.offered for k in snapshot.kpis
                   if k.queue is None and k.window.name == "today")

    assert offered() == len(calls) // 2
    with contextlib.closing(open_database(str(db))) as writer:
        write_facts(writer, calls, source="replay")
        assert offered() == len(calls)
