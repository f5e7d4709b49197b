"""Ring-no-answers per agent, and dials outside queues, as the tracker reports them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from collector.events import PbxShutdown
from collector.facts import Dial, Fact, RingNoAnswer
from collector.parser import FrameParser
from collector.store.opening import open_database
from collector.store.reads import read_dials, read_ring_no_answers
from collector.store.writes import write_facts
from collector.tracker import Tracker
from tests.traces import read_queue_log, replayed_facts, trace_dir


@pytest.mark.parametrize("name", ["mixed-a", "lab-basic", "lab-load", "lab-multi"])
def test_ring_no_answers_per_agent_are_queue_logs(name: str) -> None:
    found = Counter(f.agent for f in replayed_facts(name) if isinstance(f, RingNoAnswer))
    logged = Counter(line.agent for line in read_queue_log(trace_dir(name) / "queue_log")
                     if line.event == "RINGNOANSWER")
    assert found == logged


def test_an_agent_dialling_a_colleague_is_a_dial_and_queue_rings_are_not() -> None:
    dials = [f for f in replayed_facts("lab-transfer") if isinstance(f, Dial)]
    assert {(d.caller_num, d.number, d.status) for d in dials} == {
        ("1009", "1012", "ANSWER"), ("1008", "1012", "ANSWER")}
    assert all(d.answered_at is not None and d.answered_at >= d.started_at for d in dials)
    # mixed-a rings members 180 times and originates its callers through Local channels
    assert [f for f in replayed_facts("mixed-a") if isinstance(f, Dial)] == []


def frame(event: str, at: float, **headers: str) -> str:
    lines = [f"Event: {event}", f"Timestamp: {at:.6f}",
             *(f"{key}: {value}" for key, value in headers.items())]
    return "\r\n".join(lines)


AGENT = {"Channel": "PJSIP/201-00000007", "CallerIDNum": "201", "Uniqueid": "1700000000.7",
         "Linkedid": "1700000000.7"}


def dial(status: str | None, number: str = "+15550000002") -> list[Dial]:
    parser, tracker = FrameParser(), Tracker()
    frames = [frame("DialBegin", 100.0, **AGENT, DestChannel="PJSIP/trunk-00000008",
                    DestUniqueid="1700000000.8", DialString=f"PJSIP/{number}@trunk")]
    if status is not None:
        frames.append(frame("DialEnd", 104.5, **AGENT, DestChannel="PJSIP/trunk-00000008",
                            DestUniqueid="1700000000.8", DialStatus=status))
    facts: list[Fact] = []
    for text in frames:
        event = parser.parse(text, 0.0)
        assert event is not None
        facts += tracker.feed(event)
    facts += tracker.feed(PbxShutdown(at=110.0))
    return [f for f in facts if isinstance(f, Dial)]


def test_a_dial_to_a_trunk_names_the_number_and_whether_it_was_answered() -> None:
    assert dial("ANSWER") == [Dial("1700000000.7", "1700000000.7", "201", "+15550000002",
                                   100.0, 104.5, "ANSWER")]
    (busy,) = dial("BUSY", number="0015550000002")
    assert (busy.number, busy.answered_at, busy.status) == ("0015550000002", None, "BUSY")


def test_a_dial_whose_end_was_not_seen_ends_unknown_never_answered() -> None:
    (lost,) = dial(None)
    assert (lost.answered_at, lost.status) == (None, "unknown")


def test_ring_no_answers_and_dials_are_stored_once_and_read_back(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "calls.sqlite"))
    facts = [*replayed_facts("lab-load"), *dial("ANSWER")]
    write_facts(db, facts, source="replay")
    write_facts(db, facts, source="replay")  # a replay run again stores each once
    assert read_ring_no_answers(db, 0, 4e9) == sorted(
        (f for f in facts if isinstance(f, RingNoAnswer)), key=lambda f: f.at)
    assert read_dials(db, 0, 4e9) == sorted(
        (f for f in facts if isinstance(f, Dial)), key=lambda f: f.started_at)
