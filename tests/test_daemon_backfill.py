"""The live daemon with ``pbx.queue_log``: no call lost to a gap, none counted twice.

``lab-reconnect`` (a real Asterisk restarted while calls waited and talked) is served over
TCP, and its queue_log is written as the PBX's clock passes each line's time, so the file
grows as on the PBX. With ``pbx.queue_log`` every call of queue_log is stored with its
outcome and timings; without it, what the stream did not show stays ``unknown`` or
absent, and nothing is made up.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from collector.errors import UserError
from collector.facts import CallRecord, Fact
from collector.trace import TraceReader
from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.pbxsim.faults import Faults
from queuepulse.sd_notify import Notifier
from tests.live_pbx import (
    LiveRun,
    TracePbx,
    daemon_config_toml,
    recorded_drops,
    run_live,
    until,
)
from tests.traces import logged_calls, trace_dir

TRACE = "lab-reconnect"
DROPS = recorded_drops(list(TraceReader(trace_dir(TRACE) / "ami.jsonl")))
LEFT, RESTART = DROPS
"""The recording lost the stream once with Asterisk up, then at Asterisk's restart."""
NEVER_SEEN = {("1796382426.10", "basic"), ("1796382451.11", "basic"),
              ("1796382453.12", "basic")}
"""Callers who joined while the outage below lasted, and were gone by its end."""
LOST = {(uniqueid, "basic") for uniqueid in (
    "1796382407.0", "1796382408.2", "1796382409.4", "1796382410.6", "1796382411.7",
    "1796382412.8", "1796382414.9")}
"""Callers waiting or talking when the outage below began, gone when it ended."""
LEFT_AT = 1796382421.3
"""When the recording's first drop began (the PBX's time)."""
DROPPED = {("1796382414.9", "basic")} | NEVER_SEEN
"""Callers waiting when Asterisk restarted: it dropped them (truth.json: ``ended_by_pbx``),
and queue_log logs them ``ABANDON``."""
CUT = {("1796382410.6", "basic"), ("1796382411.7", "basic"), ("1796382412.8", "basic")}
"""Calls talking when Asterisk restarted: it cut them, and queue_log logs their ends."""
Key = tuple[str, str]


class GrowingQueueLog:
    """The recording's queue_log, written a line at a time as the PBX's clock passes the
    line's time (Asterisk writes a line when it happens), maybe rotated on the way."""

    def __init__(self, folder: Path, rotation: str = "", rotate_at: float = 0.0) -> None:
        self.path = folder / "queue_log"
        self.path.write_text("", encoding="utf-8")
        self.lines = (trace_dir(TRACE) / "queue_log").read_text(encoding="utf-8").splitlines(
            True)
        self.written = 0
        self._rotation, self._rotate_at = rotation, rotate_at

    def __call__(self, now: float) -> None:
        while self.written < len(self.lines) and self.stamp(self.written) <= now:
            if self._rotation and self.stamp(self.written) >= self._rotate_at:
                self._rotate()
            with self.path.open("a", encoding="utf-8") as stream:
                stream.write(self.lines[self.written])
            self.written += 1

    def stamp(self, index: int) -> int:
        return int(self.lines[index].split("|", 1)[0])

    def _rotate(self) -> None:
        rotated = self.path.with_name("queue_log.1")
        if self._rotation == "rename":
            self.path.rename(rotated)
            self.path.write_text("", encoding="utf-8")
        else:
            shutil.copy(self.path, rotated)
            with self.path.open("r+", encoding="utf-8") as stream:
                stream.truncate(0)
        self._rotation = ""


def settings(log: GrowingQueueLog | None) -> str:
    return f'[pbx]\nqueue_log = "{log.path}"\n' if log is not None else ""


def follow(pbx: TracePbx, db: Path, log: GrowingQueueLog | None,
           before: Callable[[], Awaitable[None]] | None = None) -> tuple[LiveRun, list[Fact]]:
    """Run the daemon against the PBX (with ``pbx.queue_log`` when ``log`` is given); the
    run, and every fact the daemon handed its sinks (the KPI board, MQTT)."""
    if log is not None:
        pbx.clock_moved = log
    handed: list[Fact] = []
    run = asyncio.run(run_live(pbx, db, settings=settings(log), sinks=[handed.extend],
                               before=before))
    return run, handed


def disagreements(run: LiveRun) -> dict[Key, str]:
    """How the stored calls differ from queue_log (wait and talk+hold within 1 s)."""
    logged = logged_calls(TRACE)
    wrong: dict[Key, str] = dict.fromkeys(set(run.calls) - set(logged), "not in queue_log")
    for key, call in logged.items():
        row = run.calls.get(key)
        if row is None:
            wrong[key] = "missing"
            continue
        connected = (None if row["talk_s"] is None
                     else float(row["talk_s"]) + float(row["hold_s"] or 0))  # type: ignore[arg-type]
        if row["outcome"] != call.outcome:
            wrong[key] = f"outcome {row['outcome']}"
        elif abs(float(row["wait_s"]) - (call.wait or 0)) > 1.0:  # type: ignore[arg-type]
            wrong[key] = f"wait {row['wait_s']} != {call.wait}"
        elif call.connected is not None and (
                connected is None or abs(connected - call.connected) > 1.0):
            wrong[key] = f"talk+hold {connected} != {call.connected}"
    return wrong


def counted(handed: list[Fact]) -> dict[Key, int]:
    """How many calls of each stint the sinks hold once each call put again has replaced
    its earlier version (the KPI board's rule: same uniqueid, queue and entry)."""
    calls = {f.call_id: f for f in handed if isinstance(f, CallRecord)}
    stints: dict[Key, int] = {}
    for call in calls.values():
        stints[(call.uniqueid, call.queue)] = stints.get((call.uniqueid, call.queue), 0) + 1
    return stints


def sources(run: LiveRun) -> dict[str, set[Key]]:
    found: dict[str, set[Key]] = {}
    for key, row in run.calls.items():
        found.setdefault(str(row["source"]), set()).add(key)
    return found


def outage(log: GrowingQueueLog | None, *, read_at: float = 0.0) -> TracePbx:
    """``lab-reconnect`` with the connection dropped where the recording's first did, and
    down until Asterisk has restarted: every event in between is lost. With
    ``pbx.queue_log``, the calls that began meanwhile are stored as soon as Asterisk's
    QUEUESTART tells that its restart ended them, while the stream is still down (and,
    given ``read_at``, the daemon has read the file up to that moment before the clock
    goes past it)."""
    pbx = TracePbx(TRACE, faults=(Faults(drop_after=LEFT.events),))

    async def hook() -> None:
        daemon = pbx.daemon
        assert daemon is not None
        snapshots = daemon.stats.snapshots
        pbx.server.refuse()  # before the drop: the daemon cannot come back in between
        await until(lambda: not daemon.connected)
        follower = daemon.queue_log
        if follower is not None and log is not None and read_at:
            while pbx.now() < read_at:
                await pbx.lose(1)
            written = log.written
            await until(lambda: follower.tail.stats.lines >= written)
        while pbx.sent < RESTART.events:
            await pbx.lose(1)
        pbx.set_time(RESTART.back_at)
        if follower is not None:
            await until(lambda: follower.stored == len(NEVER_SEEN))
        pbx.reboot()
        pbx.server.snapshot = await pbx.recorded_snapshot(RESTART.events)
        await pbx.server.accept()
        await until(lambda: daemon.stats.snapshots > snapshots)

    pbx.hooks[LEFT.events] = hook
    return pbx


def dropped_by_the_pbx(run: LiveRun) -> set[Key]:
    """The calls stored as callers the PBX dropped: ``unknown``, ``end_reason``
    ``pbx_restart``, their wait up to the restart."""
    return {key for key, row in run.calls.items()
            if (row["outcome"], row["end_reason"]) == ("unknown", "pbx_restart")
            and row["ended_at"] is not None and row["wait_s"] is not None}


def test_lab_reconnect_with_its_real_drops_stores_every_queue_log_call(tmp_path: Path) -> None:
    run, handed = follow(TracePbx(TRACE, drops=DROPS), tmp_path / "live.sqlite",
                         GrowingQueueLog(tmp_path))
    assert run.daemon.stats.connections == 3
    # the live collector saw Asterisk drop the callers waiting at its restart: queue_log's
    # ABANDON of them does not make them abandons
    assert disagreements(run) == dict.fromkeys(DROPPED, "outcome unknown")
    assert dropped_by_the_pbx(run) == DROPPED
    assert run.rows == len(run.calls) == len(logged_calls(TRACE))
    assert set(counted(handed).values()) == {1}
    assert set(sources(run)) <= {"live", "live+queue_log"}


def test_lab_reconnect_without_queue_log_stores_what_it_saw_and_marks_the_gap(
    tmp_path: Path,
) -> None:
    # its first drop lost nothing but 20 s of events: the QueueStatus answer after it
    # listed every caller open before, and the restart was seen
    run, _ = follow(TracePbx(TRACE, drops=DROPS), tmp_path / "live.sqlite", None)
    assert disagreements(run) == dict.fromkeys(DROPPED, "outcome unknown")
    assert dropped_by_the_pbx(run) == DROPPED
    assert run.rows == len(run.calls) == len(logged_calls(TRACE))
    across = {key for key, row in run.calls.items() if float(row["gap_s"]) > 20}  # type: ignore[arg-type]
    assert across == LOST
    # a hold of the calls talking through the gap could have begun or ended unseen in it
    talking = {key for key in LOST if float(run.calls[key]["answered_at"] or 2e9)  # type: ignore[arg-type]
               < LEFT_AT}
    assert len(talking) == 3 and all(run.calls[key]["hold_s"] is None for key in talking)
    assert all(run.calls[key]["talk_s"] is not None for key in talking)


def test_an_outage_over_a_restart_loses_no_call_with_queue_log(tmp_path: Path) -> None:
    log = GrowingQueueLog(tmp_path)
    run, handed = follow(outage(log), tmp_path / "live.sqlite", log)
    assert disagreements(run) == dict.fromkeys(DROPPED, "outcome unknown")
    assert run.rows == len(run.calls) == len(logged_calls(TRACE))
    assert set(counted(handed).values()) == {1}
    found = sources(run)
    assert found["queue_log"] == NEVER_SEEN and found["live+queue_log"] == LOST
    for key in LOST:  # queue_log cannot see hold: it is unknown, talk is the connected time
        assert run.calls[key]["hold_s"] is None
        assert float(run.calls[key]["gap_s"]) > 50  # type: ignore[arg-type]  # the live's
    # the restart fell into the gap: queue_log's ends of the calls at its last second
    # before QUEUESTART tell that Asterisk dropped the callers then waiting and cut the
    # calls then talking, as the live collector stores them when it sees the restart
    assert dropped_by_the_pbx(run) == DROPPED
    assert {key for key, row in run.calls.items() if row["end_reason"] == "pbx_restart"
            and row["outcome"] == "answered" and row["acw_s"] is None} == CUT


def test_an_outage_over_a_restart_without_queue_log_stores_only_what_was_seen(
    tmp_path: Path,
) -> None:
    run, _ = follow(outage(None), tmp_path / "live.sqlite", None)
    wrong = disagreements(run)
    assert {k for k, what in wrong.items() if what == "missing"} == NEVER_SEEN
    assert {k for k, what in wrong.items() if what != "missing"} == LOST
    # how each lost call ended fell into the gap: a caller answered before it stays
    # answered, one waiting is unknown, and neither has an end, a talk or a hold
    outcomes = {k: str(run.calls[k]["outcome"]) for k in LOST}
    assert sorted(outcomes.values()) == ["answered"] * 3 + ["unknown"] * 4
    assert all(run.calls[k]["ended_at"] is None and run.calls[k]["talk_s"] is None
               and run.calls[k]["hold_s"] is None and run.calls[k]["end_reason"] is None
               and float(run.calls[k]["gap_s"]) > 50 for k in LOST)  # type: ignore[arg-type]
    assert run.rows == len(run.calls)


@pytest.mark.parametrize("rotation", ["rename", "copytruncate"])
def test_a_queue_log_rotated_during_the_outage_loses_no_call(
    rotation: str, tmp_path: Path,
) -> None:
    log = GrowingQueueLog(tmp_path, rotation, rotate_at=1796382462)
    run, _ = follow(outage(log, read_at=1796382456), tmp_path / "live.sqlite", log)
    assert disagreements(run) == dict.fromkeys(DROPPED, "outcome unknown")
    assert run.rows == len(run.calls)
    assert sources(run)["queue_log"] == NEVER_SEEN
    tail = run.daemon.queue_log.tail.stats if run.daemon.queue_log else None
    assert tail is not None and (tail.rotations, tail.truncations, tail.unrecovered) == (
        (1, 0, 0) if rotation == "rename" else (0, 1, 0))


def test_at_start_the_daemon_backfills_the_time_it_was_not_running(tmp_path: Path) -> None:
    db, log = tmp_path / "live.sqlite", GrowingQueueLog(tmp_path)
    follow(TracePbx(TRACE, limit=LEFT.events), db, log)
    pbx = TracePbx(TRACE)

    async def meanwhile() -> None:
        await pbx.lose(RESTART.events)  # the PBX went on while queuepulse was stopped
        pbx.set_time(RESTART.back_at)
        pbx.reboot()
        pbx.server.snapshot = await pbx.recorded_snapshot(RESTART.events)

    run, handed = follow(pbx, db, log, before=meanwhile)
    assert disagreements(run) == dict.fromkeys(DROPPED, "outcome unknown")
    assert dropped_by_the_pbx(run) == DROPPED
    assert run.rows == len(run.calls)
    found = sources(run)
    assert found["queue_log"] == NEVER_SEEN and found["live+queue_log"] == LOST
    assert {(c.uniqueid, c.queue) for c in handed if isinstance(c, CallRecord)} >= (
        NEVER_SEEN | LOST)


def test_an_unreadable_queue_log_stops_the_daemon_with_its_fix(tmp_path: Path) -> None:
    config = parse_config(f'[pbx]\nqueue_log = "{tmp_path}"\n'
                          + daemon_config_toml(1, tmp_path / "live.sqlite"))
    daemon = Daemon(config, notifier=Notifier(None))
    with pytest.raises(UserError, match=r"cannot read pbx.queue_log .* \(Is a directory\)"
                       r".*docs/service.md"):
        asyncio.run(daemon.run())
