"""A recorded trace as the event feed of the simulated PBX.

The feed is what Asterisk sent to the recording client, less what was meant for that
client alone: its banner, the responses to its actions, the events answering them (they
carry its ActionID), and the FullyBooted that greeted its login (the server greets each of
its own logins). Its recorded QueueStatus and QueueSummary answers become `Snapshot`
updates at the point of the trace where they were taken.

Replays can be paced by the recorded receive times, can stamp events with today's time,
and can run the trace many times over as one continuous stream with fresh channel ids.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from queuepulse.pbxsim.ami_text import event_name, headers, read_recording
from queuepulse.pbxsim.snapshot import Snapshot, without_action_id

_ID_SUFFIXES = ("Uniqueid", "Linkedid")

_ANSWER_ITEMS = {
    "QueueParams": "queue_status",
    "QueueMember": "queue_status",
    "QueueEntry": "queue_status",
    "QueueSummary": "queue_summary",
}
_ANSWER_ENDS = {"QueueStatusComplete": "queue_status", "QueueSummaryComplete": "queue_summary"}


@dataclass(frozen=True, slots=True)
class _Template:
    """An event frame cut around the values a replay rewrites: ids and the Timestamp."""

    text: str
    pieces: tuple[str, ...]
    slots: tuple[str | float, ...]

    def render(self, ids: Mapping[str, str], shift: float) -> str:
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(ids[slot] if isinstance(slot, str) else f"{slot + shift:.6f}")
            out.append(piece)
        return "".join(out)


def _template(text: str) -> _Template:
    pieces: list[str] = []
    slots: list[str | float] = []
    piece = ""
    for index, line in enumerate(text.split("\r\n")):
        piece += "\r\n" if index else ""
        key, sep, value = line.partition(": ")
        slot: str | float | None = None
        if sep and value and key.endswith(_ID_SUFFIXES):
            slot = value
        elif sep and key == "Timestamp":
            try:
                slot = float(value)
            except ValueError:
                slot = None
        if slot is None:
            piece += line
        else:
            pieces.append(piece + key + sep)
            slots.append(slot)
            piece = ""
    pieces.append(piece)
    return _Template(text, tuple(pieces), tuple(slots))


@dataclass(frozen=True, slots=True)
class _Answer:
    """A recorded QueueStatus or QueueSummary answer: the list items, without ActionID."""

    field: str
    items: tuple[str, ...]

    def applied_to(self, snapshot: Snapshot) -> Snapshot:
        if self.field == "queue_status":
            return Snapshot(self.items, snapshot.queue_summary)
        return Snapshot(snapshot.queue_status, self.items)


def _fresh_id(value: str, seconds: int, repetition: int) -> str:
    # An Asterisk id is "<creation epoch>.<sequence>" and the sequence alone is unique within
    # one run, so moving the epoch by a whole, per-repetition number of seconds keeps ids
    # unique across repetitions and consistent with the shifted timestamps.
    epoch, dot, sequence = value.partition(".")
    if dot and epoch.isdigit() and sequence.isdigit():
        return f"{int(epoch) + seconds}.{sequence}"
    return f"{value}-{repetition}" if repetition else value


class TracePlayer:
    """Plays a recorded trace (the JSON Lines `queuepulse record` writes) as a server feed.

    Iterating yields event frames (text without the terminating blank line) and, where the
    trace recorded a QueueStatus or QueueSummary answer, the updated `Snapshot`.

    * ``speed``: ``None`` plays at full speed; a number paces frames by their recorded
      receive times, that many times faster than recorded (1.0 is real time).
    * ``repeat``: plays the trace that many times as one stream. Repetition k is shifted by
      k * `period` seconds: its Timestamps, and the epoch part of every ``*Uniqueid`` and
      ``*Linkedid`` value (other id values get a ``-k`` suffix), so no id repeats.
    * ``live_timestamps``: shifts Timestamps (and ids, the same way) so that the trace's
      first frame is stamped with the time playback starts; at speed 1 events are then
      stamped when they are sent, like on a live PBX.
    """

    def __init__(
        self,
        path: Path,
        *,
        speed: float | None = None,
        repeat: int = 1,
        live_timestamps: bool = False,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive (or None for full speed), not {speed}")
        if repeat < 1:
            raise ValueError(f"repeat must be at least 1, not {repeat}")
        self._speed = speed
        self._repeat = repeat
        self._live = live_timestamps
        self._items: list[tuple[float, _Template | _Answer]] = []
        self._ids: set[str] = set()
        first: dict[str, tuple[str, ...]] = {}
        partial: dict[tuple[str, str], list[str]] = {}
        received: list[float] = []
        for frame in read_recording(path):
            received.append(frame.received_at)
            name = event_name(frame.text)
            if name is None or name == "FullyBooted":
                continue
            action_id = (
                headers(frame.text).get("ActionID") if "\nActionID:" in frame.text else None
            )
            if action_id is None:
                template = _template(frame.text)
                self._ids.update(slot for slot in template.slots if isinstance(slot, str))
                self._items.append((frame.received_at, template))
            elif name in _ANSWER_ITEMS:
                key = (_ANSWER_ITEMS[name], action_id)
                partial.setdefault(key, []).append(without_action_id(frame.text))
            elif name in _ANSWER_ENDS:
                field = _ANSWER_ENDS[name]
                answer = _Answer(field, tuple(partial.pop((field, action_id), [])))
                first.setdefault(field, answer.items)
                self._items.append((frame.received_at, answer))
        self._origin = received[0] if received else 0.0
        self.period = math.ceil(max(received, default=0.0) - self._origin) + 1
        """Seconds between the starts of two repetitions: the trace's length, rounded up."""
        self.snapshot = Snapshot(first.get("queue_status", ()), first.get("queue_summary", ()))
        """The trace's first recorded answers: what the PBX reports before playback starts."""
        self.event_count = repeat * sum(isinstance(item, _Template) for _, item in self._items)
        """How many event frames a whole playback yields."""

    def recorded(self) -> list[str]:
        """The event frames of one repetition as recorded (ids and times not rewritten)."""
        return [item.text for _, item in self._items if isinstance(item, _Template)]

    def __aiter__(self) -> AsyncIterator[str | Snapshot]:
        """Play the trace from its start; the clock starts when the first item is asked for."""
        return self._play()

    async def _play(self) -> AsyncIterator[str | Snapshot]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        base = time.time() - self._origin if self._live else 0.0
        for repetition in range(self._repeat):
            shift = base + repetition * self.period
            ids = {value: _fresh_id(value, math.floor(shift), repetition) for value in self._ids}
            snapshot = self.snapshot
            for received_at, item in self._items:
                if self._speed is not None:
                    due = (received_at - self._origin + repetition * self.period) / self._speed
                    delay = started + due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if isinstance(item, _Answer):
                    snapshot = item.applied_to(snapshot)
                    yield snapshot
                elif shift:
                    yield item.render(ids, shift)
                else:
                    yield item.text
