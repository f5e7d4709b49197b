"""Opening the database: a file that is not one, or that queuepulse cannot store into, is
one line naming the problem and the fix, before a byte of it changes."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from collector.replay import replay_to_database
from collector.tracker import Tracker
from queuepulse.pbxsim.ami_server import AmiServer
from tests.live_pbx import SECRET, daemon_config_toml
from tests.traces import TRACE_CONFIG, TRACE_CONFIG_TOML, trace_dir
from tests.user_errors import files, one_line, run_cli

QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")
TRACE = trace_dir("mixed-a")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mixed-a trace replayed into a database (to be copied, never changed)."""
    db = tmp_path_factory.mktemp("replayed") / "calls.sqlite"
    replay_to_database(TRACE / "ami.jsonl", str(db), Tracker(TRACE_CONFIG))
    return db


# -- a file given as --db that is not a database ----------------------------------------------

COMMANDS_WITH_DB = {
    "report": ["report", "--db", "{db}"],
    "top": ["top", "--db", "{db}", "--once"],
    "check": ["check", "--db", "{db}", "--queue-log", str(TRACE / "queue_log")],
    "replay": ["replay", str(TRACE / "ami.jsonl"), "--db", "{db}"],
    "import-queue-log": ["import-queue-log", str(TRACE / "queue_log"), "--db", "{db}"],
}
MISPLACED = {
    "the configuration": ("queuepulse.toml", "it is text starting with '[queues.sales]'"),
    "a trace": ("ami.jsonl", "it is a JSON Lines trace"),
}


@pytest.mark.parametrize("command", list(COMMANDS_WITH_DB))
@pytest.mark.parametrize("misplaced", list(MISPLACED))
def test_a_file_given_as_db_that_is_not_sqlite_is_named_and_left_alone(
    command: str, misplaced: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, kind = MISPLACED[misplaced]
    given = tmp_path / name
    if name.endswith(".toml"):
        given.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    else:
        shutil.copy(trace_dir("smoke") / "ami.jsonl", given)
    before = files(tmp_path)
    status, err = run_cli([word.format(db=given) for word in COMMANDS_WITH_DB[command]], capsys)
    assert status == 2
    line = one_line(err)
    assert f"{given} is not a SQLite database: {kind}" in line
    assert "Give --db the queuepulse database" in line
    assert files(tmp_path) == before


# -- run refuses a database it cannot store into ---------------------------------------------


def from_a_newer_queuepulse(db: Path) -> None:
    """Record a migration this version does not know, as a newer queuepulse would."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('queuepulse', '0099_from_the_future', '2099-01-01')")


def with_a_damaged_page(db: Path) -> None:
    """Overwrite the first page of the calls table with garbage."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'calls'"
                               ).fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    with db.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xa5" * size)


async def run_daemon(config: Path) -> tuple[int, str, str]:
    """``queuepulse run`` until it exits, or for 10 s (longer than any lock wait)."""
    process = await asyncio.create_subprocess_exec(
        QUEUEPULSE, "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(asyncio.shield(process.communicate()), 10)
    except TimeoutError:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def run_against_a_pbx(db: Path, config: Path) -> tuple[int, str, str]:
    """Run the daemon with a PBX it could log in to, so only the database can stop it."""
    async def body() -> tuple[int, str, str]:
        async with AmiServer(secret=SECRET, auth_failure_delay=0.0) as server:
            config.write_text(daemon_config_toml(server.port, db), encoding="utf-8")
            return await run_daemon(config)

    return asyncio.run(body())


@pytest.mark.parametrize(("spoil", "problem", "fix"), [
    (from_a_newer_queuepulse, "was written by a newer queuepulse (its schema has migration "
     "0099_from_the_future, which this version does not know)",
     "Upgrade queuepulse, or give database.path another file"),
    (with_a_damaged_page, "is damaged", "save what is readable with: sqlite3 {db} .recover"),
])
def test_run_refuses_a_database_it_cannot_store_into(
    spoil: Callable[[Path], None], problem: str, fix: str, tmp_path: Path, replayed: Path
) -> None:
    db, config = tmp_path / "calls.sqlite", tmp_path / "queuepulse.toml"
    shutil.copy(replayed, db)
    spoil(db)
    before = db.read_bytes(), db.stat().st_mtime_ns
    status, out, err = run_against_a_pbx(db, config)
    assert status == 2
    assert "daemon.ready" not in out
    line = one_line(err)
    assert f"{db} {problem}" in line
    assert fix.format(db=db) in line
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.sqlite", "queuepulse.toml"]


def test_run_refuses_a_database_another_program_is_writing(
    tmp_path: Path, replayed: Path
) -> None:
    db, config = tmp_path / "calls.sqlite", tmp_path / "queuepulse.toml"
    shutil.copy(replayed, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    before = db.read_bytes(), db.stat().st_mtime_ns
    try:
        status, out, err = run_against_a_pbx(db, config)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 2
    assert "daemon.ready" not in out
    line = one_line(err)
    assert f"cannot use database {db} (database is locked)" in line
    assert f"another program holds a write lock on {db}; close it" in line
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
