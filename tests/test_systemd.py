"""The systemd unit, and the notifications: READY=1 once following, WATCHDOG=1 while alive."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.sd_notify import Notifier
from tests.live_pbx import TracePbx, daemon_config_toml, until

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


def test_ready_after_the_first_snapshot_and_watchdog_pings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    received: list[str] = []

    def drain() -> None:
        while True:
            try:
                received.extend(listener.recv(4096).decode().split("\n"))
            except BlockingIOError:
                return

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
            drain()
            assert "READY=1" in received
            before = received.count("WATCHDOG=1")
            await asyncio.sleep(0.35)
            drain()
            assert received.count("WATCHDOG=1") >= before + 2
            daemon.stop()
            await running
        drain()
        assert received[-1] == "STOPPING=1"

    try:
        asyncio.run(asyncio.wait_for(body(), 20))
    finally:
        listener.close()
    status = [s for s in received if s.startswith("STATUS=")]
    assert any("Connected to AMI" in s for s in status)


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
