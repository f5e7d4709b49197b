"""Servers the browser tests talk to, each on an event loop of its own thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.demo_run import demo_config
from queuepulse.pbxsim.demo_pbx import DemoPbx
from queuepulse.sd_notify import Notifier


class LoopThread:
    """An asyncio loop in a thread, running ``main`` until :meth:`stop`."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.error: BaseException | None = None

    async def main(self, stop: asyncio.Event) -> None:
        """What runs on the loop; must return once ``stop`` is set."""
        raise NotImplementedError

    async def _run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.main(self._stop)
        except BaseException as error:
            self.error = error
            self.ready.set()
            raise

    def call(self, function: Callable[[], Any]) -> None:
        """Run ``function`` on the loop, soon."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(function)

    def __enter__(self) -> Self:
        self._thread.start()
        assert self.ready.wait(20), "the server did not start"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)


class DemoDaemon(LoopThread):
    """The demo PBX and the daemon following it, with ``extra`` TOML (``[web]``...)."""

    def __init__(self, folder: Path, extra: str, speed: float = 10.0, seed: int = 0) -> None:
        super().__init__()
        self.folder, self.extra, self.speed, self.seed = folder, extra, speed, seed
        self.daemon: Daemon | None = None
        self.url = ""

    async def main(self, stop: asyncio.Event) -> None:
        """Run the demo PBX and the daemon until stopped."""
        async with DemoPbx(speed=self.speed, seed=self.seed) as pbx:
            text = demo_config(pbx, self.folder / "demo.sqlite", None, False, "UTC")
            daemon = Daemon(parse_config(text + self.extra),
                            monotonic=lambda: time.monotonic() * self.speed,
                            notifier=Notifier(None))
            self.daemon = daemon
            running = asyncio.create_task(daemon.run())
            web = daemon.config.web.enabled
            while ((web and daemon.web is None) or not daemon.ready) and not running.done():
                await asyncio.sleep(0.05)
            if daemon.web is not None:
                self.url = daemon.web.url
            self.ready.set()
            await stop.wait()
            daemon.stop()
            await running
