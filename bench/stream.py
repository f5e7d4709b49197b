"""The benchmark's input: a recorded Asterisk stream, repeated with fresh ids.

The default is the ``mixed-a`` recording (five minutes of two real queues, unfiltered: all
event types), from the recordings the repository carries (:mod:`bench.recordings`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.recordings import recording_dir
from collector.tracker import Tracker, TrackerConfig
from queuepulse.pbxsim.trace_feed import TracePlayer


def default_trace() -> Path:
    """The recording the benchmark plays unless told otherwise."""
    return recording_dir("mixed-a") / "ami.jsonl"


WRAPUPTIME = {"sales": 6.0}
"""queues.conf of the recording PBX: AMI does not carry a queue's wrapuptime."""

CONFIG_QUEUES = "[queues.sales]\nwrapuptime_s = 6\n"
"""The same, as queuepulse configuration."""


class TraceMissing(FileNotFoundError):
    """The recorded trace the benchmark plays is not where it was looked for."""


@dataclass(frozen=True, slots=True)
class Stream:
    """A trace played ``repeat`` times as one stream, cut after ``frames`` event frames."""

    path: Path
    frames: int
    per_repeat: int

    @property
    def repeat(self) -> int:
        """How many times the trace has to be played to give ``frames`` frames."""
        return max(1, math.ceil(self.frames / self.per_repeat))


def event_frames_in(path: Path) -> int:
    """How many event frames one playback of a trace sends (the simulated PBX leaves out
    what was meant for the recording client alone)."""
    if not path.is_file():
        raise TraceMissing(
            f"recorded trace {path} not found: pass --trace with the path of an ami.jsonl"
        )
    return TracePlayer(path).event_count


def stream(path: Path, frames: int) -> Stream:
    """The stream of ``frames`` event frames cut from the trace at ``path`` repeated."""
    return Stream(path, frames, event_frames_in(path))


def tracker() -> Tracker:
    """A tracker configured as the recording PBX needs."""
    return Tracker(TrackerConfig(wrapuptime=WRAPUPTIME))
