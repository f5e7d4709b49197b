"""Ringing and answering: agents rung for a caller, the one who answers, the call's end.

Wait is QueueCallerJoin to AgentConnect; the ``HoldTime`` of AgentConnect/AgentComplete
is that same wait, counted by Asterisk in whole seconds: it checks our timings, it never
sets them.
"""

from __future__ import annotations

from collector.events import AgentCalled, AgentComplete, AgentConnect, AgentDump, AgentRingNoAnswer
from collector.facts import EndReason, Fact, RingNoAnswer, span
from collector.states import HOLD, STINT, move, start
from collector.tracker import acw, hold
from collector.tracker.books import Books, Hold, Stint, anomaly, refusal

# Asterisk truncates to whole seconds on both ends of the span it measures
_CROSS_CHECK_S = 2.0
_END_REASON = {"caller": EndReason.CALLER, "agent": EndReason.AGENT, "transfer": EndReason.TRANSFER}


def called(b: Books, e: AgentCalled) -> list[Fact]:
    """AgentCalled: a member's device rings for a caller; its after-call work is over."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is not None and not move(STINT, stint, AgentCalled):
        return refusal(AgentCalled, e.at, e.uniqueid, e.queue, stint.state)
    agent = b.roster.get(e.interface, e.member_name)
    facts = acw.moved_on(b, agent, AgentCalled, e.at)
    if stint is not None:
        stint.ring_attempts += 1
    agent.ringing[e.uniqueid] = e.queue
    b.ringing.setdefault(e.uniqueid, set()).add(agent.interface)
    b.roster.touch(agent, e.at)
    return facts


def ring_ended(b: Books, e: AgentRingNoAnswer | AgentDump) -> list[Fact]:
    """AgentRingNoAnswer or AgentDump: a member stopped ringing without taking the call."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is not None and not move(STINT, stint, type(e)):
        return refusal(type(e), e.at, e.uniqueid, e.queue, stint.state)
    if stint is not None:
        stint.ring_noanswer += 1
    agent = b.roster.get(e.interface, e.member_name)
    agent.ringing.pop(e.uniqueid, None)
    ringing = b.ringing.get(e.uniqueid)
    if ringing is not None:
        ringing.discard(agent.interface)
        if not ringing:
            del b.ringing[e.uniqueid]
    b.roster.touch(agent, e.at)
    if isinstance(e, AgentRingNoAnswer):
        return [RingNoAnswer(e.at, e.queue, e.uniqueid, agent.interface, agent.name)]
    return []


def connect(b: Books, e: AgentConnect) -> list[Fact]:
    """AgentConnect: caller and member are bridged."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is None or not move(STINT, stint, AgentConnect):
        return refusal(AgentConnect, e.at, e.uniqueid, e.queue, stint.state if stint else None)
    agent = b.roster.get(e.interface, e.member_name)
    facts = acw.moved_on(b, agent, AgentConnect, e.at)
    stint.settle_due = None
    stint.answered_at = e.at
    stint.interface = e.interface
    stint.agent = agent.name
    stint.agent_channel = e.dest_uniqueid or None
    stint.hold = Hold(start(HOLD, AgentConnect))
    if stint.agent_channel:
        b.by_channel[stint.agent_channel] = stint.uniqueid
    b.by_linkedid[stint.linkedid] = stint.uniqueid
    b.stop_ringing(stint, e.at)
    agent.call_queue = stint.queue
    agent.on_hold = False
    b.roster.touch(agent, e.at)
    return facts


def complete(b: Books, e: AgentComplete) -> list[Fact]:
    """AgentComplete: a connected call ended; its after-call work begins."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is None or not move(STINT, stint, AgentComplete):
        return refusal(AgentComplete, e.at, e.uniqueid, e.queue, stint.state if stint else None)
    agent = b.roster.get(e.interface, e.member_name)
    agent.call_queue = None
    agent.on_hold = False
    facts = hold.change(stint, AgentComplete, "", e.at)
    stint.ended_at = e.at
    stint.end_reason = _END_REASON.get(e.reason.lower())
    if stint.transfer_to is not None:
        stint.end_reason = EndReason.TRANSFER
    b.forget(stint)
    facts += _cross_check(stint, e)
    facts += acw.moved_on(b, agent, AgentComplete, e.at)
    acw.begin(b, agent, stint, e.at)
    b.roster.touch(agent, e.at)
    return facts


def _cross_check(stint: Stint, e: AgentComplete) -> list[Fact]:
    """Compare with Asterisk's own whole-second counters; they check, they never set."""
    facts: list[Fact] = []
    checks = (
        ("wait", span(stint.entered_at, stint.answered_at), e.wait_reported),
        ("talk", span(stint.answered_at, stint.ended_at), e.talk_reported),
    )
    for name, ours, theirs in checks:
        if ours is not None and theirs is not None and abs(ours - theirs) > _CROSS_CHECK_S:
            facts += anomaly(e.at, f"{name}_disagrees_with_asterisk", stint.uniqueid,
                             f"derived {ours:.3f}s, Asterisk {theirs}s")
    return facts
