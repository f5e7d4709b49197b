"""The live daemon over real TCP against the simulated PBX: the same calls as a replay."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from collector.facts import CallRecord, Fact, Phase
from collector.parser import RELEVANT_EVENTS
from collector.trace import TraceReader
from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.logs import LogConfig, configure_logging
from queuepulse.pbxsim.ami_server import AmiServer
from queuepulse.sd_notify import Notifier
from tests.live_pbx import (
    SECRET,
    TracePbx,
    daemon_config_toml,
    differences,
    recorded_drops,
    run_live,
    stored_calls,
    until,
)
from tests.recording_truth import case_id, final_calls, streams
from tests.scenarios import answered
from tests.traces import final_records, replayed_calls, trace_dir


@pytest.mark.parametrize("case", streams(), ids=case_id)
def test_a_live_run_stores_the_same_calls_as_a_replay_of_the_stream(
    case: tuple[str, str], tmp_path: Path
) -> None:
    # a replay agrees with queue_log (test_tracker_recordings): so does the live daemon
    name, stream = case
    # served as recorded: the connection drops where the recording's did (lab-reconnect)
    drops = recorded_drops(list(TraceReader(trace_dir(name) / stream)))
    pbx = TracePbx(name, stream=stream, drops=drops)
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    assert run.daemon.stats.connections == len(drops) + 1
    expected = final_calls(name, stream)
    assert set(run.calls) == set(expected)
    assert run.rows == len(expected)
    wrong = {key: differences(run.calls[key], call) for key, call in expected.items()}
    assert {key: diff for key, diff in wrong.items() if diff} == {}


def test_each_finished_call_has_one_canonical_log_line_and_no_secret(tmp_path: Path) -> None:
    with capture_logs() as logs:
        run = asyncio.run(run_live(TracePbx("smoke"), tmp_path / "live.sqlite"))
    finished = [e for e in logs if e["event"] == "call.finished"]
    assert sorted(e["call_id"] for e in finished) == sorted(
        str(row["call_id"]) for row in run.calls.values())
    assert all({"outcome", "wait_s", "talk_s", "hold_s", "acw_s", "handle_s"} <= set(e)
               for e in finished)
    assert SECRET not in repr(logs)


def test_the_relevant_frames_are_kept_in_the_events_table(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(TracePbx("smoke"), db))
    with sqlite3.connect(db) as conn:
        names = dict(conn.execute("SELECT event, count(*) FROM events GROUP BY event"))
        (stamped,) = conn.execute("SELECT count(*) FROM events WHERE timestamp IS NOT NULL"
                                  " AND event = 'QueueCallerJoin'").fetchone()
        queues = [r[0] for r in conn.execute("SELECT name FROM queues ORDER BY name")]
        (other_dialplan,) = conn.execute("SELECT count(*) FROM events WHERE event = 'Newexten'"
                                         " AND raw NOT LIKE '%Application: Queue' || char(13) || "
                                         "'%'").fetchone()
    assert sum(names.values()) == run.daemon.stats.events
    # of the dialplan's Newexten, only those that send a caller to a queue
    assert set(names) <= RELEVANT_EVENTS and names["Newexten"] and other_dialplan == 0
    assert stamped == names["QueueCallerJoin"] == 14
    assert queues == ["sales", "support"]


def _stored_events(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT event, raw FROM events ORDER BY id"))


def test_raw_events_all_stores_the_frames_the_tracker_ignores_too(tmp_path: Path) -> None:
    pbx = TracePbx("smoke")
    recorded = [f.text for f in pbx.frames if f.text.startswith("Event: Newexten\r\n")]
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(pbx, db, database='raw_events = "all"\n'))
    stored = _stored_events(db)
    assert [raw for name, raw in stored if name == "Newexten"] == recorded != []
    used = [name for name, _ in stored if name in RELEVANT_EVENTS]
    assert len(used) >= run.daemon.stats.events
    assert len(stored) > len(used)


def test_raw_events_used_stores_only_the_frames_the_tracker_used(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(TracePbx("smoke"), db, database='raw_events = "used"\n'))
    stored = _stored_events(db)
    assert len(stored) == run.daemon.stats.events == run.daemon.parser.stats.events
    assert {name for name, _ in stored} <= RELEVANT_EVENTS


def test_raw_events_none_stores_no_frame_and_every_call(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    run = asyncio.run(run_live(TracePbx("smoke"), db, database='raw_events = "none"\n'))
    assert _stored_events(db) == []
    assert run.rows == len(replayed_calls("smoke")) > 0


async def _feed(frames: list[str]) -> AsyncIterator[str]:
    for frame in frames:
        yield frame


def test_a_user_without_the_agent_class_is_told_so(tmp_path: Path) -> None:
    frames = [f.text for f in TraceReader(trace_dir("smoke") / "ami.jsonl")
              if f.text.startswith("Event: ") and "Privilege: agent" not in f.text
              and "ActionID" not in f.text]

    async def body() -> None:
        async with AmiServer(_feed(frames), secret=SECRET, auth_failure_delay=0.0) as server:
            config = parse_config(daemon_config_toml(server.port, tmp_path / "q.sqlite"))
            daemon = Daemon(config, tick_s=None, notifier=Notifier(None))
            running = asyncio.create_task(daemon.run())
            await until(lambda: daemon.stats.frames >= len(frames))
            daemon.stop()
            await running

    with capture_logs() as logs:
        asyncio.run(asyncio.wait_for(body(), 20))
    missing = [e for e in logs if e["event"] == "ami.read_class_missing"]
    assert [e["read_class"] for e in missing] == ["agent"]
    assert "add agent to the AMI user's read= line" in missing[0]["fix"]


def test_time_based_rules_fire_while_the_pbx_is_quiet(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite"

    async def body() -> None:
        async with AmiServer(secret=SECRET, auth_failure_delay=0.0) as server:
            config = parse_config(
                daemon_config_toml(server.port, db, ping_interval_s=0.1)
                .replace("wrapuptime_s = 6",
                                                            "wrapuptime_s = 0.2")
                .replace("[queues.sales]", "[tracking]\nacw_pause_window_s = 0.3\n\n"
                         "[queues.support]\nwrapuptime_s = 0.2\n\n[queues.sales]"))
            daemon = Daemon(config, tick_s=0.1, notifier=Notifier(None))
            running = asyncio.create_task(daemon.run())
            await until(lambda: daemon.ready)
            text = answered(time.time() - 3.0, talk=0.5).replace("\n", "\r\n")
            for frame in text.split("\r\n\r\n"):
                if frame:
                    await server.send(frame)
            # nothing happens on the PBX but Pongs: only the ticks can close the ACW window
            await until(lambda: stored_calls(db)[1] == 1, timeout=3)
            daemon.stop()
            await running

    asyncio.run(asyncio.wait_for(body(), 20))
    (row,) = stored_calls(db)[0].values()
    assert row["acw_source"] == "wrapuptime"
    assert row["acw_s"] == pytest.approx(0.2)


def test_a_failing_consumer_does_not_stop_the_others(tmp_path: Path) -> None:
    received: list[Fact] = []

    def broken(facts: Sequence[Fact]) -> None:
        raise RuntimeError("consumer bug")

    with capture_logs() as logs:
        run = asyncio.run(run_live(TracePbx("smoke"), tmp_path / "live.sqlite",
                                   sinks=[broken, received.extend]))
    assert len(final_records(received)) == run.rows == 14
    assert any(e["event"] == "daemon.sink_failed" for e in logs)


def test_an_error_logged_at_info_holds_no_callers_number_or_name(tmp_path: Path) -> None:
    def nosy(facts: Sequence[Fact]) -> None:
        for fact in facts:
            if isinstance(fact, CallRecord) and fact.phase is Phase.DONE:
                raise ValueError(f"cannot use {fact.caller_name} {fact.caller_num}")

    out = io.StringIO()
    configure_logging(LogConfig(level="info", format="json"), stream=out)
    try:
        run = asyncio.run(run_live(TracePbx("smoke"), tmp_path / "live.sqlite", sinks=[nosy]))
    finally:
        structlog.reset_defaults()
    failed = [e for e in map(json.loads, out.getvalue().splitlines())
              if e["event"] == "daemon.sink_failed"]
    assert len(failed) == run.rows == 14
    assert failed[0]["error"] == "ValueError" and "in nosy" in failed[0]["raised_at"]
    callers = {str(row[column]) for row in run.calls.values()
               for column in ("caller_name", "caller_num") if row[column]}
    assert callers and not [c for c in callers if c in out.getvalue()]


async def _old_asterisk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An AMI without MD5 challenges that refuses QueueStatus and QueueSummary.

    pbxsim's server answers every action a logged-in user may send, so this refusal
    needs a server of its own.
    """
    writer.write(b"Asterisk Call Manager/2.10.6\r\n")
    while True:
        try:
            headers = (await reader.readuntil(b"\r\n\r\n")).decode()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        fields = dict(line.split(": ", 1) for line in headers.strip().split("\r\n"))
        action, action_id = fields["Action"], fields["ActionID"]
        answer = {
            "Challenge": "Error\r\nMessage: Invalid/unknown command",
            "Login": "Success\r\nMessage: Authentication accepted",
            "Ping": "Success\r\nPing: Pong",
        }.get(action, "Error\r\nMessage: Permission denied")
        writer.write(f"Response: {answer}\r\nActionID: {action_id}\r\n\r\n".encode())
        if action == "Login":
            writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\n\r\n")


def test_a_refused_snapshot_is_a_warning_naming_the_fix(tmp_path: Path) -> None:
    async def body() -> None:
        server = await asyncio.start_server(_old_asterisk, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            # an Asterisk that old knows no Challenge either
            config = parse_config(daemon_config_toml(port, tmp_path / "q.sqlite",
                                                     ami="allow_plain_login = true\n"))
            daemon = Daemon(config, tick_s=None, notifier=Notifier(None))
            running = asyncio.create_task(daemon.run())
            await until(lambda: daemon.ready)
            daemon.stop()
            await running

    with capture_logs() as logs:
        asyncio.run(asyncio.wait_for(body(), 10))
    refused = [e for e in logs if e["event"] == "ami.snapshot_refused"]
    assert [e["action"] for e in refused] == ["QueueStatus", "QueueSummary"]
    assert refused[0]["answer"] == "Permission denied"
    assert "read = agent,call,system" in refused[0]["fix"]


def test_a_fullybooted_after_login_brings_a_new_snapshot(tmp_path: Path) -> None:
    # Asterisk finished booting after we logged in: its queues are only now complete
    async def body() -> None:
        async with AmiServer(secret=SECRET, auth_failure_delay=0.0) as server:
            config = parse_config(daemon_config_toml(server.port, tmp_path / "q.sqlite"))
            daemon = Daemon(config, tick_s=None, notifier=Notifier(None))
            running = asyncio.create_task(daemon.run())
            await until(lambda: daemon.stats.snapshots == 1)
            await server.send("Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 2\r\n"
                              "LastReload: 2\r\nStatus: Fully Booted")
            await until(lambda: daemon.stats.snapshots == 2)
            daemon.stop()
            await running

    with capture_logs() as logs:
        asyncio.run(asyncio.wait_for(body(), 10))
    assert [e["event"] for e in logs if e["event"] == "ami.pbx_booted"] == ["ami.pbx_booted"]
