"""The live daemon when the PBX's clock is off the collector's, or one frame's Timestamp
cannot be right: every call stored as a replay of the clean trace derives it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from collector.facts import CallRecord
from queuepulse.pbxsim.faults import Faults
from tests.live_pbx import LiveRun, TracePbx, differences, run_live, until, until_disconnected
from tests.traces import replayed_calls

JOIN = 446
"""The smoke trace's feed event that is a caller's QueueCallerJoin: its time is the call's
entry, so a stamp used where it should not be shows in the stored wait."""
JOINED = ("1795484844.23", "support")
DROP_AT = 450
"""Feed event after which the connection drops: two callers talking, three waiting."""


def clean() -> dict[tuple[str, str], CallRecord]:
    return replayed_calls("smoke")


def wrong_calls(run: LiveRun, tolerance: float = 0.001) -> dict[tuple[str, str], list[str]]:
    expected = clean()
    assert set(run.calls) == set(expected)
    return {k: d for k in expected if (d := differences(run.calls[k], expected[k], tolerance))}


def stored(db: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("offset", [10.0, -10.0], ids=["collector-ahead", "collector-behind"])
def test_a_pbx_clock_ten_seconds_off_changes_no_stored_timing(
    tmp_path: Path, offset: float
) -> None:
    pbx = TracePbx("smoke")
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite", clock_offset=offset))
    assert wrong_calls(run) == {}
    last = pbx.frames[-1].received_at
    (latest,) = stored(tmp_path / "live.sqlite",
                       "SELECT max(coalesce(ended_at, started_at)) FROM agent_states")[0]
    assert isinstance(latest, float) and latest <= last + 1.0


@pytest.mark.parametrize("offset", [0.0, 10.0, -10.0],
                         ids=["same", "collector-ahead", "collector-behind"])
def test_a_gap_and_the_snapshot_after_it_are_on_the_pbx_clock_when_it_is_ten_seconds_off(
    tmp_path: Path, offset: float
) -> None:
    lose = 200
    pbx = TracePbx("smoke", faults=(Faults(drop_after=DROP_AT),))
    gap: list[float] = []

    async def hook() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        gap.append(pbx.now())
        await until_disconnected(daemon)
        await pbx.lose(lose)
        pbx.server.snapshot = pbx.snapshot_after(DROP_AT + lose)
        gap.append(pbx.now())
        await until(lambda: daemon.stats.snapshots == 2)

    pbx.hooks[DROP_AT] = hook
    _, _, joined_before = pbx.oracle(DROP_AT)
    _, view, _ = pbx.oracle(DROP_AT + lose)
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(pbx, db, clock_offset=offset))

    # callers who joined in the gap are known from the snapshot: entry = its time - Wait
    from_snapshot = [c for c in view.waiting() if c.uniqueid not in joined_before]
    assert from_snapshot
    for call in from_snapshot:
        row = run.calls[(call.uniqueid, call.queue)]
        assert row["entered_at"] == pytest.approx(call.entered_at, abs=1.0)
    # what the agents did in the gap is unknown, from when it began to when it ended
    unseen = stored(db, "SELECT started_at, ended_at FROM agent_states WHERE state = 'unknown'")
    assert unseen
    for started_at, ended_at in unseen:
        assert isinstance(started_at, float) and isinstance(ended_at, float)
        assert gap[0] - 0.5 <= started_at <= ended_at <= gap[1] + 0.5
    assert stored(db, "SELECT count(*) FROM agent_states WHERE ended_at < started_at") == [(0,)]


@pytest.mark.parametrize("stamp", ["{hour_ahead}", "1e400", "nan", "-inf"])
def test_a_frame_with_an_implausible_timestamp_is_dated_by_the_pbx_clock(
    tmp_path: Path, stamp: str
) -> None:
    pbx = TracePbx("smoke")
    true_stamp = clean()[JOINED].entered_at
    pbx.restamp[JOIN] = stamp.format(hour_ahead=f"{true_stamp + 3600:.6f}")
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(pbx, db))

    # the join keeps its moment, to the frame's transit time (its call_id says which);
    # nothing else moves at all
    wrong = wrong_calls(run, tolerance=0.05)
    assert {k: [d for d in diffs if not d.startswith("call_id")]
            for k, diffs in wrong.items()} == {JOINED: []} or wrong == {}
    assert {k for k in wrong_calls(run) if k != JOINED} == set()
    anomalies = stored(db, "SELECT kind, detail FROM anomalies WHERE kind = "
                           "'implausible_timestamp'")
    assert len(anomalies) == 1
    # the tracker's time was never pushed ahead: no interval ends after the trace's end,
    # and none is infinite
    last = pbx.frames[-1].received_at
    (latest, infinite), = stored(db, "SELECT max(ended_at), sum(ended_at > 1e300) "
                                     "FROM agent_states")
    assert isinstance(latest, float) and latest <= last + 1.0 and not infinite
    assert run.daemon.tracker.now <= last + 1.0
