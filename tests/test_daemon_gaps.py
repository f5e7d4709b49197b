"""The live daemon across a long outage, and when the PBX sends events again: what the gap
hid is not stored as if seen, and nothing is counted twice."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from queuepulse.pbxsim.faults import Faults
from tests.live_pbx import Hook, LiveRun, TracePbx, differences, run_live, until, until_disconnected
from tests.traces import replayed_calls

OUTAGE_S = 22.0


def outage(pbx: TracePbx, after: int, lose: int) -> None:
    """After the ``after``-th event the link drops; while it is down the PBX goes on for
    about :data:`OUTAGE_S` and ``lose`` events are lost; then the daemon takes a snapshot."""

    async def hook() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        await until_disconnected(daemon)
        pbx.later(OUTAGE_S)
        await pbx.lose(lose)
        pbx.server.snapshot = pbx.snapshot_after(after + lose)
        await until(lambda: daemon.stats.snapshots == 2)

    pbx.hooks[after] = hook


def the_gap(run: LiveRun) -> float:
    (gap,) = run.daemon.stats.gaps
    assert gap > OUTAGE_S
    return gap


def test_a_22_second_outage_during_a_hold_leaves_the_hold_unknown_and_the_talk_whole(
    tmp_path: Path,
) -> None:
    held_at, lose = 127, 8  # a Hold; then the Unholds are lost
    pbx = TracePbx("lab-hold", faults=(Faults(drop_after=held_at),))
    outage(pbx, held_at, lose)
    expected = replayed_calls("lab-hold")
    on_hold = {k for k, c in expected.items() if c.hold_s and c.answered_at is not None
               and c.ended_at is not None and c.answered_at < pbx.oracle(held_at)[1].at
               < c.ended_at}
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    gap = the_gap(run)

    assert on_hold
    for key in on_hold:
        row, call = run.calls[key], expected[key]
        assert call.ended_at is not None and call.answered_at is not None
        # the hold may have ended at once or gone on throughout: not measured; the talk is
        # the connected time, hold included, as queue_log counts it
        assert row["hold_s"] is None and row["gap_s"] == pytest.approx(gap, abs=0.01)
        assert row["answered_at"] == pytest.approx(call.answered_at, abs=0.001)
        assert row["wait_s"] == pytest.approx(call.wait_s, abs=0.001)
        assert row["ended_at"] == pytest.approx(call.ended_at + OUTAGE_S, abs=0.001)
        assert row["talk_s"] == pytest.approx(
            call.ended_at + OUTAGE_S - call.answered_at, abs=0.001)


def test_a_22_second_outage_during_after_call_work_leaves_it_unknown(tmp_path: Path) -> None:
    paused_at, lose = 383, 17  # the ACW pause after a call; its unpause comes after the gap
    pbx = TracePbx("lab-acw", faults=(Faults(drop_after=paused_at),))
    outage(pbx, paused_at, lose)
    expected = replayed_calls("lab-acw")
    key = ("1796381935.6", "tech")
    assert expected[key].acw_source.value == "pause" and expected[key].acw_s
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    gap = the_gap(run)

    row, call = run.calls[key], expected[key]
    assert row["acw_s"] is None and row["acw_source"] == "pause" and row["handle_s"] is None
    assert row["gap_s"] == pytest.approx(gap, abs=0.01)
    for column in ("entered_at", "answered_at", "ended_at", "wait_s", "talk_s", "hold_s"):
        assert row[column] == pytest.approx(getattr(call, column), abs=0.001), column


def test_events_the_pbx_sends_again_change_no_stored_call(tmp_path: Path) -> None:
    first_join, rung, later = 30, 294, 450
    pbx = TracePbx("smoke")

    def again(frame: str) -> Hook:
        async def hook() -> None:
            await pbx.server.send(frame)
        return hook

    # a ring sent twice, and a finished call's join re-sent long after it was stored
    pbx.hooks[rung] = again(pbx.feed_event(rung))
    pbx.hooks[later] = again(pbx.feed_event(first_join))
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(pbx, db))

    expected = replayed_calls("smoke")
    assert set(run.calls) == set(expected) and run.rows == len(expected)
    assert {k: d for k in expected if (d := differences(run.calls[k], expected[k]))} == {}
    assert run.calls[("1795484842.13", "sales")]["ring_attempts"] == 2
    assert run.calls[("1795484830.1", "support")]["outcome"] == "answered"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        kinds = {k for (k,) in conn.execute("SELECT kind FROM anomalies")}
    assert "duplicate_join" in kinds
