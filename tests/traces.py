"""The recorded real-PBX traces and what Asterisk's own queue_log says about them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from bench.recordings import recording_dir
from collector.facts import CallRecord, Fact
from collector.parser import FrameParser
from collector.queue_log import QueueLogLine, decoded, parse_line
from collector.replay import replay
from collector.trace import TraceReader
from collector.tracker import Tracker, TrackerConfig

TRACE_NAMES = ("smoke", "mixed-a", "hold-a")

# queues.conf of the recording PBX: wrapuptime is invisible in AMI, so it is configuration
TRACE_CONFIG = TrackerConfig(wrapuptime={"sales": 6.0})
TRACE_CONFIG_TOML = "[queues.sales]\nwrapuptime_s = 6\n"


def trace_dir(name: str) -> Path:
    """The folder of one recorded trace, as plain files (see :mod:`bench.recordings`)."""
    return recording_dir(name)


def open_queue_log(path: Path) -> IO[str]:
    """A queue_log file as text, gzip'd or not (told by its content, not its name)."""
    return decoded(path.open("rb"))


def read_queue_log(path: Path) -> Iterator[QueueLogLine]:
    """The queue_log lines of one file (epoch stamps), skipping any that do not parse."""
    with open_queue_log(path) as stream:
        for line in stream:
            parsed = parse_line(line)
            if parsed is not None:
                yield parsed


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """One queue stint as queue_log tells it (whole seconds)."""

    callid: str
    queue: str
    outcome: str
    wait: int | None
    connected: int | None
    transferred: bool


_OUTCOMES = {
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITWITHKEY": "exit_key",
    "EXITEMPTY": "exit_empty",
}


@cache
def logged_calls(name: str) -> dict[tuple[str, str], LoggedCall]:
    """Every queue stint in a trace's queue_log, keyed by (callid, queue)."""
    calls: dict[tuple[str, str], LoggedCall] = {}
    for line in read_queue_log(trace_dir(name) / "queue_log"):
        key = (line.callid, line.queue)
        if line.event == "ENTERQUEUE":
            calls[key] = LoggedCall(line.callid, line.queue, "unknown", None, None, False)
        elif line.event == "CONNECT":
            calls[key] = LoggedCall(line.callid, line.queue, "answered", int(line.data[0]),
                                    None, False)
        elif line.event in ("COMPLETEAGENT", "COMPLETECALLER"):
            old = calls[key]
            calls[key] = LoggedCall(*key, "answered", old.wait, int(line.data[1]), False)
        elif line.event in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            old = calls[key]
            calls[key] = LoggedCall(*key, "answered", old.wait, int(line.data[3]), True)
        elif line.event in _OUTCOMES:
            calls[key] = LoggedCall(*key, _OUTCOMES[line.event], int(line.data[-1]), None, False)
    return calls


def truth(name: str) -> list[dict[str, Any]]:
    """The actions the recording client took (truth.json)."""
    actions: list[dict[str, Any]] = json.loads(
        (trace_dir(name) / "truth.json").read_text(encoding="utf-8")
    )["actions"]
    return actions


@cache
def replayed_facts(name: str) -> tuple[Fact, ...]:
    """The facts the tracker derives from a trace (computed once per test run)."""
    frames = TraceReader(trace_dir(name) / "ami.jsonl")
    return tuple(replay(frames, Tracker(TRACE_CONFIG), FrameParser()))


def final_records(facts: Iterable[Fact]) -> list[CallRecord]:
    """Each stint's last record (a stint's record is revised as its call goes on), in the
    order the stints' first records came."""
    last: dict[str, CallRecord] = {}
    for fact in facts:
        if isinstance(fact, CallRecord):
            last[fact.call_id] = fact
    return list(last.values())


def replayed_calls(name: str) -> dict[tuple[str, str], CallRecord]:
    """The derived call records of a trace, keyed by (uniqueid, queue)."""
    return {(f.uniqueid, f.queue): f for f in replayed_facts(name) if isinstance(f, CallRecord)}
