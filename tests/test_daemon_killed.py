"""The live daemon killed (SIGKILL) while callers wait and calls go on, then started again:
no call vanishes, and each is stored as far as it was seen."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.sd_notify import Notifier
from tests.live_pbx import (
    TracePbx,
    daemon_config_toml,
    daemon_process,
    differences,
    share_clock,
    stored_calls,
    until,
)
from tests.traces import replayed_calls

Key = tuple[str, str]
KILL_AT = 450
"""Smoke-trace feed event after which the daemon is killed: two callers talking, three
waiting, two agents in after-call work."""


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []


def test_a_killed_daemon_started_again_loses_no_call(tmp_path: Path) -> None:
    pbx = TracePbx("smoke")
    db = tmp_path / "live.sqlite"
    expected = replayed_calls("smoke")
    opened = _open_at(pbx, KILL_AT)
    waiting = {k for k, talking in opened.items() if not talking}
    talking = {k for k, talking in opened.items() if talking}
    done, _, joined = pbx.oracle(KILL_AT)
    in_acw = {k for k in expected if k[0] in joined} - {(c.uniqueid, c.queue) for c in done}
    in_acw -= set(opened)
    assert waiting and talking and in_acw, "the kill should hit each kind of call"

    again = asyncio.run(_killed_and_started_again(pbx, db, waiting, talking))
    calls, rows = stored_calls(db)
    assert set(calls) == set(expected) and rows == len(expected)
    # waiting then: still waiting at the snapshot, so each went on, its entry the one seen
    for key in waiting:
        assert [d for d in differences(calls[key], expected[key])
                if not d.startswith("gap_s")] == []
        assert calls[key]["gap_s"]
    # talking then: the call's end was seen, its talk exact; the hold before the kill is
    # known to no one (the killed run kept it in memory)
    for key in talking:
        row, call = calls[key], expected[key]
        assert row["outcome"] == "answered" and row["hold_s"] is None and row["gap_s"]
        for column in ("answered_at", "ended_at", "wait_s", "talk_s"):
            assert row[column] == pytest.approx(getattr(call, column), abs=0.001), column
    # in after-call work then: final, that work not seen to end
    for key in in_acw:
        assert calls[key]["phase"] == "done" and calls[key]["acw_s"] is None
    untouched = set(expected) - set(opened) - in_acw
    assert {k: d for k in untouched if (d := differences(calls[k], expected[k]))} == {}
    assert again.stats.connections == 1
    assert query(db, "SELECT count(*) FROM calls WHERE phase != 'done'") == [(0,)]
    assert query(db, "SELECT count(*) FROM waiting_callers") == [(0,)]


async def _killed_and_started_again(pbx: TracePbx, db: Path, waiting: set[Key],
                                    talking: set[Key]) -> Daemon:
    """Run a daemon in a process of its own; once it has stored the calls open after
    :data:`KILL_AT`, kill it and start a new one on the same file for the rest."""
    async with pbx.server as server:
        config = daemon_config_toml(server.port, db)
        child = daemon_process(config, share_clock(pbx))
        pbx.start_when = lambda: bool(query(db, "SELECT 1 FROM queues LIMIT 1"))
        again = Daemon(parse_config(config), clock=pbx.now, monotonic=pbx.now,
                       tick_s=None, notifier=Notifier(None))
        tasks: list[asyncio.Task[None]] = []
        before: list[int] = []

        def committed() -> bool:
            stored_waiting = query(db, "SELECT uniqueid, queue FROM waiting_callers")
            stored_talking = query(db, "SELECT uniqueid, queue FROM calls "
                                       "WHERE phase = 'talking'")
            return ({(str(u), str(q)) for u, q in stored_waiting} == waiting
                    and {(str(u), str(q)) for u, q in stored_talking} >= talking)

        async def kill_and_start_again() -> None:
            await until(committed, timeout=20)
            assert child.pid is not None
            before.append(server.stats.bytes)
            os.kill(child.pid, signal.SIGKILL)
            child.join()
            pbx.server.snapshot = pbx.snapshot_after(KILL_AT)
            pbx.daemon = again
            tasks.append(asyncio.create_task(again.run()))
            await until(lambda: again.ready or tasks[0].done(), timeout=20)

        pbx.hooks[KILL_AT] = kill_and_start_again
        try:
            await until(lambda: pbx.finished.is_set() or (
                not child.is_alive() and not tasks), timeout=60)
            # every byte sent since the kill was read
            await until(lambda: again.received_bytes >= server.stats.bytes - before[0]
                        or tasks[0].done())
            pbx.to_the_end()
        finally:
            again.stop()
            if tasks:
                await tasks[0]
            if child.is_alive():
                child.kill()
    return again


def _open_at(pbx: TracePbx, events: int) -> dict[tuple[str, str], bool]:
    _, view, _ = pbx.oracle(events)
    return {(c.uniqueid, c.queue): c.answered_at is not None for c in view.calls}
