"""``queuepulse record``: the live stream captured so that a replay of it tells the same calls."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

from collector.commands.record import record
from collector.config import parse_config
from collector.facts import CallRecord
from collector.parser import FrameParser
from collector.replay import replay
from collector.trace import frames_from_text, read_frames
from collector.tracker import Tracker
from pbxsim.ami_server import AmiServer
from tests.live_pbx import SECRET, TracePbx, daemon_config_toml, differences, until
from tests.traces import TRACE_CONFIG, replayed_calls


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
    frames = list(read_frames(path))
    assert frames[0].text == "Asterisk Call Manager/9.0.0"
    texts = [f.text for f in frames]
    assert any(t.startswith("Event: QueueStatusComplete") for t in texts)
    assert any(t.startswith("Event: VarSet") for t in texts), "every frame, not only ours"
    derived = {(f.uniqueid, f.queue): f for f in replay(frames, Tracker(TRACE_CONFIG),
                                                          FrameParser())
               if isinstance(f, CallRecord)}
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
                str(Path(sys.executable).parent / "queuepulse"), "record", "--config",
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
    frames = list(read_frames(out))
    assert err.strip().endswith(f"{len(frames)} frames recorded to {out}")
    assert frames[-1].text.endswith("CallerIDName: 王芳")
    assert frames_from_text("\r\n\r\n".join(f.text for f in frames[1:]))
