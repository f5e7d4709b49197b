"""The wallboard: drawn from the live board, from MQTT's retained topics and from a file."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from rich.console import Console

from collector.ami.link import AmiLink
from collector.facts import AgentState, CallRecord
from collector.parser import FrameParser
from collector.replay import replay_to_database
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.board import BoardSnapshot, KpiBoard
from kpi.definitions import other_outcomes
from kpi.mqtt.payloads import ami_message
from kpi.mqtt.publisher import snapshot_messages
from kpi.mqtt.retained import board_from_retained
from kpi.mqtt.subscriber import RetainedBoard
from kpi.mqtt.topics import Topics
from kpi.present.formats import duration, sl_style
from kpi.present.screens import board_time
from kpi.present.wallboard import kpi_line, render
from kpi.settings import KpiSettings
from queuepulse.cli import main
from tests.mosquitto import Mosquitto, free_port, mosquitto
from tests.test_publisher import live_run, run_async, trace_config
from tests.traces import TRACE_CONFIG, logged_calls, trace_dir

__all__ = ["mosquitto"]

UTC = ZoneInfo("UTC")
MID_TRACE = 7000
"""A frame of mixed-a at which callers wait and agents talk, ring and do after-call work."""
SETTINGS = KpiSettings(queue_service_level_s={"sales": 30},
                       queue_service_level_target={"sales": 0.6, "support": 0.99})
"""Targets that put sales (67 % mid-trace) above its target and support (95 %) below."""
TOPICS = Topics("queuepulse", "pbx")


@cache
def mid_trace() -> BoardSnapshot:
    """The live board of mixed-a, stopped at frame ``MID_TRACE``."""
    tracker, parser = Tracker(TRACE_CONFIG), FrameParser()
    board = KpiBoard(SETTINGS)
    for frame in list(TraceReader(trace_dir("mixed-a") / "ami.jsonl"))[:MID_TRACE]:
        event = parser.parse(frame.text, frame.received_at)
        if event is not None:
            board.add(tracker.feed(event))
    return board.snapshot(tracker.live())


def screen(snapshot: BoardSnapshot, width: int = 100) -> list[str]:
    """The wallboard as a terminal of ``width`` columns shows it, line by line."""
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(render(snapshot, timezone=UTC, source="test"))
    return console.export_text().splitlines()


def row(lines: list[str], first: str) -> list[str]:
    """The cells of the line that starts with ``first``."""
    found = [line for line in lines if line.startswith(first + " ")]
    assert found, f"no line for {first!r} in:\n" + "\n".join(lines)
    return found[0][len(first):].split()


COLOURS = {"32": "green", "33": "yellow", "31": "red"}


def sl_colours(snapshot: BoardSnapshot) -> dict[str, str]:
    """The colour each queue's service level is drawn in, read from the terminal codes."""
    console = Console(record=True, width=100, file=io.StringIO(), force_terminal=True,
                      color_system="standard")
    console.print(render(snapshot, timezone=UTC, source="test"))
    found = {}
    for line in console.export_text(styles=True).splitlines():
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
        level = re.search(r"\x1b\[(?:1;)?3([123])m(\d+%)", line)
        if level is not None and plain.split():
            found[plain.split("  ")[0]] = COLOURS["3" + level.group(1)]
    return found


def test_wallboard_shows_each_queues_kpis_and_who_waits() -> None:
    snapshot = mid_trace()
    lines = screen(snapshot)
    for queue in ("support", "sales", None):
        kpi = next(k for k in snapshot.kpis if k.queue == queue and k.window.name == "today")
        live = next(q for q in snapshot.queues if q.queue == queue)
        calls = kpi.calls
        cells = row(lines, queue or "all queues")
        assert cells[0] == str(live.waiting)
        assert cells[1] == (duration(live.longest_wait_s) if live.waiting else "-")
        assert cells[2:6] == [str(calls.offered), str(calls.answered), str(calls.abandoned),
                              str(other_outcomes(calls))]
        assert calls.service_level is not None and calls.asa_s is not None
        assert cells[6] == f"{calls.service_level * 100:.0f}%"
        assert cells[7] == duration(calls.asa_s)
        assert cells[-1] == f"{live.agents.available}/{live.agents.logged_in}"
    total = next(q for q in snapshot.queues if q.queue is None)
    assert total.waiting > 1
    assert lines[0].startswith("queuepulse  2026-11-24 ")


def test_service_level_is_coloured_against_each_queues_own_target() -> None:
    snapshot = mid_trace()
    today = {k.queue: k for k in snapshot.kpis if k.window.name == "today"}
    assert today["sales"].calls.service_level is not None
    assert 0.6 <= today["sales"].calls.service_level < 0.8  # red against a fixed 80 %
    assert today["support"].calls.service_level is not None
    assert 0.8 <= today["support"].calls.service_level < 0.99
    assert sl_colours(snapshot) == {"sales": "green", "support": "yellow",
                                    "all queues": "green"}


def test_a_service_level_far_below_its_target_is_red() -> None:
    assert sl_style(0.95, 0.9) == "green"
    assert sl_style(0.9, 0.9) == "green"
    assert sl_style(0.7, 0.9) == "yellow"
    assert sl_style(0.6, 0.9) == "red"
    assert sl_style(0.45, 0.5) == "yellow"
    assert sl_style(None, 0.8) == ""


def test_the_other_column_shows_timeouts_and_callers_who_left_an_empty_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "calls.sqlite"
    replay_to_database(trace_dir("lab-abandon") / "ami.jsonl", str(db), Tracker(TRACE_CONFIG))
    assert main(["top", "--db", str(db), "--once"]) == 0
    lines = capsys.readouterr().out.splitlines()
    heading = next(line for line in lines if line.startswith("queue "))
    column = heading.split().index("other") - 1
    logged = list(logged_calls("lab-abandon").values())
    others = [c for c in logged if c.outcome in ("timeout", "exit_empty", "exit_key")]
    assert len(others) == 2
    for queue in {c.queue for c in logged}:
        assert int(row(lines, queue)[column]) == sum(1 for c in others if c.queue == queue)
    assert int(row(lines, "all queues")[column]) == 2


def test_wallboard_lists_every_agent_with_its_state_and_timer() -> None:
    snapshot = mid_trace()
    lines = screen(snapshot)
    states = {a.state for a in snapshot.agents}
    assert {AgentState.TALKING, AgentState.RINGING, AgentState.ACW} <= states
    labels = {AgentState.ACW: "after-call work", AgentState.HOLD: "on hold"}
    for agent in snapshot.agents:
        line = next(line for line in lines if line.startswith(agent.name + " "))
        label = labels.get(agent.state, agent.state.value)
        assert line[len(agent.name):].split()[: len(label.split()) + 1] == [
            *label.split(), duration(snapshot.at - agent.since)]


def test_wallboard_fits_an_80_column_terminal() -> None:
    lines = screen(mid_trace(), width=80)
    assert max(len(line) for line in lines) <= 80
    assert not any("…" in line for line in lines)


def test_kpi_line_sums_up_all_queues_in_one_line() -> None:
    snapshot = mid_trace()
    line = kpi_line(snapshot, timezone=UTC)
    kpi = next(k for k in snapshot.kpis if k.queue is None and k.window.name == "today")
    assert f"offered {kpi.calls.offered} | answered {kpi.calls.answered}" in line
    total = next(q for q in snapshot.queues if q.queue is None)
    assert f"waiting {total.waiting} |" in line and "\n" not in line


def test_retained_topics_give_back_the_board_they_were_published_from() -> None:
    snapshot = mid_trace()
    retained = {m.topic: m.payload(snapshot.at) for m in snapshot_messages(TOPICS, snapshot)}
    again = board_from_retained(TOPICS, retained, snapshot.at)
    assert screen(again) == screen(snapshot)
    assert sl_colours(again) == sl_colours(snapshot)
    assert {(k.queue, k.window.name, k.service_level_target) for k in again.kpis} == {
        (k.queue, k.window.name, k.service_level_target) for k in snapshot.kpis}


def test_top_draws_the_board_from_a_broker_without_a_pbx(
    mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = mid_trace()

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            for message in snapshot_messages(TOPICS, snapshot):
                await client.publish(message.topic, message.payload(snapshot.at), qos=1,
                                     retain=True)

    asyncio.run(publish())
    assert main(["top", "--mqtt", f"127.0.0.1:{mosquitto.port}", "--once"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = screen(snapshot, width=80)
    assert lines[1].startswith("from mqtt 127.0.0.1:")
    for queue in ("support", "sales", "all queues"):
        # the timers have run on since publication; the figures are the board's
        assert row(lines, queue)[2:-1] == row(expected, queue)[2:-1]
    assert {line.split()[0] for line in lines if line.startswith("Agent ")} == {
        a.name.split()[0] for a in snapshot.agents}


def test_top_says_the_figures_are_frozen_while_queuepulse_is_not_connected_to_the_pbx(
    mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = mid_trace()
    since = snapshot.at + 2.0
    link = AmiLink(False, since, "10.0.0.5:5038", "cannot reach AMI at 10.0.0.5:5038 "
                   "(Connection refused)")

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            for message in [*snapshot_messages(TOPICS, snapshot), ami_message(TOPICS, link)]:
                await client.publish(message.topic, message.payload(snapshot.at), qos=1,
                                     retain=True)

    asyncio.run(publish())
    assert main(["top", "--mqtt", f"127.0.0.1:{mosquitto.port}", "--once"]) == 0
    lines = capsys.readouterr().out.splitlines()
    clock = dt.datetime.fromtimestamp(since, UTC)
    assert lines[2] == f"PBX NOT CONNECTED since {clock:%H:%M:%S}: the figures are frozen"
    assert lines[3] == "cannot reach AMI at 10.0.0.5:5038 (Connection refused)"
    line = kpi_line(snapshot, timezone=UTC, link=link)
    assert line.split(" | ")[1].startswith("PBX NOT CONNECTED since")
    assert kpi_line(snapshot, timezone=UTC, link=link.up(since)).split(" | ")[1] == "today"


def test_top_without_figures_on_the_broker_says_what_to_check(
    mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["top", "--mqtt", f"127.0.0.1:{mosquitto.port}", "--once"]) == 2
    err = capsys.readouterr().err
    assert "no queuepulse figures under queuepulse/<pbx.id>/" in err
    assert "[mqtt] enabled = true" in err


def test_top_names_a_broker_it_cannot_reach(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--mqtt", f"127.0.0.1:{free_port()}", "--once"]) == 2
    assert "cannot reach the MQTT broker at 127.0.0.1:" in capsys.readouterr().err


def test_top_shows_the_day_of_a_database_file_as_it_ended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "calls.sqlite"
    calls = replay_to_database(trace_dir("mixed-a") / "ami.jsonl", str(db),
                               Tracker(TRACE_CONFIG)).calls
    assert main(["top", "--db", str(db), "--once"]) == 0
    lines = capsys.readouterr().out.splitlines()
    logged = logged_calls("mixed-a").values()
    for queue in ("support", "sales"):
        cells = row(lines, queue)
        assert int(cells[0]) == sum(1 for c in logged if c.queue == queue)
        assert int(cells[1]) == sum(1 for c in logged if c.queue == queue
                                    and c.outcome == "answered")
    last = max(c.ended_at or c.entered_at for c in calls if isinstance(c, CallRecord))
    assert dt.datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d") in lines[0]
    assert "agent states are live only" in " ".join(lines)


def test_a_database_board_is_now_unless_the_file_lies_in_another_day_or_ahead() -> None:
    now = dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
    assert board_time(None, now, UTC) == now
    assert board_time(now - 600, now, UTC) == now
    assert board_time(now + 600, now, UTC) == now + 600
    yesterday = now - 86400
    assert board_time(yesterday, now, UTC) == yesterday


def test_top_refuses_a_file_that_is_not_a_queuepulse_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.sqlite"
    other.write_bytes(b"")
    assert main(["top", "--db", str(other), "--once"]) == 2
    assert "is not a queuepulse database" in capsys.readouterr().err
    assert main(["top", "--db", str(tmp_path / "missing.sqlite"), "--once"]) == 2
    assert "no database at" in capsys.readouterr().err


def test_every_redraw_from_mqtt_has_all_queues_counts_that_add_up(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The queues' topics and the all-queues topics arrive at their own moments; whatever
    the board has received, its all-queues row adds up the queue rows above it."""
    config = trace_config(mosquitto.port)
    counted = ("waiting", "offered", "answered", "abnd", "other")
    redraws: list[list[str]] = []

    async def scenario() -> None:
        board = RetainedBoard(config.mqtt, "127.0.0.1", mosquitto.port, config.pbx.id)
        async with live_run(config, tmp_path) as (run, _):
            reading = asyncio.create_task(board.run())
            await board.connected.wait()
            feeding = asyncio.create_task(run.feed("mixed-a", speed=100.0))
            offered = len(logged_calls("mixed-a"))
            while not (feeding.done() and redraws and row(redraws[-1], "all queues")[2]
                       == str(offered)):
                drawn = board.screen()
                if drawn is not None:
                    redraws.append(screen(drawn.snapshot))
                await asyncio.sleep(0.005)
            reading.cancel()

    run_async(scenario)
    assert len(redraws) > 100
    for lines in redraws:
        rows = board_rows(lines)
        total = rows.pop("all queues")
        assert set(rows) <= {"sales", "support"}
        for name in counted:
            assert count(total[name]) == sum(count(r[name]) for r in rows.values()), (
                name, lines)


def board_rows(lines: list[str]) -> dict[str, dict[str, str]]:
    """The queue table of a drawn board: each row's cells by heading."""
    first = next(i for i, line in enumerate(lines) if line.startswith("queue "))
    headings = lines[first].split()[1:]
    rows = {}
    for line in lines[first + 1:]:
        if not line.strip():
            break
        label = "all queues" if line.startswith("all queues ") else line.split()[0]
        rows[label] = dict(zip(headings, line[len(label):].split(), strict=True))
    return rows


def count(cell: str) -> int:
    """A count as drawn; ``-`` (no figures yet) is none."""
    return 0 if cell == "-" else int(cell)
