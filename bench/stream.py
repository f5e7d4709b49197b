"""The benchmark's input: a recorded Asterisk stream, repeated with fresh ids.

The default is the ``mixed-a`` recording (five minutes of two real queues, unfiltered: all
event types), from the recordings the repository carries (:mod:`bench.recordings`). A
stream may keep only some of its frames, as a PBX sends them to a user with fewer read
classes or behind an event filter (:data:`KEEP`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.recordings import recording_dir
from collector.parser import FrameParser
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


_LEAST_CLASSES = frozenset(("agent", "call", "system"))


def _classes(frame: str) -> frozenset[str]:
    start = frame.find("\r\nPrivilege: ")
    if start < 0:
        return frozenset()
    end = frame.find("\r\n", start + 13)
    return frozenset(frame[start + 13 : end if end >= 0 else None].split(","))


def _used(frame: str) -> bool:
    return FrameParser().parse(frame, 0.0) is not None


def _least_privilege(frame: str) -> bool:
    return not _classes(frame).isdisjoint(_LEAST_CLASSES)


KEEP = {
    "all": lambda frame: True,
    "classes": _least_privilege,
    "used": _used,
}
"""Which frames of the recording a stream keeps: ``all`` (an unfiltered user), ``classes``
(the frames of the read classes ``agent,call,system``, the least-privilege user and
``ami.events``' default) and ``used`` (only the frames the tracker uses, as behind the
documented ``eventfilter`` set)."""


@dataclass(frozen=True, slots=True)
class Stream:
    """A trace played ``repeat`` times as one stream, cut after ``frames`` event frames;
    ``keep`` names the frames of the recording it keeps (:data:`KEEP`)."""

    path: Path
    frames: int
    per_repeat: int
    keep: str = "all"

    def kept(self, frame: str) -> bool:
        """Whether the stream keeps this frame of the recording."""
        return KEEP[self.keep](frame)

    @property
    def repeat(self) -> int:
        """How many times the trace has to be played to give ``frames`` frames."""
        return max(1, math.ceil(self.frames / self.per_repeat))


def event_frames_in(path: Path, keep: str = "all") -> int:
    """How many event frames one playback of a trace sends (the simulated PBX leaves out
    what was meant for the recording client alone), of those ``keep`` keeps."""
    if not path.is_file():
        raise TraceMissing(
            f"recorded trace {path} not found: pass --trace with the path of an ami.jsonl"
        )
    player = TracePlayer(path)
    if keep == "all":
        return player.event_count
    return max(1, sum(map(KEEP[keep], player.recorded())))


def stream(path: Path, frames: int, keep: str = "all") -> Stream:
    """The stream of ``frames`` event frames cut from the trace at ``path`` repeated,
    keeping the frames ``keep`` names."""
    return Stream(path, frames, event_frames_in(path, keep), keep)


def tracker() -> Tracker:
    """A tracker configured as the recording PBX needs."""
    return Tracker(TrackerConfig(wrapuptime=WRAPUPTIME))
