"""``queuepulse run`` as its own process, as systemd runs it, for the tests that need the
real process: its signals, its exit status, its log on stdout, its memory and CPU time,
and what it tells systemd."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.collector_process import memory_of

QUEUEPULSE = str(Path(sys.executable).parent / "queuepulse")
_TICKS = os.sysconf("SC_CLK_TCK")


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} in a log line: not JSON")


class DaemonProcess:
    """``async with DaemonProcess(config) as daemon``: ``queuepulse run --config config``,
    logging JSON lines to ``<config>.log``; stopped with SIGTERM at the end unless it
    ended already (:attr:`status` is then its exit status)."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        self.status: int | None = None
        self._env = None if env is None else {**os.environ, **env}
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The process id."""
        assert self._process is not None
        return self._process.pid

    async def __aenter__(self) -> DaemonProcess:
        with self.log.open("wb") as out:
            self._process = await asyncio.create_subprocess_exec(
                QUEUEPULSE, "run", "--config", str(self.config), stdout=out,
                stderr=asyncio.subprocess.STDOUT, env=self._env)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        process = self._process
        assert process is not None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            self.status = await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            self.status = await process.wait()

    def signal(self, signum: int) -> None:
        """Send a signal to the process."""
        assert self._process is not None
        self._process.send_signal(signum)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process is not None and self._process.returncode is None

    def peak_rss_mb(self) -> float:
        """The most resident memory the process has had so far (VmHWM), in MB."""
        return memory_of(self.pid).peak_mb

    def cpu_s(self) -> float:
        """The CPU time the process has used so far (user and system)."""
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def text(self) -> str:
        """What the process wrote so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def events(self) -> list[dict[str, Any]]:
        """Its log so far, one JSON object a line (a line that is not strict JSON, with
        ``Infinity`` or ``NaN`` in it, fails)."""
        return [json.loads(line, parse_constant=_refuse) for line in self.text().splitlines()
                if line.strip()]

    def logged(self, event: str) -> list[dict[str, Any]]:
        """The log lines of one event."""
        return [e for e in self.events() if e.get("event") == event]


class NotifySocket:
    """A socket standing in for systemd's, collecting what the daemon tells it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.received: list[str] = []
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.setblocking(False)

    def drain(self) -> list[str]:
        while True:
            try:
                self.received.extend(self._socket.recv(4096).decode().split("\n"))
            except BlockingIOError:
                return self.received

    def close(self) -> None:
        self._socket.close()
