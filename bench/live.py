"""The live path at a realistic rate: the daemon's CPU time at a steady 1,000 events/s.

A large centre at its peak sends about 1,000 event frames a second (some eleven calls a
second, unfiltered). ``queuepulse run`` follows the paced stream with SQLite and MQTT on,
as a user runs it; its CPU time (user and system, from ``/proc/<pid>/stat``) from the
first frame leaving the PBX to the last, per 100,000 frames, is what the live path costs
where it matters: how much of a core it takes from the PBX's host.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import collector_run, until_quiet
from bench.pbx import Playback
from bench.stream import Stream
from bench.table import Figure, Goal, Target

RATE = 1000.0
"""Event frames a second."""
CPU_LIMIT_S = 4.0
"""CPU seconds per 100,000 event frames."""
PER = 100_000


async def measure(stream: Stream, folder: Path, quiet_s: float) -> list[Figure]:
    """The daemon's CPU seconds per 100,000 frames at :data:`RATE`; the run ends
    ``quiet_s`` after the last call."""
    run = await collector_run(Playback(stream, RATE), folder, until_quiet(quiet_s))
    sent = run.played.sent
    seconds = sent[-1] - sent[0]
    cpu = run.cpu_between(sent[0], sent[-1])
    per = cpu / len(sent) * PER
    return [
        Figure("live: daemon CPU at 1,000 ev/s", per, "CPU-s/100k ev",
               Target(Goal.BELOW, CPU_LIMIT_S),
               note=f"{cpu:.2f} CPU-s over {len(sent):,} frames in {seconds:.0f} s "
                    f"({cpu / seconds:.1%} of a core); SQLite and MQTT on"),
    ]
