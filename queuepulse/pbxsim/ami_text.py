"""The little of AMI text the simulated PBX reads: a frame's headers, and recordings.

The simulator is the tests' independent oracle, so it reads frames with this code of its
own rather than with the collector's parser: a bug there cannot hide itself by agreeing
with itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One line of a recording: when the frame arrived (epoch seconds) and its text."""

    received_at: float
    text: str


def event_name(frame: str) -> str | None:
    """The value of the frame's first line when it is ``Event: ...``, else ``None``."""
    first, _, _ = frame.partition("\n")
    key, sep, value = first.rstrip("\r").partition(": ")
    return value if sep and key == "Event" else None


def headers(frame: str) -> dict[str, str]:
    """A frame's headers by name; the first of a repeated header counts."""
    found: dict[str, str] = {}
    for line in frame.split("\n"):
        key, sep, value = line.removesuffix("\r").partition(":")
        if sep:
            found.setdefault(key, value.removeprefix(" "))
    return found


def read_recording(path: Path) -> Iterator[RecordedFrame]:
    """The frames of a JSON Lines recording (``{"t": <epoch>, "raw": "<frame>"}`` a line),
    as ``queuepulse record`` writes it; a last line cut short ends the recording."""
    with path.open(encoding="utf-8", errors="replace", newline="") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                yield RecordedFrame(float(item["t"]), str(item["raw"]))
            except (ValueError, KeyError, TypeError) as error:
                if line.endswith("\n"):
                    raise ValueError(f"{path}:{number}: not a recording line ({error})") from error
                return
