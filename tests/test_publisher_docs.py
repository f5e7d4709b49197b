"""docs/mqtt.md shows every topic's payload with exactly the fields queuepulse sends."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from collector.ami.link import AmiLink
from collector.facts import CallRecord, Phase
from collector.parser import FrameParser
from collector.trace import TraceReader
from collector.tracker import Tracker
from kpi.board import KpiBoard
from kpi.mqtt.homeassistant import discovery_messages
from kpi.mqtt.payloads import ami_message, call_message, heartbeat_message
from kpi.mqtt.publisher import snapshot_messages
from kpi.mqtt.topics import Topics
from kpi.settings import KpiSettings
from tests.traces import TRACE_CONFIG, trace_dir

DOC = (Path(__file__).resolve().parents[1] / "docs" / "mqtt.md").read_text(encoding="utf-8")
TOPICS = Topics("queuepulse", "pbx")


def documented() -> dict[str, dict[str, Any]]:
    """The JSON example under each ``### `<base>/...` `` heading."""
    examples: dict[str, dict[str, Any]] = {}
    for section in DOC.split("\n### ")[1:]:
        heading, _, text = section.partition("\n")
        found = re.search(r"```json\n(.*?)```", text.split("\n## ")[0], re.S)
        if found is not None:
            examples[heading.replace("`", "")] = json.loads(found.group(1))
    examples["homeassistant"] = json.loads(
        re.findall(r"## Home Assistant.*?```json\n(.*?)```", DOC, re.S)[0])
    return examples


def sent() -> dict[str, dict[str, Any]]:
    """A real payload of each kind, from the smoke trace a minute in."""
    tracker, parser = Tracker(TRACE_CONFIG), FrameParser()
    board = KpiBoard(KpiSettings())
    calls: list[CallRecord] = []
    frames = list(TraceReader(trace_dir("smoke") / "ami.jsonl"))
    for frame in frames:
        if frame.received_at - frames[0].received_at > 60:
            break
        event = parser.parse(frame.text, frame.received_at)
        if event is not None:
            facts = tracker.feed(event)
            board.add(facts)
            calls += [f for f in facts if isinstance(f, CallRecord) and f.phase is Phase.DONE]
    live = tracker.live()
    messages = {m.topic: json.loads(m.payload(live.at))
                for m in snapshot_messages(TOPICS, board.snapshot(live))}
    agent = "queuepulse/pbx/agent/Local%2Fagent2@agents%2Fn"
    return {
        "<base>/heartbeat": json.loads(heartbeat_message(TOPICS, 1.0, 1.0, 0, 0, 0).payload()),
        "<base>/ami": json.loads(ami_message(TOPICS, AmiLink(True, 1.0, "127.0.0.1:5038"))
                                 .payload()),
        "<base>/call": json.loads(call_message(TOPICS, calls[-1]).payload()),
        "<base>/queue/<queue>/kpi/<window> and <base>/all/kpi/<window>":
            messages["queuepulse/pbx/all/kpi/today"],
        "<base>/queue/<queue>/live and <base>/all/live":
            messages["queuepulse/pbx/queue/support/live"],
        "<base>/agent/<agent>/state": messages[f"{agent}/state"],
        "<base>/agent/<agent>/kpi/<window>": messages[f"{agent}/kpi/today"],
        "homeassistant": json.loads(discovery_messages(TOPICS, ("support",), "homeassistant",
                                                       "0.1.0")[0].body),
    }


def shape(value: Any) -> Any:
    """The keys of a payload, nested; lists by their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if not k.startswith("Lunch")}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


@pytest.mark.parametrize("topic", sorted(sent()))
def test_each_documented_payload_has_the_fields_sent(topic: str) -> None:
    example, real = documented()[topic], sent()[topic]
    if "pauses" in real:
        real["pauses"], example["pauses"] = {}, {}
    assert shape(example) == shape(real)


def test_every_payload_kind_is_documented() -> None:
    assert set(sent()) <= set(documented())
