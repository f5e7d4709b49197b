"""The systemd notification protocol: a datagram to ``$NOTIFY_SOCKET``, nothing more.

``Type=notify`` services say ``READY=1`` when they are up, ``WATCHDOG=1`` at least every
half ``WatchdogSec=``, ``STATUS=...`` for ``systemctl status`` and ``STOPPING=1`` on the
way out. Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends state lines to the service manager, if there is one."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_interval_s = watchdog_usec / 2e6 if watchdog_usec else None
        """How often to send ``WATCHDOG=1`` (half the timeout), or ``None``."""

    @classmethod
    def from_environment(cls) -> Notifier:
        """The notifier systemd set up for this process (``NOTIFY_SOCKET``, ``WATCHDOG_USEC``)."""
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        return cls(os.environ.get("NOTIFY_SOCKET") or None,
                   int(usec) if usec.isdigit() and mine else None)

    def send(self, *states: str) -> bool:
        """Send ``KEY=value`` lines; return whether a service manager was told."""
        if not self.address:
            return False
        address = self.address
        if address.startswith("@"):
            address = "\0" + address[1:]  # an abstract socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.connect(address)
                sock.sendall("\n".join(states).encode())
            except OSError:
                return False
        return True
