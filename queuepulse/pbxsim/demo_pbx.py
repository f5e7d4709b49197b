"""The demo PBX: the simulated call center, played live on an AMI port, faster than life.

`DemoPbx` runs a `queuepulse.pbxsim.callcenter.CallCenter` on a clock that goes ``speed`` times
faster than real time and hands each step's frames to an `queuepulse.pbxsim.ami_server.AmiServer`,
whose QueueStatus and QueueSummary answers follow the simulation's own snapshot. A
collector that logs in on `DemoPbx.port` sees what it would see on a busy Asterisk.

The simulated clock starts at the moment the first client listens, at the real time of
the demo's start, so its times are today's. The day's traffic curve is turned so that
the demo opens in the morning rush, whatever the hour of the real day.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from types import TracebackType

from queuepulse.pbxsim.ami_server import AmiServer
from queuepulse.pbxsim.callcenter import CallCenter
from queuepulse.pbxsim.scenario import DEFAULT_CENTER, CenterConfig
from queuepulse.pbxsim.snapshot import Snapshot

DEMO_USERNAME = "queuepulse"
DEMO_SECRET = "demo"

DEMO_CENTER = dataclasses.replace(DEFAULT_CENTER, calls_per_hour=150.0)
"""The default three queues and ten agents, busy enough that callers wait at times."""

OPENING_HOUR = 9.5
"""Where on the day's traffic curve the demo opens (local hour of the simulated day)."""

_STEP_S = 0.1


def opening_offset_h(start: float, hour: float = OPENING_HOUR) -> float:
    """The simulated UTC offset that puts the instant ``start`` at ``hour`` of the day."""
    return ((hour * 3600.0 - start % 86400.0) / 3600.0) % 24.0


class DemoPbx:
    """``async with DemoPbx(speed=10) as pbx``: a simulated call center on ``pbx.port``.

    * ``speed``: simulated seconds per real second;
    * ``seed``: the same seed gives the same calls;
    * ``center``: the queues, agents and traffic (`queuepulse.pbxsim.scenario.CenterConfig`);
    * ``start``: the simulated clock's first instant (default: now).
    """

    def __init__(self, *, speed: float = 10.0, seed: int = 0,
                 center: CenterConfig = DEMO_CENTER, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        begin = time.time() if start is None else start
        self.center = CallCenter(
            dataclasses.replace(center, utc_offset_h=opening_offset_h(begin)),
            seed=seed, start=begin, keep_truth=False,
        )
        self._server = AmiServer(self._feed(), username=DEMO_USERNAME, secret=DEMO_SECRET,
                                 snapshot=self.center.snapshot())

    @property
    def port(self) -> int:
        """The loopback TCP port of the AMI."""
        return self._server.port

    @property
    def now(self) -> float:
        """The simulated time the call center has reached."""
        return self.center.now

    @property
    def wrapuptimes(self) -> dict[str, float]:
        """Each queue's wrapuptime, which a collector must be told (AMI does not carry it)."""
        return self.center.config.wrapuptimes

    async def __aenter__(self) -> DemoPbx:
        await self._server.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._server.__aexit__(exc_type, exc, tb)

    async def _feed(self) -> AsyncIterator[str | Snapshot]:
        """Each step's frames, then the snapshot they leave (the server starts this when
        the first client listens, which is when the simulated clock starts)."""
        loop = asyncio.get_running_loop()
        began, start = loop.time(), self.center.now
        while True:
            frames = self.center.advance(start + (loop.time() - began) * self.speed)
            for _, text in frames:
                yield text
            if frames:
                yield self.center.snapshot()
            await asyncio.sleep(_STEP_S)
