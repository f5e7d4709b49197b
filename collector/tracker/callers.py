"""Callers: a stint begins, gathers evidence while it waits, and ends without an agent.

The evidence (QueueCallerAbandon, a hang-up before it, the QUEUESTATUS VarSet, whether
the queue had a member to take the call) is kept as it comes;
:func:`collector.states.unanswered_outcome` decides from it once the stint has left the
waiting list and no AgentConnect followed.
"""

from __future__ import annotations

from collector.events import (
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Hangup,
    PbxShutdown,
    QueueApp,
    QueueEntry,
    QueueStatusVar,
)
from collector.facts import Fact, Outcome, Phase, WaitingCaller
from collector.states import (
    SAME_JOIN,
    STINT,
    TURNED_AWAY,
    HungUp,
    Input,
    Lost,
    SettleDue,
    StintState,
    hung_up_by,
    join_cue,
    move,
    settle_after,
    settles_now,
    start,
    unanswered_outcome,
)
from collector.tracker import hold
from collector.tracker.books import Books, Stint, anomaly, refusal
from collector.tracker.records import record, turned_away


def join(b: Books, e: CallerJoin) -> list[Fact]:
    """QueueCallerJoin: a stint begins (and an open one of the same caller ends unseen)."""
    facts: list[Fact] = []
    b.entering.pop(e.uniqueid, None)
    if b.was_recorded(e.uniqueid, e.queue, e.at):
        # the PBX sent the join of a stint already recorded again: it starts nothing
        return refusal(SAME_JOIN, e.at, e.uniqueid, e.queue, StintState.ENDED)
    old = b.stints.get(e.uniqueid)
    if old is not None:
        cue = join_cue(old.queue, old.entered_at, e)
        if STINT.next(old.state, cue) is None:
            return refusal(cue, e.at, e.uniqueid, e.queue, old.state)
        facts += anomaly(e.at, "join_while_in_queue", e.uniqueid, old.queue)
        facts += lose(b, old, cue, b.now)
    facts += begin(b, e, e.at, e.position)
    return facts


def begin(b: Books, e: CallerJoin | QueueEntry, entered_at: float,
          position: int | None) -> list[Fact]:
    """A stint begins: the caller joined, or a QueueStatus answer shows it waiting."""
    stint = b.follow(Stint(
        uniqueid=e.uniqueid,
        linkedid=e.linkedid,
        queue=e.queue,
        caller_num=e.caller_num,
        caller_name=e.caller_name,
        entered_at=entered_at,
        position_entered=position,
        state=start(STINT, type(e)),
    ))
    if not b.revisions:
        return []
    return [WaitingCaller(stint.uniqueid, stint.linkedid, stint.queue, stint.caller_num,
                          stint.caller_name, stint.entered_at, stint.position_entered)]


def entering(b: Books, e: QueueApp) -> list[Fact]:
    """The dialplan sends a caller to a queue: it joins next, or ``joinempty`` keeps it out."""
    b.entering[e.uniqueid] = e
    return []


def abandon(b: Books, e: CallerAbandon) -> list[Fact]:
    """QueueCallerAbandon: app_queue gave up on the caller (hang-up, timeout, empty queue)."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is None or not move(STINT, stint, CallerAbandon):
        return refusal(CallerAbandon, e.at, e.uniqueid, e.queue, stint.state if stint else None)
    stint.abandoned = True
    stint.position_left = e.position
    return _settle_if_conclusive(b, stint, e.at)


def hangup(b: Books, e: Hangup) -> list[Fact]:
    """A hang-up (or its request) on a channel: evidence of how a waiting caller went, or
    a shutdown cutting a connected call; nothing when the channel is no caller's."""
    b.entering.pop(e.uniqueid, None)
    by = hung_up_by(e.kind, e.cause)
    stint = b.stints.get(e.uniqueid)
    if stint is None and by is HungUp.SHUTDOWN:
        # Asterisk shutting down hangs up the agent's channel of a call as well
        stint = b.connected(e.uniqueid)
    if stint is None:
        return []
    if not move(STINT, stint, Hangup):
        return refusal(Hangup, e.at, e.uniqueid, stint.queue, stint.state)
    # after QueueCallerAbandon, the hang-up is the dialplan's: it tells nothing
    if stint.hung_up is None and not stint.abandoned and (
            stint.state is not StintState.CONNECTED or by is HungUp.SHUTDOWN):
        stint.hung_up, stint.hung_up_at = by, e.at
    return _settle_if_conclusive(b, stint, e.at)


def exit_status(b: Books, e: QueueStatusVar) -> list[Fact]:
    """The QUEUESTATUS VarSet: why app_queue let a caller go, or kept it out."""
    status = e.value.strip().upper()
    turned = b.entering.pop(e.uniqueid, None)
    if turned is not None and status in TURNED_AWAY and e.uniqueid not in b.stints:
        return [turned_away(turned, e.at)]
    stint = b.stints.get(e.uniqueid)
    if stint is None:
        return []
    if not move(STINT, stint, QueueStatusVar):
        return refusal(QueueStatusVar, e.at, e.uniqueid, stint.queue, stint.state)
    stint.exit_status = status
    return _settle_if_conclusive(b, stint, e.at)


def leave(b: Books, e: CallerLeave) -> list[Fact]:
    """QueueCallerLeave: the caller left the waiting list, answered or not (not known yet)."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is None or not move(STINT, stint, CallerLeave):
        return refusal(CallerLeave, e.at, e.uniqueid, e.queue, stint.state if stint else None)
    stint.left_at = e.at
    stint.position_left = e.position
    if _conclusive(stint):
        return settle(b, stint, e.at)
    stint.settle_due = SettleDue(stint.uniqueid,
                                 e.at + settle_after(stint.abandoned, b.config.settle_s))
    b.schedule(stint.settle_due)
    return []


def _conclusive(stint: Stint) -> bool:
    return settles_now(stint.exit_status, stint.abandoned, stint.hung_up)


def _settle_if_conclusive(b: Books, stint: Stint, at: float) -> list[Fact]:
    if stint.state is StintState.LEFT and _conclusive(stint):
        return settle(b, stint, at)
    return []


def settle(b: Books, stint: Stint, at: float, cue: Input = SettleDue) -> list[Fact]:
    """A caller left the waiting list without an agent: decide how, and record it."""
    if not move(STINT, stint, cue):
        return refusal(cue, at, stint.uniqueid, stint.queue, stint.state)
    stint.settle_due = None
    b.forget(stint)
    b.stop_ringing(stint, at)
    stint.ended_at = stint.left_at
    decided = unanswered_outcome(stint.exit_status, stint.abandoned, stint.hung_up,
                                 _no_member_free(b, stint.queue))
    stint.end_reason = decided.end_reason
    return [record(stint, decided.outcome)]


def _no_member_free(b: Books, queue: str) -> bool:
    """Whether the queue's members are known and none could take a call: each paused or
    unavailable."""
    members = [m for a in b.roster.agents.values() if (m := a.memberships.get(queue)) is not None]
    return bool(members) and not any(m.can_take_calls for m in members)


def shut_down(b: Books, stint: Stint, at: float) -> list[Fact]:
    """Asterisk stopped while the caller waited: the PBX ended the stint, seen at ``at``."""
    if not move(STINT, stint, PbxShutdown):
        return refusal(PbxShutdown, at, stint.uniqueid, stint.queue, stint.state)
    b.forget(stint)
    b.stop_ringing(stint, at)
    stint.settle_due = None
    stint.ended_at = stint.hung_up_at if stint.hung_up is HungUp.SHUTDOWN else at
    decided = unanswered_outcome(None, True, HungUp.SHUTDOWN, False)
    stint.end_reason = decided.end_reason
    return [record(stint, decided.outcome)]


def lose(b: Books, stint: Stint, cue: Input, at: float) -> list[Fact]:
    """The stint's end was not seen: keep what was observed, claim nothing else.

    An answered caller stays answered: only how the call went on is unknown.
    """
    was = stint.state
    if not move(STINT, stint, cue):
        return refusal(cue, at, stint.uniqueid, stint.queue, was)
    b.forget(stint)
    b.stop_ringing(stint, at)
    agent = b.roster.find(stint.interface)
    if agent is not None and was is StintState.CONNECTED:
        agent.call_queue = None
        agent.on_hold = False
        b.roster.touch(agent, at)
    facts = hold.end(stint, Lost, at)
    if stint.gap_s:
        # how it went on may still come: an AgentComplete after the gap tells
        b.lost[(stint.uniqueid, stint.queue)] = stint
    outcome = Outcome.ANSWERED if stint.answered_at is not None else Outcome.UNKNOWN
    facts.append(record(stint, outcome, Phase.DONE))
    return facts
