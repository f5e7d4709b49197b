"""``queuepulse record``: the live stream captured so that a replay of it tells the same calls."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from collector.parser import FrameParser
from collector.recording import record
from collector.replay import replay
from collector.trace import TraceReader
from collector.tracker import Tracker
from queuepulse.config import parse_config
from queuepulse.pbxsim.ami_server import AmiServer
from tests.live_pbx import SECRET, TracePbx, daemon_config_toml, differences, until
from tests.scenarios import frames_from_text
from tests.traces import TRACE_CONFIG, final_records, replayed_calls
from tests.user_errors import files, one_line, run_cli

QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")


def test_a_recording_replays_to_the_same_calls_as_the_original_trace(tmp_path: Path) -> None:
    out = io.StringIO()

    async def body() -> None:
        pbx = TracePbx("smoke")
        pbx.start_when = lambda: "QueueSummaryComplete" in out.getvalue()
        async with pbx.server as server:
            config = parse_config(daemon_config_toml(server.port, tmp_path / "x.sqlite",
                                                     ping_interval_s=0.1))
            stop = asyncio.Event()
            recording = asyncio.create_task(record(config.ami, out, stop, clock=pbx.now))
            await pbx.finished.wait()
            await until(lambda: pbx.sent == server.stats.events)
            # a Pong, stamped at the trace's end, takes a replay of the recording there
            pongs = out.getvalue().count("Ping: Pong")
            pbx.to_the_end()
            await until(lambda: out.getvalue().count("Ping: Pong") > pongs)
            stop.set()
            frames = await recording
            assert frames == out.getvalue().count("\n")
            assert frames >= server.stats.events + 1 + 6  # banner, login, snapshots

    asyncio.run(asyncio.wait_for(body(), 20))
    path = tmp_path / "recorded.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    frames = list(TraceReader(path))
    assert frames[0].text == "Asterisk Call Manager/9.0.0"
    texts = [f.text for f in frames]
    assert any(t.startswith("Event: QueueStatusComplete") for t in texts)
    assert any(t.startswith("Event: VarSet") for t in texts), "every frame, not only ours"
    derived = {(f.uniqueid, f.queue): f for f in final_records(
        replay(frames, Tracker(TRACE_CONFIG), FrameParser()))}
    expected = replayed_calls("smoke")
    assert set(derived) == set(expected)
    assert {k: d for k in expected
            if (d := differences(derived[k].as_row(), expected[k]))} == {}


def test_record_on_the_command_line_stops_after_its_duration(tmp_path: Path) -> None:
    out = tmp_path / "live.jsonl"

    async def body() -> tuple[int, str]:
        async with AmiServer(secret=SECRET, auth_failure_delay=0.0) as server:
            config = tmp_path / "q.toml"
            config.write_text(daemon_config_toml(server.port, tmp_path / "x.sqlite"),
                              encoding="utf-8")
            process = await asyncio.create_subprocess_exec(
                QUEUEPULSE, "record", "--config",
                str(config), "--duration", "2.0", str(out), stderr=asyncio.subprocess.PIPE)
            finished = asyncio.ensure_future(process.communicate())
            # events sent before the recorder has logged in are lost, as on a real PBX, and
            # a loaded machine starts it slowly: keep sending until it is done
            while not finished.done():
                await server.send("Event: Hangup\r\nPrivilege: call,all\r\nUniqueid: 1.1\r\n"
                                  "CallerIDName: 王芳")
                await asyncio.wait([finished], timeout=0.2)
            _, err = await asyncio.wait_for(finished, 10)
            assert process.returncode is not None
            return process.returncode, err.decode()

    status, err = asyncio.run(body())
    assert status == 0, err
    frames = list(TraceReader(out))
    assert err.strip().endswith(f"{len(frames)} frames recorded to {out}")
    assert frames[-1].text.endswith("CallerIDName: 王芳")
    assert frames_from_text("\r\n\r\n".join(f.text for f in frames[1:]))


@pytest.mark.parametrize("secret", [
    "",
    'secret_file = "{folder}/missing_secret"\n',
    'secret_file = "/run/credentials/queuepulse.service/ami_secret"\n',
])
def test_record_checks_the_secret_as_run_does(
    secret: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "queuepulse.toml"
    config.write_text(f"[ami]\nport = 1\n{secret.format(folder=tmp_path)}", encoding="utf-8")
    before = files(tmp_path)
    run = run_cli(["run", "--config", str(config)], capsys)
    recorded = run_cli(["record", "--config", str(config), str(tmp_path / "out.jsonl")], capsys)
    assert recorded == run
    status, err = recorded
    assert status == 2
    assert one_line(err).startswith("queuepulse: config key 'ami.secret")
    assert files(tmp_path) == before


async def record_for(config: Path, out: Path, duration: str) -> tuple[int, str]:
    """``queuepulse record`` until it exits: its status and stderr."""
    process = await asyncio.create_subprocess_exec(
        QUEUEPULSE, "record", "--config", str(config), "--duration", duration, str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, err.decode()


def test_a_refused_login_leaves_no_recording_behind(tmp_path: Path) -> None:
    config = tmp_path / "queuepulse.toml"

    async def body() -> tuple[int, str]:
        async with AmiServer(secret="right", auth_failure_delay=0.0) as server:
            config.write_text(daemon_config_toml(server.port, tmp_path / "x.sqlite",
                                                 secret="wrong"), encoding="utf-8")
            return await record_for(config, tmp_path / "traffic.jsonl", "10")

    status, err = asyncio.run(body())
    assert status == 2
    assert "AMI login refused for user queuepulse" in one_line(err)
    assert [p.name for p in tmp_path.iterdir()] == ["queuepulse.toml"]


def test_a_pbx_never_reached_leaves_no_recording_behind(tmp_path: Path) -> None:
    out, config = tmp_path / "traffic.jsonl", tmp_path / "queuepulse.toml"
    config.write_text('[ami]\nport = 1\nsecret = "x"\nreconnect_max_s = 0.2\n',
                      encoding="utf-8")
    status, err = asyncio.run(record_for(config, out, "1"))
    assert status == 2
    last = err.strip().splitlines()[-1]  # after the log of each attempt
    assert last.startswith("queuepulse: nothing recorded: no connection to the AMI at "
                           "127.0.0.1:1")
    assert f"{out} was not written" in last
    assert not out.exists()
