"""The manager.conf event filters docs/service.md gives the queuepulse user: Asterisk then
sends only the events queuepulse reads, a fraction of the stream, and the daemon stores
the same calls from them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from collector.parser import FrameParser, event_name
from collector.trace import TraceReader
from queuepulse.pbxsim.event_filter import EventFilter
from tests.live_pbx import TracePbx, differences, run_live
from tests.traces import replayed_calls, trace_dir

SERVICE = Path(__file__).resolve().parents[1] / "docs" / "service.md"


def documented() -> tuple[str, ...]:
    """The ``eventfilter`` lines of the documentation's example, their patterns."""
    return tuple(re.findall(r"^eventfilter = (.+)$", SERVICE.read_text(encoding="utf-8"),
                            re.MULTILINE))


def broadcast(name: str) -> list[str]:
    """The events Asterisk broadcast in a recording (not the answers to an action)."""
    return [f.text for f in TraceReader(trace_dir(name) / "ami.jsonl")
            if event_name(f.text) is not None and "\nActionID:" not in f.text]


def test_the_documented_filters_keep_every_event_queuepulse_uses_and_a_fifth_of_all() -> None:
    keep = EventFilter(documented())
    assert keep
    events = broadcast("mixed-a")
    parser = FrameParser()
    used = [text for text in events if parser.parse(text, 0.0) is not None]
    kept = [text for text in events if keep.passes(text)]
    assert [text for text in used if not keep.passes(text)] == []
    assert len(kept) <= 0.25 * len(events)


def test_the_daemon_behind_the_documented_filters_stores_the_same_calls(
    tmp_path: Path,
) -> None:
    pbx = TracePbx("mixed-a", event_filter=documented())
    run = asyncio.run(run_live(pbx, tmp_path / "live.sqlite"))
    assert pbx.server.stats.filtered > 3 * pbx.server.stats.events
    expected = replayed_calls("mixed-a")
    assert set(run.calls) == set(expected)
    wrong = {key: differences(run.calls[key], call) for key, call in expected.items()}
    assert {key: diff for key, diff in wrong.items() if diff} == {}
