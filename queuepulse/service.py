"""The daemon as a foreground service: running until SIGINT or SIGTERM asks it to stop.

``queuepulse run`` (under systemd or in a terminal) and ``queuepulse demo`` both serve
their daemon this way.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from queuepulse.daemon import Daemon

# The store's writer thread releases the GIL at every SQLite step, then waits for the
# event loop's thread to hand it back: up to 5 ms each time by default, so a busy stream
# starves the writer. Switching every 0.5 ms lets it commit at the stream's pace.
_SWITCH_INTERVAL_S = 0.0005


async def serve(daemon: Daemon) -> None:
    """Run the daemon until SIGINT or SIGTERM asks it to stop."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, daemon.stop)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    try:
        await daemon.run()
    finally:
        sys.setswitchinterval(switch_interval)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
