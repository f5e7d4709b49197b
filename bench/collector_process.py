"""``queuepulse run`` as a user runs it: its own process, its own config file.

The benchmark measures the daemon from outside: what reaches SQLite and the broker, and
the process's memory as the kernel counts it (``/proc/<pid>/status``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.pbx import SECRET, USERNAME
from bench.stream import CONFIG_QUEUES

_TICKS = os.sysconf("SC_CLK_TCK")

PBX_ID = "bench"
PREFIX = "queuepulse"


@dataclass(frozen=True, slots=True)
class Memory:
    """A process's resident memory now and at its peak, in MB (10**6 bytes)."""

    rss_mb: float
    peak_mb: float


def memory_of(pid: int) -> Memory:
    """The resident set of a running process (Linux)."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024 / 1e6
    return Memory(values["VmRSS"], values["VmHWM"])


def cpu_seconds_of(pid: int) -> float:
    """The CPU time a running process has used so far, user and system (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # the command name in parentheses may hold spaces: count fields after it
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class Collector:
    """``with Collector(folder, ami_port, mqtt_port) as daemon``: ``queuepulse run`` running.

    It logs in to the simulated PBX, writes ``database`` (``queuepulse.sqlite`` in
    ``folder`` unless given) and, given ``mqtt_port``, publishes to that broker; it logs
    JSON lines to ``queuepulse.log`` in ``folder``.
    """

    def __init__(self, folder: Path, ami_port: int, mqtt_port: int | None = None, *,
                 database: Path | None = None) -> None:
        self.database = database or folder / "queuepulse.sqlite"
        self.config = folder / "queuepulse.toml"
        self.log = folder / "queuepulse.log"
        mqtt = (
            f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {mqtt_port}\n'
            f'prefix = "{PREFIX}"\nhomeassistant = false\n'
            if mqtt_port is not None else ""
        )
        self.config.write_text(
            f'[pbx]\nid = "{PBX_ID}"\n\n'
            f'[ami]\nhost = "127.0.0.1"\nport = {ami_port}\nusername = "{USERNAME}"\n'
            f'secret = "{SECRET}"\nping_interval_s = 60.0\n\n'
            f"{CONFIG_QUEUES}\n"
            f'[database]\npath = "{self.database}"\n\n'
            f"{mqtt}\n"
            '[log]\nlevel = "info"\nformat = "json"\n',
            encoding="utf-8",
        )
        self._process: subprocess.Popen[bytes] | None = None
        self.status: int | None = None
        """The exit status, once stopped."""

    @property
    def pid(self) -> int:
        """The daemon's process id."""
        if self._process is None:
            raise RuntimeError("the collector is not running")
        return self._process.pid

    def memory(self) -> Memory:
        """The daemon's resident memory now and at its peak."""
        return memory_of(self.pid)

    def cpu_seconds(self) -> float:
        """The CPU time the daemon has used so far."""
        return cpu_seconds_of(self.pid)

    def __enter__(self) -> Collector:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "queuepulse", "run", "--config", str(self.config)],
                stdout=log, stderr=log,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            self.status = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            self.status = process.wait()
        self._process = None

    def alive(self) -> bool:
        """Whether the daemon is still running (it exits on a bad config or login)."""
        return self._process is not None and self._process.poll() is None

    def failure(self) -> str:
        """The end of the daemon's log, to explain why it stopped."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-5:])
