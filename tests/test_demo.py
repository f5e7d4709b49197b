"""``queuepulse demo``: the simulated call center, the real daemon, and what a newcomer sees."""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from queuepulse.config import load_config, parse_config
from queuepulse.daemon import Daemon
from queuepulse.demo_run import demo_config
from queuepulse.pbxsim.demo_pbx import DEMO_CENTER, DemoPbx, opening_offset_h
from queuepulse.sd_notify import Notifier
from tests.mosquitto import Mosquitto, free_port, mosquitto

__all__ = ["mosquitto"]

QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")
KPI_LINE = re.compile(r"^\d\d:\d\d:\d\d \| today \| offered \d+ \| answered \d+ \| abandoned \d+ "
                      r"\| SL (\d+%|-) \| ASA [-\d:]+ \| AHT [-\d:]+ \| waiting \d+ \| "
                      r"agents \d+/\d+ available$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``queuepulse demo`` as a user would, off a terminal, in ``tmp_path``."""
    return subprocess.run([QUEUEPULSE, "demo", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)


def stored(db: Path, sql: str) -> list[tuple[object, ...]]:
    """The rows a query finds in a database file."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_the_demo_day_opens_in_the_morning_rush_whatever_the_hour() -> None:
    for start in (1_800_000_000.0, 1_800_000_000.0 + 13 * 3600 + 17):
        local = (start + opening_offset_h(start) * 3600) % 86400 / 3600
        assert local == pytest.approx(9.5)


def test_the_daemon_follows_the_demo_pbx_faster_than_life(tmp_path: Path) -> None:
    speed = 200.0

    async def scenario() -> tuple[float, Daemon]:
        async with DemoPbx(speed=speed, seed=3) as pbx:
            start = pbx.now
            config = parse_config(demo_config(pbx, tmp_path / "d.sqlite", None, False, "UTC"))
            daemon = Daemon(config, monotonic=lambda: time.monotonic() * speed,
                            notifier=Notifier(None), board=True)
            running = asyncio.create_task(daemon.run())
            began = time.monotonic()
            await asyncio.sleep(3.0)
            simulated = (pbx.now - start) / (time.monotonic() - began)
            daemon.stop()
            await running
            return simulated, daemon

    simulated, daemon = asyncio.run(scenario())
    assert simulated == pytest.approx(speed, rel=0.15)
    assert daemon.board is not None
    today = next(k for k in daemon.board.snapshot(daemon.live()).kpis
                 if k.queue is None and k.window.name == "today")
    assert today.calls.answered > 5
    db = tmp_path / "d.sqlite"
    sources = {row[0] for row in stored(db, "SELECT acw_source FROM calls WHERE "
                                            "outcome = 'answered'")}
    assert {"pause", "none"} <= sources
    # sales has a 6 s wrapuptime in the simulation, and the generated config says so
    for (acw,) in stored(db, "SELECT acw_s FROM calls WHERE acw_source = 'wrapuptime'"):
        assert acw == pytest.approx(6.0, abs=0.01)


def test_the_demo_off_a_terminal_prints_kpi_lines_and_where_the_calls_are(
    tmp_path: Path,
) -> None:
    port = free_port()
    done = demo(tmp_path, "--minutes", "0.1", "--speed", "60", "--mqtt", f"127.0.0.1:{port}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (f"no MQTT broker at 127.0.0.1:{port}; continuing without MQTT "
                        "(install mosquitto to see the topics)")
    assert lines[1].startswith("demo PBX: AMI on 127.0.0.1:")
    assert any(KPI_LINE.match(line) for line in lines), done.stdout
    assert re.search(r"^stopped after 0:0\d: \d+ calls stored in queuepulse-demo.sqlite",
                     done.stdout, re.MULTILINE)
    assert "report --db queuepulse-demo.sqlite --config queuepulse-demo.toml" in done.stdout
    assert done.stderr == ""
    db = tmp_path / "queuepulse-demo.sqlite"
    assert stored(db, "SELECT count(*) FROM calls WHERE outcome = 'answered'") > [(0,)]
    config = load_config(tmp_path / "queuepulse-demo.toml")
    assert config.queues["sales"].wrapuptime_s == 6.0
    assert {q.name: q.service_level_s for q in DEMO_CENTER.queues} == {
        name: q.service_level_s for name, q in config.queues.items()}
    assert not config.mqtt.enabled


def test_the_demo_publishes_to_a_broker_that_answers(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    done = demo(tmp_path, "--minutes", "0.06", "--speed", "60", "--db", "d.sqlite",
                "--mqtt", f"127.0.0.1:{mosquitto.port}")
    assert done.returncode == 0, done.stderr
    assert "no MQTT broker" not in done.stdout
    assert f"KPIs go to the MQTT broker at 127.0.0.1:{mosquitto.port}" in done.stdout
    top = subprocess.run([QUEUEPULSE, "top", "--config", "d.toml", "--once"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30, check=False)
    assert top.returncode == 0, top.stderr
    assert f"mqtt 127.0.0.1:{mosquitto.port} queuepulse/demo (queuepulse offline)" in top.stdout
    assert re.search(r"^support +\d+ ", top.stdout, re.MULTILINE)


def test_the_demo_on_a_terminal_draws_the_wallboard(tmp_path: Path) -> None:
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.Popen(
        [QUEUEPULSE, "demo", "--minutes", "0.08", "--speed", "60", "--mqtt",
         f"127.0.0.1:{free_port()}"],
        cwd=tmp_path, stdin=follower, stdout=follower, stderr=follower,
        env={**os.environ, "TERM": "xterm-256color"})
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the demo has ended
                break
            if not chunk:
                break
            screen += chunk
    os.close(leader)
    assert process.wait(timeout=10) == 0
    text = ANSI.sub("", screen.decode(errors="replace"))
    assert re.search(r"queue +waiting +longest +offered +answered +abnd +other +SL +ASA +AHT "
                     r"+abn% +agents", text)
    assert re.search(r"all queues +\d+", text)
    assert re.search(r"Agent \w+ +(available|talking|ringing|paused|after-call work)", text)
    assert "stopped after 0:0" in text
