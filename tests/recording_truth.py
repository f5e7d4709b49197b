"""What each call of a recording should become, from what the recording itself says.

Every recording has its ``queue_log`` (Asterisk's own account: outcome, wait, connected
time, to the second); the lab recordings (``lab-*``) also have ``truth.json``: the queues'
settings, what the recording client did (pauses with their reasons, transfers, a restart)
and what each phone observed (answers, holds with their start and end, transfers). This
module turns ``truth.json`` into the timings a call record must carry, so that the tests
check the tracker against the phones and the PBX, never against itself.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from bench.recordings import recording_names, recording_streams
from collector.facts import AcwSource, CallRecord, Fact
from collector.parser import FrameParser
from collector.replay import replay
from collector.trace import TraceReader
from collector.tracker import Tracker, TrackerConfig
from tests.traces import TRACE_CONFIG, TRACE_CONFIG_TOML, trace_dir

TOLERANCE_S = 1.0
"""queue_log and the phones' clocks count whole seconds or differ by a network hop."""

ACW_PAUSE_WINDOW_S = TrackerConfig().acw_pause_window_s

Key = tuple[str, str]
"""A queue stint: the caller's uniqueid and the queue."""


def streams() -> list[tuple[str, str]]:
    """Every recording and each AMI stream it holds (the full user's, the reader's)."""
    return [(name, stream) for name in recording_names() for stream in recording_streams(name)]


def case_id(case: tuple[str, str]) -> str:
    """A test id for one stream of a recording: ``lab-basic/ami-reader``."""
    name, stream = case
    return f"{name}/{stream.removesuffix('.jsonl')}"


def lab_streams() -> list[tuple[str, str]]:
    """The recordings with a lab ``truth.json`` (per-call observations), each stream."""
    return [(name, stream) for name, stream in streams() if lab_truth(name) is not None]


@cache
def lab_truth(name: str) -> dict[str, Any] | None:
    """The lab ``truth.json`` of a recording, or ``None`` for the older recordings."""
    truth: dict[str, Any] = json.loads((trace_dir(name) / "truth.json").read_text("utf-8"))
    return truth if "calls" in truth else None


def tracker_config(name: str) -> TrackerConfig:
    """The configuration the recording PBX asks for: each queue's wrapuptime (AMI never
    reports it), as the user writes it into ``[queues.NAME] wrapuptime_s``."""
    truth = lab_truth(name)
    if truth is None:
        return TRACE_CONFIG
    return TrackerConfig(wrapuptime={
        queue: float(settings.get("wrapuptime") or 0) for queue, settings in truth["queues"].items()
    })


def config_toml(name: str) -> str:
    """:func:`tracker_config` as the user writes it in the configuration file."""
    if lab_truth(name) is None:
        return TRACE_CONFIG_TOML
    return "".join(f'[queues."{queue}"]\nwrapuptime_s = {seconds}\n'
                   for queue, seconds in tracker_config(name).wrapuptime.items())


@cache
def replayed(name: str, stream: str) -> tuple[Fact, ...]:
    """The facts the tracker derives from one stream of a recording (once per test run)."""
    frames = TraceReader(trace_dir(name) / stream)
    return tuple(replay(frames, Tracker(tracker_config(name)), FrameParser()))


def final_calls(name: str, stream: str) -> dict[Key, CallRecord]:
    """The last record of each stint of a replay (a stint's later records know more)."""
    return {(f.uniqueid, f.queue): f for f in replayed(name, stream) if isinstance(f, CallRecord)}


@dataclass(frozen=True, slots=True)
class Held:
    """What the phones saw of a connected stint's hold."""

    agent_s: float
    agent_count: int
    caller_s: float


@dataclass(frozen=True, slots=True)
class Wrapup:
    """The after-call work a stint's agent did, by the rule, and whether the recording
    went on long enough to decide it: ``"yes"``, ``"no"`` (it stopped, or the PBX
    restarted, first) or ``"barely"`` (within a second of the stop: either will do)."""

    seconds: float
    source: AcwSource
    decided: str

@dataclass(frozen=True, slots=True)
class Moved:
    """A transfer that succeeded: blind or attended, and the extension dialled."""

    kind: str
    to: str


_KIND = {"blind": "blind", "ami_blind": "blind", "attended": "attended",
         "ami_atxfer": "attended"}


def _calls(name: str) -> Iterator[dict[str, Any]]:
    truth = lab_truth(name)
    yield from truth["calls"] if truth is not None else ()


def _key(call: dict[str, Any]) -> Key:
    return call["asterisk"]["uniqueid"], call["queue"]


def _answering_ring(call: dict[str, Any]) -> dict[str, Any] | None:
    observed = call["observed"]
    rings = [r for r in observed["rings"]
             if r["result"] == "answered" and r["phone"] == observed.get("agent")]
    return rings[0] if rings else None


def _call_end(call: dict[str, Any], ring: dict[str, Any]) -> float:
    """When the queue's call ended: the transfer, or the agent's phone hanging up."""
    transfer = call["observed"].get("transfer")
    return float(transfer["t"]) if transfer else float(ring["end_t"])


def _overlap(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


def restart_victims(name: str) -> set[Key]:
    """Stints the PBX ended by restarting while the caller waited: queue_log logs them as
    ABANDON, but the caller did not give up."""
    return {_key(c) for c in _calls(name) if c["observed"]["outcome"] == "ended_by_pbx"}


def cut_by_restart(name: str) -> set[Key]:
    """Answered stints whose call the PBX cut by restarting (queue_log logs an ordinary
    COMPLETEAGENT or COMPLETECALLER at the restart)."""
    truth = lab_truth(name)
    restarts = [n["t"] for n in truth["notes"] if n["what"].startswith("core restart")] \
        if truth is not None else []
    cut: set[Key] = set()
    for call in _calls(name):
        ring = _answering_ring(call)
        if ring is not None and any(0 <= ring["end_t"] - t <= TOLERANCE_S for t in restarts):
            cut.add(_key(call))
    return cut


def turned_away(name: str) -> set[Key]:
    """Callers ``joinempty`` kept out of a queue: no queue_log line, no QueueCallerJoin."""
    return {_key(c) for c in _calls(name) if c["observed"]["outcome"] == "join_empty"}


def stream_gaps(name: str, stream: str) -> list[tuple[float, float]]:
    """When the recording's AMI connection of ``stream`` was down: from each session's
    close to the next one's opening."""
    truth = lab_truth(name)
    if truth is None:
        return []
    sessions = truth["ami_sessions" if stream == "ami.jsonl" else "reader_sessions"]
    return [(a["closed"], b["opened"]) for a, b in itertools.pairwise(sessions)]


def answered_across_a_gap(name: str, stream: str) -> set[Key]:
    """Answered stints whose call went on while the stream was down: their hold, had
    there been one then, could not be seen."""
    gaps = stream_gaps(name, stream)
    spanned: set[Key] = set()
    for call in _calls(name):
        ring = _answering_ring(call)
        if ring is not None and any(_overlap(ring["answer_t"], _call_end(call, ring), a, b) > 0
                                    for a, b in gaps):
            spanned.add(_key(call))
    return spanned


def holds(name: str) -> dict[Key, Held]:
    """The hold of every answered stint, as the agent's and the caller's phones saw it,
    within the queue's call (a phone may stay on hold after a transfer took the call).

    An AMI ``Atxfer`` holds the caller on the agent's channel while the agent consults
    (Asterisk sends Hold; the caller hears music), though the phone itself holds nothing:
    that is hold time too, from the request to the transfer.
    """
    held: dict[Key, Held] = {}
    for call in _calls(name):
        ring = _answering_ring(call)
        if ring is None:
            continue
        start, end = float(ring["answer_t"]), _call_end(call, ring)
        spans = [(h["start"], h["end"]) for h in ring["holds"]]
        transfer = call["observed"].get("transfer")
        if transfer and transfer["kind"] == "ami_atxfer":
            spans.append((transfer["asked_t"], transfer["t"]))
        agent = [_overlap(s, e, start, end) for s, e in spans]
        caller = [_overlap(h["start"], h["end"], start, end)
                  for h in call["observed"].get("caller_holds") or ()]
        held[_key(call)] = Held(sum(agent), sum(1 for a in agent if a > 0), sum(caller))
    return held


def transfers(name: str) -> dict[Key, Moved | None]:
    """Every answered stint's successful transfer, or ``None`` (a failed one included)."""
    moved: dict[Key, Moved | None] = {}
    for call in _calls(name):
        if _answering_ring(call) is None:
            continue
        transfer = call["observed"].get("transfer")
        moved[_key(call)] = Moved(_KIND[transfer["kind"]], transfer["to"]) if transfer else None
    return moved


def _pauses(truth: dict[str, Any]) -> dict[str, list[tuple[float, bool, str]]]:
    """Each interface's QueuePause actions, in order: when, paused or not, the reason."""
    pauses: dict[str, list[tuple[float, bool, str]]] = {}
    for action in truth["actions"]:
        asked = action["action"]
        if asked.get("Action") == "QueuePause" and action.get("response") == "Success":
            pauses.setdefault(asked["Interface"], []).append(
                (float(action["t"]), asked.get("Paused") == "true", asked.get("Reason", "")))
    return pauses


def _member_wrapuptime(truth: dict[str, Any], queue: str, interface: str) -> float:
    """The member's own wrapuptime (the sixth field of its ``member =`` line), else the
    queue's."""
    for member in truth["queues"][queue]["members"]:
        parts = member.split(",")
        if parts[0] == interface and len(parts) >= 6 and parts[5]:
            return float(parts[5])
    return float(truth["queues"][queue].get("wrapuptime") or 0)


def _rings_of(truth: dict[str, Any], phone: str) -> list[float]:
    return sorted(float(r["invite_t"]) for c in truth["calls"] for r in c["observed"]["rings"]
                  if r["phone"] == phone)


def _stop(truth: dict[str, Any], after: float) -> float:
    """When the recording stops telling what followed ``after``: its end, or the PBX
    restarting."""
    # the restart's hang-ups come a moment after the note that announced it
    restarts = [n["t"] for n in truth["notes"]
                if n["what"].startswith("core restart") and n["t"] > after - TOLERANCE_S]
    return float(min([truth["ended_t"], *restarts]))


def _decided(at: float, stop: float) -> str:
    if abs(at - stop) <= TOLERANCE_S:
        return "barely"
    return "yes" if at < stop else "no"


def wrapups(name: str) -> dict[Key, Wrapup]:
    """The after-call work of every answered stint, by the rule the README states.

    An ACW pause within the pause window lasts until the agent's next pause action (the
    unpause, or another pause); otherwise the member's or the queue's wrapuptime, cut
    short by the agent's next ring or pause; otherwise none.
    """
    truth = lab_truth(name)
    if truth is None:
        return {}
    pauses = _pauses(truth)
    work: dict[Key, Wrapup] = {}
    for call in truth["calls"]:
        ring = _answering_ring(call)
        if ring is None:
            continue
        interface = f"SIP/{ring['phone']}"
        end = _call_end(call, ring)
        stop = _stop(truth, end)
        later = [p for p in pauses.get(interface, ()) if p[0] > end - 0.5]
        if later and later[0][1] and later[0][2] == "ACW" and later[0][0] - end <= 5.0:
            done = later[1][0] if len(later) > 1 else stop + 2 * TOLERANCE_S
            work[_key(call)] = Wrapup(done - end, AcwSource.PAUSE, _decided(done, stop))
            continue
        wrapup = _member_wrapuptime(truth, call["queue"], interface)
        if wrapup <= 0:
            window = end + ACW_PAUSE_WINDOW_S
            work[_key(call)] = Wrapup(0.0, AcwSource.NONE, _decided(window, stop))
            continue
        moves = [t for t in _rings_of(truth, ring["phone"]) if t > end]
        moves += [p[0] for p in later]
        cut = min([end + wrapup, *moves])
        work[_key(call)] = Wrapup(cut - end, AcwSource.WRAPUPTIME, _decided(cut, stop))
    return work
