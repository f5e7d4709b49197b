"""The daemon as a foreground service: running until SIGINT or SIGTERM asks it to stop.

``queuepulse run`` (under systemd or in a terminal) and ``queuepulse demo`` both serve
their daemon this way. SIGHUP reads the configuration file again and hands the daemon
what it can take while running (:mod:`queuepulse.reload`); it never stops it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from functools import partial
from pathlib import Path

from queuepulse.daemon import Daemon
from queuepulse.reload import reload_from

# The store's writer thread releases the GIL at every SQLite step, then waits for the
# event loop's thread to hand it back: up to 5 ms each time by default, so a busy stream
# starves the writer. Switching every 0.5 ms lets it commit at the stream's pace.
_SWITCH_INTERVAL_S = 0.0005
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def serve(daemon: Daemon, config_path: Path | None = None) -> None:
    """Run the daemon until SIGINT or SIGTERM asks it to stop; on SIGHUP, reload
    ``config_path`` (without one, just commit what is pending)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, daemon.stop)
    loop.add_signal_handler(signal.SIGHUP, partial(reload_from, config_path, daemon))
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    try:
        await daemon.run()
    finally:
        sys.setswitchinterval(switch_interval)
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
