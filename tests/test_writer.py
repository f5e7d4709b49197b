"""The single writer: facts on disk within the commit interval, and never lost to a bad disk."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database
from structlog.testing import capture_logs

from collector.facts import AcwSource, AgentState, CallRecord, Outcome
from collector.live import LiveAgent, LiveQueue
from collector.store.writer import StoreError, Writer
from collector.store.writes import EventRow, Reference, prune


def call(uid: str, entered: float = 1000.0, outcome: Outcome = Outcome.ANSWERED,
         queue: str = "support") -> CallRecord:
    answered = outcome is Outcome.ANSWERED
    return CallRecord(
        uniqueid=uid, linkedid=uid, queue=queue, caller_num="5550100", caller_name="דוד כהן",
        entered_at=entered, answered_at=entered + 2 if answered else None,
        ended_at=entered + 12 if outcome is not Outcome.UNKNOWN else None, outcome=outcome,
        agent="Agent One" if answered else None, agent_interface=None, wait_s=2.0,
        talk_s=10.0 if answered else None, hold_s=0.0 if answered else None, hold_count=0,
        acw_s=0.0 if answered else None, acw_source=AcwSource.NONE,
        handle_s=10.0 if answered else None, ring_attempts=1, ring_noanswer=0, transferred=0,
        transfer_to=None, end_reason=None, position_entered=1, position_left=1,
    )


CALLS = "SELECT uniqueid, outcome FROM calls ORDER BY uniqueid"


def stored(path: Path, sql: str = CALLS) -> list[Any]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_a_finished_call_is_on_disk_within_the_commit_interval(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    lags: list[float] = []

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.2) as writer:
            for n in range(5):
                handed = time.monotonic()
                writer.add_facts([call(f"c{n}")])
                await wait_until(lambda n=n: len(stored(path)) == n + 1)  # type: ignore[misc]
                lags.append(time.monotonic() - handed)
                await asyncio.sleep(0.05)
            assert writer.stats.max_lag_s <= 0.2

    run(body)
    assert max(lags) <= 0.2 + 0.05  # the reader polls every 10 ms


def test_closing_the_writer_commits_what_was_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=60) as writer:
            writer.add_facts([call("c1"), call("c2")])

    run(body)
    assert stored(path) == [("c1", "answered"), ("c2", "answered")]


@pytest.mark.parametrize(
    ("breakage", "repair", "message", "fix"),
    [
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF", "readonly", "may not write"),
        ("PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 1073741823",
         "full", "disk holding"),
    ],
    ids=["read-only", "disk-full"],
)
def test_an_unwritable_database_keeps_the_facts_until_it_is_writable_again(
    tmp_path: Path, breakage: str, repair: str, message: str, fix: str
) -> None:
    path = tmp_path / "q.sqlite"

    def pages(db: Database) -> int:
        # no free pages left over (from migrations that dropped tables) to write into
        db.execute("VACUUM")
        return int(db.execute("PRAGMA page_count").fetchone()[0])

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.1, retry_max_s=0.1) as writer:
            count = await writer.call(pages)
            await writer.call(lambda db: db.execute(breakage.format(pages=count)))
            with capture_logs() as logs:
                writer.add_facts([call(f"c{n}") for n in range(200)])
                writer.add_events([EventRow(1000.0, 1000.0, "QueueCallerJoin", "x" * 2000)] * 50)
                await wait_until(lambda: writer.stats.failures >= 2)
            assert stored(path) == []
            failed = [e for e in logs if e["event"] == "store.write_failed"]
            assert failed and message in failed[0]["error"] and fix in failed[0]["fix"]
            assert failed[0]["pending_facts"] == 200
            await writer.call(lambda db: db.execute(repair))
            await asyncio.wait_for(writer.flush(), 5)

    run(body)
    assert len(stored(path)) == 200
    assert stored(path, "SELECT count(*) FROM events") == [(50,)]


def test_a_lock_held_by_another_program_delays_but_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.1, retry_max_s=0.2) as writer:
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            with capture_logs() as logs:
                writer.add_facts([call("c1")])
                await wait_until(lambda: writer.stats.failures >= 1, timeout=5)
            other.execute("ROLLBACK")
            other.close()
            await asyncio.wait_for(writer.flush(), 5)
            assert any("locked" in e.get("error", "") for e in logs)

    run(body)
    assert stored(path) == [("c1", "answered")]


def test_a_call_stored_as_unknown_is_replaced_by_its_complete_record(tmp_path: Path) -> None:
    # queuepulse stopped while the caller waited; after the restart the snapshot gave
    # the entry time to the second, so the complete record has another call_id
    path = tmp_path / "q.sqlite"

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_facts([call("c1", entered=1000.3, outcome=Outcome.UNKNOWN),
                              call("c2", entered=1000.3, outcome=Outcome.UNKNOWN)])
            await writer.flush()
            writer.add_facts([call("c1", entered=1000.0)])

    run(body)
    assert stored(path) == [("c1", "answered"), ("c2", "unknown")]


def test_rows_past_their_retention_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    now = 100 * 86400.0

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_facts([call("old", entered=now - 40 * 86400), call("new", entered=now)])
            writer.add_events([EventRow(now - 10 * 86400, None, "Hangup", "old"),
                               EventRow(now, None, "Hangup", "new")])
            await writer.flush()
            deleted = await writer.call(lambda db: prune(db, now, 30, 5))
            assert deleted == 2

    run(body)
    assert stored(path) == [("new", "answered")]
    assert stored(path, "SELECT raw FROM events") == [("new",)]


def test_every_raw_event_is_stored_in_order_however_many_come_at_once(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    rows = [EventRow(1000.0 + i, None if i % 2 else 1000.0 + i, "Hangup", f"frame {i}")
            for i in range(451)]

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_events(rows)

    run(body)
    assert stored(path, "SELECT received_at, timestamp, event, raw FROM events ORDER BY rowid") \
        == [(r.received_at, r.timestamp, r.event, r.raw) for r in rows]


def test_queues_and_agents_keep_their_first_sighting(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    queue = LiveQueue("sales", "ringall", 30, 6.0)
    agent = LiveAgent("Local/agent3@agents/n", "Agent Three", AgentState.AVAILABLE, None,
                      None, 0.0, ())

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_reference(Reference(1000.0, (queue,), (agent,)))
            await writer.flush()
            writer.add_reference(Reference(2000.0, (queue,), (agent,)))

    run(body)
    assert stored(path, "SELECT * FROM queues") == [("sales", "ringall", 30, 6.0, 1000.0, 2000.0)]
    assert stored(path, "SELECT * FROM agents") == [
        ("Local/agent3@agents/n", "Agent Three", 1000.0, 2000.0)]


def test_local_time_views_follow_the_servers_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Jerusalem")
    time.tzset()
    path = tmp_path / "q.sqlite"

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_facts([call("c1", entered=1795484831.3)])  # 01:47 UTC

    try:
        run(body)
        assert stored(path, "SELECT entered_local, day_local, hour_local FROM calls_local") == [
            ("2026-11-24 03:47:11", "2026-11-24", 3)]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_database_in_a_missing_directory_is_one_clear_error(tmp_path: Path) -> None:
    async def body() -> None:
        with pytest.raises(StoreError, match=r"check database\.path: the folder of .* must exist"):
            async with Writer(str(tmp_path / "absent" / "q.sqlite"), commit_interval_s=0.05):
                pass

    run(body)


def test_the_documented_view_queries_run(tmp_path: Path) -> None:
    schema_doc = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text(
        encoding="utf-8")
    views = schema_doc.split("## Views with local times", 1)[1].split("\n## ", 1)[0]
    queries = [block.split("```", 1)[0] for block in views.split("```sql\n")[1:]]
    path = tmp_path / "q.sqlite"

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_facts([call("c1", entered=time.time())])

    run(body)
    assert len(queries) == 2
    assert stored(path, queries[0]) == [(time.localtime().tm_hour, 1)]
    assert stored(path, queries[1]) == []
