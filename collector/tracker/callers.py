"""Callers: a stint begins, gathers evidence while it waits, and ends without an agent.

The evidence (QueueCallerAbandon, a hang-up request, the QUEUESTATUS VarSet) is kept as
it comes; :func:`collector.states.unanswered_outcome` decides from it once the stint has
left the waiting list and no AgentConnect followed.
"""

from __future__ import annotations

from collector.events import (
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Hangup,
    QueueEntry,
    QueueStatusVar,
)
from collector.facts import AcwSource, Fact, Outcome, span
from collector.states import (
    STINT,
    Input,
    Lost,
    SettleDue,
    StintState,
    move,
    settles_now,
    start,
    unanswered_outcome,
)
from collector.tracker import hold
from collector.tracker.books import Books, Stint, anomaly, refusal
from collector.tracker.records import record


def join(b: Books, e: CallerJoin) -> list[Fact]:
    """QueueCallerJoin: a stint begins (and an open one of the same caller ends unseen)."""
    facts: list[Fact] = []
    old = b.stints.get(e.uniqueid)
    if old is not None:
        # the same queue: the stint decides (a duplicate while it waits); another queue:
        # the caller left the first one where we could not see it
        cue: Input = CallerJoin if old.queue == e.queue else Lost
        if cue is CallerJoin and STINT.next(old.state, cue) is None:
            return refusal(cue, e.at, e.uniqueid, e.queue, old.state)
        facts += anomaly(e.at, "join_while_in_queue", e.uniqueid, old.queue)
        facts += lose(b, old, cue, b.now)
    begin(b, e, e.at, e.position)
    return facts


def begin(b: Books, e: CallerJoin | QueueEntry, entered_at: float, position: int | None) -> None:
    """A stint begins: the caller joined, or a QueueStatus answer shows it waiting."""
    replaced = b.stints.get(e.uniqueid)
    if replaced is not None:
        b.unlink(replaced)
    b.stint_linkedids[e.linkedid] += 1
    b.stints[e.uniqueid] = Stint(
        uniqueid=e.uniqueid,
        linkedid=e.linkedid,
        queue=e.queue,
        caller_num=e.caller_num,
        caller_name=e.caller_name,
        entered_at=entered_at,
        position_entered=position,
        state=start(STINT, type(e)),
    )


def abandon(b: Books, e: CallerAbandon) -> list[Fact]:
    """QueueCallerAbandon: app_queue gave up on the caller (hang-up, timeout, empty queue)."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is None or not move(STINT, stint, CallerAbandon):
        return refusal(CallerAbandon, e.at, e.uniqueid, e.queue, stint.state if stint else None)
    stint.abandoned = True
    stint.position_left = e.position
    return _settle_if_conclusive(b, stint, e.at)


def hangup(b: Books, e: Hangup) -> list[Fact]:
    """A hang-up (or its request) on a caller's channel: evidence the caller gave up."""
    return _evidence(b, e.uniqueid, Hangup, e.at, hung_up=True)


def exit_status(b: Books, e: QueueStatusVar) -> list[Fact]:
    """The QUEUESTATUS VarSet: why app_queue let a caller go."""
    return _evidence(b, e.uniqueid, QueueStatusVar, e.at, status=e.value.strip().upper())


def _evidence(
    b: Books, uniqueid: str, cue: Input, at: float, hung_up: bool = False,
    status: str | None = None,
) -> list[Fact]:
    """Keep what a channel event says about a caller; nothing when it is not one."""
    stint = b.stints.get(uniqueid)
    if stint is None:
        return []
    if not move(STINT, stint, cue):
        return refusal(cue, at, uniqueid, stint.queue, stint.state)
    stint.hung_up = stint.hung_up or hung_up
    if status is not None:
        stint.exit_status = status
    return _settle_if_conclusive(b, stint, at)


def leave(b: Books, e: CallerLeave) -> list[Fact]:
    """QueueCallerLeave: the caller left the waiting list, answered or not (not known yet)."""
    stint = b.stint(e.uniqueid, e.queue)
    if stint is None or not move(STINT, stint, CallerLeave):
        return refusal(CallerLeave, e.at, e.uniqueid, e.queue, stint.state if stint else None)
    stint.left_at = e.at
    stint.position_left = e.position
    if _conclusive(stint):
        return settle(b, stint, e.at)
    stint.settle_due = SettleDue(stint.uniqueid, e.at + b.config.settle_s)
    b.schedule(stint.settle_due)
    return []


def _conclusive(stint: Stint) -> bool:
    return settles_now(stint.exit_status, stint.abandoned, stint.hung_up)


def _settle_if_conclusive(b: Books, stint: Stint, at: float) -> list[Fact]:
    if stint.state is StintState.LEFT and _conclusive(stint):
        return settle(b, stint, at)
    return []


def settle(b: Books, stint: Stint, at: float) -> list[Fact]:
    """A caller left the waiting list without an agent: decide how, and record it."""
    if not move(STINT, stint, SettleDue):
        return refusal(SettleDue, at, stint.uniqueid, stint.queue, stint.state)
    stint.settle_due = None
    b.forget(stint)
    b.stop_ringing(stint, at)
    stint.ended_at = stint.left_at
    outcome = unanswered_outcome(stint.exit_status, stint.abandoned, stint.hung_up)
    return [record(stint, outcome, span(stint.entered_at, stint.ended_at))]


def lose(b: Books, stint: Stint, cue: Input, at: float) -> list[Fact]:
    """The stint's end was not seen: keep what was observed, claim nothing else."""
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
    facts = hold.change(stint, Lost, "", at)
    wait = span(stint.entered_at, stint.answered_at)
    facts.append(record(stint, Outcome.UNKNOWN, wait, (None, AcwSource.NONE), observed_end=False))
    return facts
