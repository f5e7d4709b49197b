"""A real mosquitto broker on a free loopback port, for the benchmark and the tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


class BrokerMissing(FileNotFoundError):
    """mosquitto is not installed."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """One broker process with a generated config; can be stopped and started again.

    ``with Mosquitto(folder) as broker`` starts it and stops it at the end.
    """

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        if not Path(MOSQUITTO).exists():
            raise BrokerMissing(
                f"mosquitto not found at {MOSQUITTO}: install it (apt-get install mosquitto)"
            )
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        # Without set_tcp_nodelay, mosquitto holds a message to a subscriber that has not
        # yet acknowledged the previous one (Nagle), and the subscriber delays that TCP
        # acknowledgement by up to 40 ms: a call record right after a KPI snapshot would
        # be timed at the broker's pace, not queuepulse's.
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr",
                 "set_tcp_nodelay true"]
        if users:
            passwords = folder / "passwords"
            passwords.touch(mode=0o600)
            for user, password in users.items():
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), user, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if os.geteuid() == 0:
            lines.append("user root")  # as root mosquitto would switch to a 'mosquitto' user
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 5.0) -> None:
        """Start the broker and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],
                                             stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while not accepts(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto did not listen on port {self.port} in time")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the broker (its retained messages go with it: persistence is off)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
