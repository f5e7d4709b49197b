"""Run the tracker over AMI text written out by hand, as Asterisk documents the events.

Used for the situations the recorded traces do not contain (timeouts, attended
transfers, restarts, lost connections). Frames are separated by a blank line, exactly as
on the wire; headers a rule does not read are left out.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from collector.facts import AgentInterval, CallRecord, Fact
from collector.parser import FrameParser
from collector.replay import replay
from collector.trace import Frame, capture_frames
from collector.tracker import Tracker, TrackerConfig
from tests.traces import final_records


def frames_from_text(text: str) -> Iterator[Frame]:
    """The frames of AMI text, read as a plain capture is."""
    return capture_frames(io.StringIO(text))


def run(ami_text: str, config: TrackerConfig | None = None) -> list[Fact]:
    """All facts the tracker derives from the frames, the stream ending at the last one."""
    return list(replay(frames_from_text(ami_text), Tracker(config), FrameParser()))


def calls(facts: list[Fact]) -> list[CallRecord]:
    """Each stint's last call record (the one that knows most)."""
    return final_records(facts)


def revisions(facts: list[Fact]) -> list[CallRecord]:
    """Every call record, each revision of a stint's record included, in order."""
    return [f for f in facts if isinstance(f, CallRecord)]


def intervals(facts: list[Fact]) -> list[AgentInterval]:
    """Only the agent intervals."""
    return [f for f in facts if isinstance(f, AgentInterval)]


def join(at: float, uid: str = "c1", queue: str = "support", num: str = "5550100") -> str:
    """A QueueCallerJoin frame."""
    return (f"Event: QueueCallerJoin\nTimestamp: {at}\nQueue: {queue}\nUniqueid: {uid}\n"
            f"Linkedid: {uid}\nChannel: PJSIP/trunk-{uid}\nCallerIDNum: {num}\n"
            "CallerIDName: Caller\nPosition: 1\nCount: 1\n\n")


def caller_event(event: str, at: float, uid: str = "c1", queue: str = "support",
                 extra: str = "") -> str:
    """QueueCallerLeave, QueueCallerAbandon and other caller-only frames."""
    return f"Event: {event}\nTimestamp: {at}\nQueue: {queue}\nUniqueid: {uid}\n{extra}\n"


def agent_event(event: str, at: float, uid: str = "c1", queue: str = "support",
                agent: str = "PJSIP/201", extra: str = "") -> str:
    """AgentCalled, AgentConnect, AgentComplete and other caller-plus-member frames."""
    return (f"Event: {event}\nTimestamp: {at}\nQueue: {queue}\nUniqueid: {uid}\n"
            f"Linkedid: {uid}\nInterface: {agent}\nMemberName: {agent}\n"
            f"DestUniqueid: {uid}-agent\n{extra}\n")


def channel_event(event: str, at: float, uid: str, linkedid: str, extra: str = "") -> str:
    """Hold, Unhold, Hangup, HangupRequest, VarSet on one channel."""
    return f"Event: {event}\nTimestamp: {at}\nUniqueid: {uid}\nLinkedid: {linkedid}\n{extra}\n"


def member_event(event: str, at: float, queue: str = "support", agent: str = "PJSIP/201",
                 extra: str = "") -> str:
    """QueueMemberPause, QueueMemberAdded, QueueMemberRemoved, QueueMember frames."""
    return (f"Event: {event}\nTimestamp: {at}\nQueue: {queue}\nInterface: {agent}\n"
            f"MemberName: {agent}\n{extra}\n")


def answered(at: float, uid: str = "c1", agent: str = "PJSIP/201", talk: float = 10.0,
             queue: str = "support") -> str:
    """A caller who joins at ``at``, rings 2 s, is answered and talks ``talk`` seconds."""
    return (join(at, uid, queue)
            + agent_event("AgentCalled", at + 0.5, uid, queue, agent)
            + caller_event("QueueCallerLeave", at + 2.0, uid, queue)
            + agent_event("AgentConnect", at + 2.0, uid, queue, agent, "HoldTime: 2\n")
            + agent_event("AgentComplete", at + 2.0 + talk, uid, queue, agent,
                          "Reason: agent\nHoldTime: 2\nTalkTime: 10\n"))
