"""The systemd unit, and the notifications: READY=1 once following, WATCHDOG=1 while alive."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.sd_notify import Notifier
from tests.daemon_process import NotifySocket
from tests.live_pbx import TracePbx, daemon_config_toml, until
from tests.mosquitto import free_port

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "queuepulse.service"


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith(("#", "[")):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_is_a_hardened_notify_service_with_a_watchdog() -> None:
    unit = directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Type"] == ["notify"]
    assert unit["WatchdogSec"] and unit["DynamicUser"] == ["yes"]
    assert unit["StateDirectory"] == ["queuepulse"]
    assert unit["LoadCredential"] == ["ami_secret:/etc/queuepulse/ami_secret"]
    assert unit["RestartPreventExitStatus"] == ["2"]
    # ready without the PBX: a start never waits for it, so it needs no endless timeout
    assert unit["TimeoutStartSec"] == ["5min"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    for key, value in {
        "ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "MemoryDenyWriteExecute": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet": "",
    }.items():
        assert unit[key] == [value], key
    assert "@system-service" in unit["SystemCallFilter"]


def test_the_example_config_points_at_the_units_credential() -> None:
    example = (ROOT / "config" / "queuepulse.toml").read_text(encoding="utf-8")
    assert "/run/credentials/queuepulse.service/ami_secret" in example


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package 'systemd')")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify wants ExecStart's program to exist: point it at this checkout's console script
    script = Path(sys.executable).parent / "queuepulse"
    unit = UNIT.read_text(encoding="utf-8").replace("/opt/queuepulse/bin/queuepulse",
                                                     str(script))
    (tmp_path / "queuepulse.service").write_text(unit, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", "queuepulse.service"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=False)
    if result.returncode != 0 and "queuepulse.service" not in result.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_ready_at_once_and_watchdog_pings_while_following(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")

    async def body() -> None:
        pbx = TracePbx("smoke", limit=50)
        async with pbx.server as server:
            config = parse_config(daemon_config_toml(server.port, tmp_path / "q.sqlite"))
            notifier = Notifier.from_environment()
            assert notifier.watchdog_interval_s == pytest.approx(0.1)
            daemon = Daemon(config, clock=pbx.now, notifier=notifier)
            pbx.daemon = daemon
            pbx.start_when = lambda: daemon.ready
            running = asyncio.create_task(daemon.run())
            await until(lambda: daemon.ready)
            assert "READY=1" in notify.drain()
            before = notify.received.count("WATCHDOG=1")
            await asyncio.sleep(0.35)
            assert notify.drain().count("WATCHDOG=1") >= before + 2
            daemon.stop()
            await running
        assert notify.drain()[-1] == "STOPPING=1"

    try:
        asyncio.run(asyncio.wait_for(body(), 20))
    finally:
        notify.close()
    status = [s for s in notify.received if s.startswith("STATUS=")]
    assert any("Connected to AMI" in s for s in status)
    assert "STATUS=Following the PBX" in status


def test_ready_without_a_pbx_and_the_status_says_why_it_is_not_following(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))

    async def body() -> None:
        config = parse_config(daemon_config_toml(free_port(), tmp_path / "q.sqlite"))
        daemon = Daemon(config, notifier=Notifier.from_environment())
        running = asyncio.create_task(daemon.run())
        await until(lambda: any(s.startswith("STATUS=AMI unavailable") for s in notify.drain()))
        daemon.stop()
        await running

    try:
        asyncio.run(asyncio.wait_for(body(), 20))
    finally:
        notify.close()
    told = notify.received
    assert told.index("READY=1") < next(i for i, s in enumerate(told)
                                       if s.startswith("STATUS=AMI unavailable: cannot reach"))
    assert "STATUS=Following the PBX" not in told


def test_outside_systemd_notifications_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    notifier = Notifier.from_environment()
    assert notifier.watchdog_interval_s is None
    assert notifier.send("READY=1") is False


def test_a_watchdog_meant_for_another_process_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert Notifier.from_environment().watchdog_interval_s is None
