"""The live daemon when the network and the PBX misbehave: nothing lost that was seen, nothing
counted twice, and the calls whose end went unseen stored as ``unknown``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from collector.facts import CallRecord
from collector.parser import wanted_frame
from queuepulse.pbxsim.faults import GARBAGE, Faults
from tests.live_pbx import LiveRun, TracePbx, differences, run_live, until, until_disconnected
from tests.traces import replayed_calls

PING = 0.25
DROP_AT = 450
"""Smoke-trace feed event after which faults strike: two callers talking, three waiting."""


def clean() -> dict[tuple[str, str], CallRecord]:
    return replayed_calls("smoke")


def assert_same(run: LiveRun, keys: set[tuple[str, str]]) -> None:
    """The stored calls are the clean replay's; those open across a gap say how long it
    was (``gap_s``), a gap this short hiding nothing else."""
    expected = clean()
    gaps = run.daemon.stats.gaps
    wrong = {k: [d for d in differences(run.calls[k], expected[k]) if not d.startswith("gap_s")]
             for k in keys}
    assert {k: d for k, d in wrong.items() if d} == {}
    for key in keys:
        gap_s = run.calls[key]["gap_s"]
        assert gap_s == 0.0 or any(gap_s == pytest.approx(g, abs=0.01) for g in gaps), key


def open_at(pbx: TracePbx, events: int) -> dict[tuple[str, str], bool]:
    """Callers in a queue after that many events, and whether they were answered."""
    _, view, _ = pbx.oracle(events)
    return {(c.uniqueid, c.queue): c.answered_at is not None for c in view.calls}


def reconnect_after(pbx: TracePbx, events: int, lose: int = 0) -> None:
    """At ``events``, wait for the daemon to lose the link, lose events, let it resync.

    The port is closed just before the drop, so that the daemon cannot come back (and ask
    for its snapshot) before the events are lost and the snapshot is the one after them.
    """

    async def close_port() -> None:
        pbx.server.refuse()

    async def hook() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        snapshots = daemon.stats.snapshots
        await until_disconnected(daemon)
        await pbx.lose(lose)
        pbx.server.snapshot = pbx.snapshot_after(events + lose)
        await pbx.server.accept()
        await until(lambda: daemon.stats.snapshots > snapshots)

    pbx.hooks[events - 1] = close_port
    pbx.hooks[events] = hook


def test_a_dropped_connection_with_nothing_lost_changes_no_call(tmp_path: Path) -> None:
    pbx = TracePbx("smoke", faults=(Faults(drop_after=DROP_AT),))
    reconnect_after(pbx, DROP_AT)
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    assert run.daemon.stats.connections == 2
    assert len(run.daemon.stats.gaps) == 1 and 0 < run.daemon.stats.gaps[0] < 2.0
    assert set(run.calls) == set(clean()) and run.rows == len(clean())
    assert_same(run, set(clean()))


def test_each_reconnect_stores_one_stream_gap_anomaly(tmp_path: Path) -> None:
    second_drop = 200
    pbx = TracePbx("smoke", faults=(Faults(drop_after=DROP_AT), Faults(drop_after=second_drop)))
    reconnect_after(pbx, DROP_AT)
    reconnect_after(pbx, DROP_AT + second_drop)
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    with contextlib.closing(sqlite3.connect(tmp_path / "live.sqlite")) as conn:
        gaps = conn.execute("SELECT at FROM anomalies WHERE kind = 'stream_gap' "
                            "ORDER BY at").fetchall()
    assert run.daemon.stats.connections == 3 and len(run.daemon.stats.gaps) == 2
    assert len(gaps) == 2 and gaps[0] != gaps[1]


def test_calls_the_gap_hid_keep_what_was_seen_and_are_counted_once(
    tmp_path: Path,
) -> None:
    lose = 200
    pbx = TracePbx("smoke", faults=(Faults(drop_after=DROP_AT),))
    reconnect_after(pbx, DROP_AT, lose=lose)
    before, after = open_at(pbx, DROP_AT), open_at(pbx, DROP_AT + lose)
    _, _, joined_before = pbx.oracle(DROP_AT)
    _, _, joined_by_resync = pbx.oracle(DROP_AT + lose)
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    expected = clean()

    # spanned the gap and changed state in it: ended, or answered while we looked away
    unknown = {k for k, answered in before.items() if k not in after or after[k] != answered}
    # joined in the gap and gone, or answered, before the snapshot: never seen at all,
    # unless the AgentComplete of a call answered in the gap comes after it
    unseen = {k for k in expected if k[0] in joined_by_resync - joined_before
              and not (k in after and not after[k])}
    resync_at = pbx.oracle(DROP_AT + lose)[1].at
    told_later = {k for k in unseen
                  if (ended_at := expected[k].ended_at) is not None and ended_at > resync_at}
    unseen -= told_later
    # joined in the gap and still waiting: known from the snapshot's QueueEntry only
    from_snapshot = {k for k in expected if k[0] in joined_by_resync - joined_before} - unseen

    assert run.daemon.stats.gaps and pbx.server.stats.lost == lose
    assert unknown and from_snapshot and told_later, "the fault should hit each kind of call"
    assert set(run.calls) == set(expected) - unseen
    for key in told_later:
        # from Asterisk's own whole-second counters, the hold not seen
        row, call = run.calls[key], expected[key]
        assert row["outcome"] == "answered" and row["hold_s"] is None and row["gap_s"]
        for column in ("entered_at", "wait_s", "talk_s"):
            assert row[column] == pytest.approx(getattr(call, column), abs=1.0), column
    # answered before the gap: still answered, how the call ended was not seen
    talked = {k for k in unknown if before[k]}
    assert talked and {k for k, row in run.calls.items() if row["outcome"] == "unknown"} == (
        unknown - talked)
    assert all(run.calls[k]["outcome"] == "answered" for k in talked)
    for key in unknown:
        row, call = run.calls[key], expected[key]
        assert row["ended_at"] is None and row["talk_s"] is None
        assert row["entered_at"] == pytest.approx(call.entered_at, abs=0.001)
    for key in from_snapshot:
        assert run.calls[key]["outcome"] == expected[key].outcome.value
        assert run.calls[key]["entered_at"] == pytest.approx(expected[key].entered_at, abs=1.0)
    continued = {k for k in before if k not in unknown}
    for key in continued:
        assert run.calls[key]["outcome"] == expected[key].outcome.value
    # talked before the gap and in after-call work then: when that work ended was not seen
    done_before, _, _ = pbx.oracle(DROP_AT)
    in_acw = {k for k in expected if k[0] in joined_before} - set(before) - {
        (c.uniqueid, c.queue) for c in done_before}
    assert in_acw and all(run.calls[k]["acw_s"] is None and run.calls[k]["gap_s"]
                          for k in in_acw)
    untouched = set(expected) - unknown - unseen - told_later - from_snapshot - continued
    assert_same(run, untouched - in_acw)
    assert run.rows == len(run.calls)


def test_a_silent_pbx_is_noticed_within_two_ping_intervals(tmp_path: Path) -> None:
    pbx = TracePbx("smoke", faults=(Faults(silent_after=DROP_AT),))
    noticed: list[float] = []

    async def hook() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        went_silent = time.monotonic()
        await until_disconnected(daemon)
        noticed.append(time.monotonic() - went_silent)
        pbx.server.snapshot = pbx.snapshot_after(DROP_AT)
        await until(lambda: daemon.stats.snapshots == 2)

    pbx.hooks[DROP_AT] = hook
    with capture_logs() as logs:
        run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite", ping_interval_s=PING))
    assert noticed and noticed[0] <= 2 * PING + 0.05
    lost = [e for e in logs if e["event"] == "ami.connection_lost"]
    assert lost and "nothing received within 0.1875 s of a Ping" in lost[0]["error"]
    assert set(run.calls) == set(clean())
    assert_same(run, set(clean()))


def test_a_restarted_asterisk_closes_open_calls_and_takes_the_new_snapshot(
    tmp_path: Path,
) -> None:
    pbx = TracePbx("smoke", faults=(Faults(drop_after=DROP_AT + 1),))
    restarted: list[float] = []

    async def restart() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        now = pbx.now()
        restarted.append(now)
        await pbx.server.send(f"Event: Shutdown\r\nPrivilege: system,all\r\nTimestamp: "
                              f"{now:.6f}\r\nShutdown: Cleanly\r\nRestart: True")
        await until_disconnected(daemon)
        pbx.reboot()
        fresh = pbx.server.snapshot.after_restart(now)
        # a caller already waiting when the new Asterisk is asked
        entry = ("Event: QueueEntry\r\nQueue: support\r\nPosition: 1\r\nUniqueid: 9999.1\r\n"
                 "CallerIDNum: 5550199\r\nCallerIDName: نور\r\nWait: 3")
        pbx.server.snapshot = type(fresh)((*fresh.queue_status, entry), fresh.queue_summary)
        await until(lambda: daemon.stats.snapshots == 2)

    pbx.hooks[DROP_AT] = restart
    open_calls = open_at(pbx, DROP_AT)
    done, _, joined = pbx.oracle(DROP_AT)
    expected = clean()
    # talked, hung up, and still in after-call work when Asterisk went down
    in_acw = {k for k in expected if k[0] in joined} - {(c.uniqueid, c.queue) for c in done}
    in_acw -= set(open_calls)
    with capture_logs() as logs:
        run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    # Asterisk ended them: the calls talking were cut there, the callers waiting dropped
    assert {k: (run.calls[k]["outcome"], run.calls[k]["end_reason"]) for k in open_calls} == {
        k: ("answered" if talking else "unknown", "pbx_restart")
        for k, talking in open_calls.items()}
    for key in (k for k, talking in open_calls.items() if talking):
        ended = run.calls[key]["ended_at"]
        assert isinstance(ended, float) and ended == pytest.approx(restarted[0], abs=0.001)
    assert {k for k, row in run.calls.items() if row["outcome"] == "unknown"} == {
        *(k for k, talking in open_calls.items() if not talking), ("9999.1", "support")}
    assert in_acw and all(run.calls[k]["acw_s"] is None for k in in_acw)
    newcomer = run.calls[("9999.1", "support")]
    assert newcomer["caller_name"] == "نور"
    assert newcomer["entered_at"] == pytest.approx(restarted[0] - 3, abs=0.5)
    assert set(run.calls) == set(expected) | {("9999.1", "support")}
    assert_same(run, set(expected) - set(open_calls) - in_acw)
    assert any(e["event"] == "ami.snapshot" for e in logs)


def test_garbage_frames_change_nothing_and_are_logged_once_a_minute(tmp_path: Path) -> None:
    pbx = TracePbx("smoke", faults=(Faults(garbage_every=100),))
    with capture_logs() as logs:
        run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    assert set(run.calls) == set(clean())
    assert_same(run, set(clean()))
    invalid = [e for e in logs if e["event"] == "ami.invalid_utf8"]
    # bursts of bad bytes every 100 events, in a few seconds: one line at once, one with
    # the rest when the connection ends (it used to be a line per read)
    bursts = pbx.sent // 100
    # frames the tracker has no use for are never decoded: their bad bytes go unseen
    per_burst = sum(frame.decode(errors="replace").count("\ufffd") for frame in GARBAGE
                    if not frame.startswith(b"Event: ") or wanted_frame(frame))
    assert per_burst > 0
    assert bursts > 2 and len(invalid) == 2
    assert invalid[-1]["total"] == sum(e["replaced"] for e in invalid) == bursts * per_burst


def test_a_burst_that_holds_the_pong_back_is_not_taken_for_a_dead_link(
    tmp_path: Path,
) -> None:
    pbx = TracePbx("smoke", faults=(Faults(pong_delay_s=4 * PING),))
    burst: list[float] = []

    async def hook() -> None:
        # two seconds of events the tracker ignores, while each Pong waits a second
        started = time.monotonic()
        for n in range(400):
            await pbx.server.send(f"Event: Newexten\r\nPrivilege: dialplan,all\r\n"
                                  f"Channel: PJSIP/trunk-{n:08x}\r\nApplication: Wait")
            await asyncio.sleep(0.005)
        burst.append(time.monotonic() - started)

    pbx.hooks[DROP_AT] = hook
    with capture_logs() as logs:
        run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite", ping_interval_s=PING))
    assert burst[0] > 8 * PING
    assert run.daemon.stats.connections == 1
    assert not [e for e in logs if e["event"] == "ami.connection_lost"]
    assert set(run.calls) == set(clean())
    assert_same(run, set(clean()))


def test_frames_split_at_every_byte_arrive_whole(tmp_path: Path) -> None:
    events = 120  # the first three calls, with Hebrew caller names
    pbx = TracePbx("smoke", faults=(Faults(split=True),), limit=events)
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    expected = {(c.uniqueid, c.queue): c for c in pbx.prefix_replay(events)}
    assert set(run.calls) == set(expected)
    assert {k: d for k in expected if (d := differences(run.calls[k], expected[k]))} == {}
    assert {row["caller_name"] for row in run.calls.values()} == {"דוד כהן"}
