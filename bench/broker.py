"""A real mosquitto broker on a free loopback port, for the end-to-end measurements."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class BrokerMissing(FileNotFoundError):
    """mosquitto is not installed."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """``with Broker(folder) as broker``: mosquitto listening on ``broker.port``."""

    def __init__(self, folder: Path) -> None:
        if not Path(MOSQUITTO).exists():
            raise BrokerMissing(
                f"mosquitto not found at {MOSQUITTO}: install it (apt-get install mosquitto)"
            )
        self.port = free_port()
        self._config = folder / "mosquitto.conf"
        self._log = folder / "mosquitto.log"
        # Without set_tcp_nodelay, mosquitto holds a message to a subscriber that has not
        # yet acknowledged the previous one (Nagle), and the subscriber delays that TCP
        # acknowledgement by up to 40 ms: a call record right after a KPI snapshot would
        # be timed at the broker's pace, not queuepulse's.
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 "persistence false", "log_dest stderr", "set_tcp_nodelay true"]
        if os.geteuid() == 0:
            lines.append("user root")  # as root mosquitto would switch to a 'mosquitto' user
        self._config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Broker:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen([MOSQUITTO, "-c", str(self._config)],
                                             stdout=log, stderr=log)
        deadline = time.monotonic() + 5.0
        while not _accepts(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(
                    f"mosquitto did not start: {self._log.read_text(errors='replace')}"
                )
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
