"""Run the tracker over a recorded stream: the same core the live daemon uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from collector.facts import Fact
from collector.parser import FrameParser
from collector.trace import Frame
from collector.tracker import Tracker


def replay(frames: Iterable[Frame], tracker: Tracker, parser: FrameParser) -> Iterator[Fact]:
    """Feed every frame through the parser and the tracker, then close the stream.

    The stream ends at the last frame's time; calls still open then are closed with what
    was observed of them.
    """
    last = 0.0
    for frame in frames:
        last = max(last, frame.received_at)
        event = parser.parse(frame.text, frame.received_at)
        if event is not None:
            yield from tracker.feed(event)
    yield from tracker.finish(max(last, tracker.now))
