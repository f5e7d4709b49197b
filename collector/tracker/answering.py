"""Ringing and answering: agents rung for a caller, the one who answers, the call's end.

Wait is QueueCallerJoin to AgentConnect; the ``HoldTime`` of AgentConnect/AgentComplete
is that same wait, counted by Asterisk in whole seconds: it checks our timings, it never
sets them.

A stint's record is put out as soon as something in it is settled for good: at the
answer (outcome, wait, agent), at the call's end (talk, hold), and once its after-call
work is decided (:mod:`collector.tracker.acw`).
"""

from __future__ import annotations

from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    PbxShutdown,
)
from collector.facts import EndReason, Fact, Outcome, Phase, RingNoAnswer, span
from collector.states import ANSWERED_UNSEEN, STINT, HungUp, move, start
from collector.tracker import acw, hold
from collector.tracker.books import Books, Stint, anomaly, refusal
from collector.tracker.records import record

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
    ringing = b.ringing.setdefault(e.uniqueid, set())
    if stint is not None:
        # the same member rung again for the caller it is already ringing for: one ring
        if agent.interface not in ringing:
            stint.ring_attempts += 1
        stint.rings_ended.discard(agent.interface)
        if e.dest_uniqueid:
            stint.rung[e.dest_uniqueid] = agent.interface
    agent.ringing[e.uniqueid] = e.queue
    ringing.add(agent.interface)
    b.roster.touch(agent, e.at)
    return facts


def ring_ended(b: Books, e: AgentRingNoAnswer | AgentDump) -> list[Fact]:
    """AgentRingNoAnswer or AgentDump: a member stopped ringing without taking the call."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is not None and not move(STINT, stint, type(e)):
        return refusal(type(e), e.at, e.uniqueid, e.queue, stint.state)
    agent = b.roster.get(e.interface, e.member_name)
    ringing = b.ringing.get(e.uniqueid)
    # a ring already ended (a repeated event) is not another unanswered one
    if stint is not None and agent.interface not in stint.rings_ended:
        stint.ring_noanswer += 1
        stint.rings_ended.add(agent.interface)
    agent.ringing.pop(e.uniqueid, None)
    if ringing is not None:
        ringing.discard(agent.interface)
        if not ringing:
            del b.ringing[e.uniqueid]
    b.roster.touch(agent, e.at)
    if isinstance(e, AgentRingNoAnswer):
        return [RingNoAnswer(e.at, e.queue, e.uniqueid, agent.interface, agent.name)]
    return []


def connect(b: Books, e: AgentConnect) -> list[Fact]:
    """AgentConnect: caller and member are bridged; the answered record goes out."""
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
    hold.answered(stint, stint.agent_channel, e.at)
    if stint.agent_channel:
        b.by_channel[stint.agent_channel] = stint.uniqueid
    b.by_linkedid[stint.linkedid] = stint.uniqueid
    b.stop_ringing(stint, e.at)
    agent.call_queue = stint.queue
    agent.on_hold = stint.hold is not None and bool(stint.hold.legs)
    b.roster.touch(agent, e.at)
    if b.revisions:
        facts.append(record(stint, Outcome.ANSWERED, Phase.TALKING))
    return facts


def _completed_stint(b: Books, e: AgentComplete) -> Stint | None:
    """The call an AgentComplete ends: by the caller's channel, or, when Asterisk left
    that out (the caller's channel was already gone), by the member's channel or the
    member's one call in the queue."""
    if e.uniqueid:
        return b.stint(e.uniqueid, e.queue)
    stint = b.connected(e.dest_uniqueid) if e.dest_uniqueid else None
    if stint is not None and stint.queue == e.queue:
        return stint
    return b.on_call(e.interface, e.queue)


def complete(b: Books, e: AgentComplete) -> list[Fact]:
    """AgentComplete: a connected call ended; the record with its talk and hold goes out,
    and the agent's after-call work begins."""
    stint = _completed_stint(b, e)
    if stint is None:
        stint = _answered_unseen(b, e)
        if stint is None:
            return refusal(AgentComplete, e.at, e.uniqueid or e.dest_uniqueid, e.queue)
    elif not move(STINT, stint, AgentComplete):
        return refusal(AgentComplete, e.at, e.uniqueid, e.queue, stint.state)
    reason = _END_REASON.get(e.reason.lower())
    if stint.transfer_to is not None:
        reason = EndReason.TRANSFER
    agent = b.roster.get(e.interface, e.member_name)
    agent.call_queue = None
    facts = _hang_up(b, stint, e.at, reason)
    if b.revisions:
        facts.append(record(stint, Outcome.ANSWERED, Phase.WRAPUP))
    facts += _cross_check(stint, e)
    facts += acw.moved_on(b, agent, AgentComplete, e.at)
    acw.begin(b, agent, stint, e.at)
    return facts


def _answered_unseen(b: Books, e: AgentComplete) -> Stint | None:
    """The call an AgentComplete ends when its answer fell into the last gap of the stream:
    its caller was lost there, or joined there. Its entry, when seen, stays; the answer is
    dated by Asterisk's own TalkTime (whole seconds), and an entry not seen by HoldTime."""
    if b.gap_until is None or not e.uniqueid or e.talk_reported is None:
        return None
    answered_at = e.at - e.talk_reported
    # TalkTime counts whole seconds: the answer may be up to one earlier
    if answered_at > b.gap_until + 1.0:
        return None
    lost = b.lost.pop((e.uniqueid, e.queue), None)
    if lost is None and (e.wait_reported is None or b.was_recorded(
            e.uniqueid, e.queue, answered_at - e.wait_reported)):
        # a call recorded as ended (the PBX cut it) is not answered again
        return None
    stint = Stint(
        uniqueid=e.uniqueid,
        linkedid=lost.linkedid if lost else e.uniqueid,
        queue=e.queue,
        caller_num=lost.caller_num if lost else "",
        caller_name=lost.caller_name if lost else "",
        entered_at=lost.entered_at if lost else answered_at - (e.wait_reported or 0),
        position_entered=lost.position_entered if lost else None,
        state=start(STINT, ANSWERED_UNSEEN),
        gap_s=lost.gap_s if lost else b.gap_s,
        unseen=True,
    )
    if lost is not None:
        stint.ring_attempts, stint.ring_noanswer = lost.ring_attempts, lost.ring_noanswer
        stint.position_left = lost.position_left
    stint.answered_at = lost.answered_at if lost and lost.answered_at else answered_at
    stint.interface = e.interface
    stint.agent = b.roster.get(e.interface, e.member_name).name
    stint.agent_channel = e.dest_uniqueid or None
    return stint


def cut(b: Books, stint: Stint, at: float) -> list[Fact]:
    """Asterisk stopped while the call went on: it ended there, seen, and its agent's
    after-call work is not to be seen."""
    if not move(STINT, stint, PbxShutdown):
        return refusal(PbxShutdown, at, stint.uniqueid, stint.queue, stint.state)
    facts = _hang_up(b, stint, at, EndReason.PBX_RESTART)
    facts.append(record(stint, Outcome.ANSWERED, Phase.DONE))
    return facts


def _hang_up(b: Books, stint: Stint, at: float, reason: EndReason | None) -> list[Fact]:
    """The call ended at ``at``: its holds close, its agent is off it."""
    agent = b.roster.find(stint.interface)
    if agent is not None:
        agent.call_queue = None
        agent.on_hold = False
        b.roster.touch(agent, at)
    facts = hold.end(stint, AgentComplete, at)
    stint.ended_at = at
    # a call cut by the shutdown ends with whatever Asterisk reported as its reason
    stint.end_reason = EndReason.PBX_RESTART if stint.hung_up is HungUp.SHUTDOWN else reason
    b.forget(stint)
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
