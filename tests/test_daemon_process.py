"""``queuepulse run`` as a real process against the simulated PBX: signals, logins, hostile
input and its memory, judged by what it stored and logged, not only by its surviving."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bench.pbx import SECRET as BENCH_SECRET
from bench.pbx import USERNAME as BENCH_USER
from bench.pbx import Playback, SimulatedPbx
from bench.stream import default_trace, stream
from queuepulse.pbxsim.ami_server import AmiServer, FrameBlock
from tests.daemon_process import DaemonProcess, NotifySocket
from tests.live_pbx import SECRET, TracePbx, daemon_config_toml, stored_calls, until
from tests.mosquitto import Mosquitto, mosquitto
from tests.test_publisher import BASE, Watcher
from tests.traces import replayed_calls

__all__ = ["mosquitto"]

HALFWAY = 600
"""A feed event of the smoke trace with calls open before and after it."""


def outcomes(db: Path) -> dict[tuple[str, str], str]:
    calls, _ = stored_calls(db)
    return {key: str(row["outcome"]) for key, row in calls.items()}


def expected_outcomes() -> dict[tuple[str, str], str]:
    return {key: call.outcome.value for key, call in replayed_calls("smoke").items()}


def stored_count(db: Path) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def feed_once_ready(pbx: TracePbx, daemon: DaemonProcess) -> None:
    """Start the feed once the daemon has its first snapshot, as a live daemon test does
    (an event before the snapshot answer would be contradicted by it)."""
    pbx.start_when = lambda: bool(daemon.logged("daemon.ready"))


async def caught_up(pbx: TracePbx, db: Path) -> None:
    """Wait until the whole feed is sent and every call of it is stored."""
    await until(pbx.finished.is_set, timeout=30)
    await until(lambda: stored_count(db) >= len(expected_outcomes()), timeout=30)


def test_sighup_reloads_kpi_and_log_settings_and_the_daemon_keeps_storing(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    db, config = tmp_path / "q.sqlite", tmp_path / "q.toml"
    pbx = TracePbx("smoke")
    watcher = Watcher(mosquitto.port)
    daemon = DaemonProcess(config)
    stored_before: list[int] = []

    def toml(settings: str = "") -> str:
        return daemon_config_toml(pbx.server.port, db, settings=settings) + (
            f"[mqtt]\nenabled = true\nport = {mosquitto.port}\n")

    def target() -> float | None:
        if f"{BASE}/all/kpi/today" not in watcher.latest:
            return None
        return float(watcher.json("all/kpi/today")["service_level_target"])

    async def reload() -> None:
        await until(lambda: target() == 0.8 and stored_count(db) > 0)
        stored_before.append(stored_count(db))
        config.write_text(toml('[kpi]\nservice_level_target = 90.0\n[log]\nlevel = "warning"\n'),
                          encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        await until(lambda: bool(daemon.logged("daemon.reloading")) or not daemon.alive())

    pbx.hooks[HALFWAY] = reload

    async def scenario() -> None:
        watching = asyncio.create_task(watcher.run())
        async with pbx.server:
            config.write_text(toml(), encoding="utf-8")
            async with daemon:
                feed_once_ready(pbx, daemon)
                await caught_up(pbx, db)
                await until(lambda: target() == 0.9)
        watching.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert daemon.status == 0
    assert outcomes(db) == expected_outcomes()
    assert 0 < stored_before[0] < len(expected_outcomes())
    with contextlib.closing(sqlite3.connect(db)) as conn:
        stored = conn.execute("SELECT value FROM kpi_settings WHERE queue IS NULL AND "
                              "name = 'service_level_target'").fetchone()[0]
    assert stored == pytest.approx(0.9)
    events = [e["event"] for e in daemon.events()]
    reloading = events.index("daemon.reloading")
    assert daemon.logged("daemon.reloading")[0]["restart_needed"] == []
    # log.level = "warning" took effect: no call has its info line after the reload
    assert "call.finished" in events[:reloading]
    assert "call.finished" not in events[reloading:]


def test_a_refused_login_is_retried_until_the_pbx_takes_it(tmp_path: Path) -> None:
    db, config = tmp_path / "q.sqlite", tmp_path / "q.toml"
    notify = NotifySocket(tmp_path / "notify")
    pbx = TracePbx("smoke")
    pbx.server.secret = "not-yet"  # a manager reload that refuses logins for a moment
    daemon = DaemonProcess(config, env={"NOTIFY_SOCKET": str(notify.path)})

    async def scenario() -> None:
        async with pbx.server as server:
            config.write_text(daemon_config_toml(server.port, db), encoding="utf-8")
            async with daemon:
                feed_once_ready(pbx, daemon)
                await until(lambda: len(daemon.logged("ami.login_refused")) >= 1)
                await asyncio.sleep(0.5)  # refused again meanwhile: retried, not given up
                assert daemon.alive()
                server.secret = SECRET
                await caught_up(pbx, db)

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
        told = notify.drain()
    finally:
        notify.close()
    assert daemon.status == 0
    assert outcomes(db) == expected_outcomes()
    refused = daemon.logged("ami.login_refused")
    assert refused[0]["error"].startswith("AMI login refused for user queuepulse")
    # reconnect_max_s = 0.2: retried after 0.1 to 0.2 s at first, later up to 2 s
    assert 0.1 <= refused[0]["retry_in_s"] <= 0.2
    assert daemon.logged("ami.connected")
    # ready without the PBX, and the status said why it was not following yet
    assert told.index("READY=1") < next(i for i, s in enumerate(told)
                                       if s.startswith("STATUS=AMI unavailable: AMI login "
                                                       "refused"))
    assert "STATUS=Following the PBX" in told


def test_a_pbx_that_refuses_the_challenge_never_gets_the_secret_in_clear(
    tmp_path: Path,
) -> None:
    db, config = tmp_path / "q.sqlite", tmp_path / "q.toml"

    async def scenario(allow: bool) -> tuple[DaemonProcess, int]:
        async with AmiServer(secret=SECRET, challenge=False, auth_failure_delay=0.0) as server:
            config.write_text(daemon_config_toml(
                server.port, db, ami=f"allow_plain_login = {str(allow).lower()}\n"),
                encoding="utf-8")
            async with DaemonProcess(config) as daemon:
                await until(lambda: not daemon.alive() or "daemon.ready" in daemon.text())
            return daemon, server.stats.plain_logins

    refused, plain = asyncio.run(asyncio.wait_for(scenario(allow=False), 30))
    assert refused.status == 2 and plain == 0
    assert refused.text().splitlines()[-1:] == [
        f"queuepulse: AMI at 127.0.0.1:{config.read_text().split('port = ')[1].split()[0]} "
        "refused the MD5 challenge (Must specify AuthType), and queuepulse sends ami.secret "
        "in clear text only with ami.allow_plain_login = true: set it only if the network "
        "to the PBX is trusted or ami.tls is on"]
    allowed, plain = asyncio.run(asyncio.wait_for(scenario(allow=True), 30))
    assert allowed.status == 0 and plain == 1
    assert allowed.logged("ami.plain_login") and allowed.logged("daemon.ready")


def test_a_secret_others_may_read_is_warned_about(tmp_path: Path) -> None:
    config = tmp_path / "q.toml"

    async def scenario() -> DaemonProcess:
        async with AmiServer(secret=SECRET, auth_failure_delay=0.0) as server:
            config.write_text(daemon_config_toml(server.port, tmp_path / "q.sqlite"),
                              encoding="utf-8")
            config.chmod(0o644)
            async with DaemonProcess(config) as daemon:
                await until(lambda: bool(daemon.logged("daemon.ready")))
            return daemon

    daemon = asyncio.run(asyncio.wait_for(scenario(), 30))
    [warning] = daemon.logged("config.secret_readable")
    assert (warning["key"], warning["path"], warning["mode"]) == ("ami.secret", str(config),
                                                                  "0644")
    assert warning["fix"].startswith(f"chmod go-rwx {config}")
    assert SECRET not in daemon.text()


JUNK_MB = 64


def test_a_64_mb_unterminated_frame_costs_bounded_time_and_memory(tmp_path: Path) -> None:
    db, config = tmp_path / "q.sqlite", tmp_path / "q.toml"
    pbx = TracePbx("smoke")
    daemon = DaemonProcess(config)
    measured: dict[str, float] = {}

    async def junk() -> None:
        measured["cpu_before"] = daemon.cpu_s()
        measured["rss_before"] = daemon.peak_rss_mb()
        data = b"Event: Junk\r\nValue: " + b"x" * (JUNK_MB << 20) + b"\r\n\r\n"
        started = time.monotonic()
        await pbx.server.send_block(FrameBlock(data, 1))
        del data
        await until(lambda: bool(daemon.logged("ami.frame_too_long")), timeout=30)
        measured["seconds"] = time.monotonic() - started

    pbx.hooks[HALFWAY] = junk

    async def scenario() -> None:
        async with pbx.server as server:
            config.write_text(daemon_config_toml(server.port, db), encoding="utf-8")
            async with daemon:
                feed_once_ready(pbx, daemon)
                await caught_up(pbx, db)
                measured["cpu"] = daemon.cpu_s() - measured["cpu_before"]
                measured["rss"] = daemon.peak_rss_mb()

    asyncio.run(asyncio.wait_for(scenario(), 90))
    print(f"64 MB frame: {measured['seconds']:.2f} s, {measured['cpu']:.2f} s CPU, peak RSS "
          f"{measured['rss_before']:.0f} -> {measured['rss']:.0f} MB")
    assert daemon.status == 0
    assert outcomes(db) == expected_outcomes()
    [dropped] = daemon.logged("ami.frame_too_long")
    assert dropped["dropped"] == 1 and dropped["limit_bytes"] == 1 << 20
    assert measured["cpu"] < 10.0
    assert measured["rss"] - measured["rss_before"] < 16.0


FLOOD_FRAMES = 300_000
RSS_CEILING_MB = 100.0
"""docs/service.md's ceiling for the daemon's memory, whatever the input rate."""


def test_a_flood_keeps_the_daemons_memory_under_the_ceiling(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    db, config = tmp_path / "q.sqlite", tmp_path / "q.toml"

    async def scenario() -> tuple[float, int, int]:
        async with SimulatedPbx(Playback(stream(default_trace(), FLOOD_FRAMES))) as pbx:
            config.write_text(daemon_config_toml(
                pbx.port, db, secret=BENCH_SECRET, ami=f'username = "{BENCH_USER}"\n') + (
                f"[mqtt]\nenabled = true\nport = {mosquitto.port}\n"), encoding="utf-8")
            async with DaemonProcess(config) as daemon:
                await pbx.fed()
                played = await pbx.played()
                calls = len(played.final_at)
                await until(lambda: stored_count(db) >= calls, timeout=60)
                peak = daemon.peak_rss_mb()
            return peak, calls, stored_count(db)

    peak, sent, stored = asyncio.run(asyncio.wait_for(scenario(), 120))
    print(f"flood of {FLOOD_FRAMES:,} frames at full speed: peak RSS {peak:.1f} MB, "
          f"{stored:,} calls stored of {sent:,}")
    assert stored >= sent > 1000
    assert peak < RSS_CEILING_MB
