"""After-call work: measured from the call's end until the agent's next move says it ended.

Its end is known only later: an ACW pause taken within the pause window claims the time
until the agent unpauses; otherwise the queue's wrapuptime is the after-call work, cut
short when the agent takes its next call first. :data:`collector.states.ACW` has the
moves, :func:`collector.states.acw_result` what the record says.
"""

from __future__ import annotations

from collector.agents import Agent
from collector.events import AgentComplete
from collector.facts import Fact, Outcome, Phase
from collector.states import (
    ACW,
    PAUSED_DURING_CALL,
    REMOVED,
    STINT,
    WRAPUP_RUNS_ON,
    AcwDue,
    AcwEnded,
    AcwState,
    Input,
    acw_result,
    due_cue,
    move,
    pause_cue,
    start,
)
from collector.tracker.books import AfterCallWork, Books, Stint, refusal
from collector.tracker.records import record


def begin(b: Books, agent: Agent, stint: Stint, at: float) -> None:
    """The agent finished ``stint``'s call at ``at``: its after-call work starts."""
    membership = agent.memberships.get(stint.queue)
    paused = membership is not None and membership.paused and b.is_acw_pause(membership.reason)
    work = AfterCallWork(
        stint=stint,
        started_at=at,
        wrapup_s=_wrapuptime(b, agent, stint.queue),
        state=start(ACW, PAUSED_DURING_CALL if paused else AgentComplete),
    )
    if work.state is AcwState.WINDOW:
        _expect(b, work, AcwDue(agent.interface, at + b.config.acw_pause_window_s))
    b.acw[agent.interface] = work
    # in a queue without wrapuptime the agent is in after-call work only once an ACW
    # pause says so: most calls have none
    if work.state is AcwState.PAUSED or work.wrapup_s > 0:
        agent.acw_queue = stint.queue


def _wrapuptime(b: Books, agent: Agent, queue: str) -> float:
    membership = agent.memberships.get(queue)
    if membership is not None and membership.wrapuptime:
        return membership.wrapuptime
    return b.config.wrapuptime.get(queue, 0.0)


def _expect(b: Books, work: AfterCallWork, due: AcwDue) -> None:
    work.due = due
    b.schedule(due)


def due(b: Books, d: AcwDue) -> list[Fact]:
    """The pause window closed, or the wrapuptime ran out."""
    work = b.acw[d.interface]
    cue = due_cue(work.started_at, work.wrapup_s, d.at)
    return step(b, b.roster.agents[d.interface], work, cue, d.at)


def moved_on(b: Books, agent: Agent, cue: Input, at: float) -> list[Fact]:
    """The agent moved on (its next call rang, was answered or ended): its ACW ends."""
    work = b.acw.get(agent.interface)
    if work is None:
        return []
    return step(b, agent, work, cue, at)


def pause_changed(
    b: Books, agent: Agent, queue: str, paused: bool, reason: str, at: float
) -> list[Fact]:
    """The agent paused or unpaused in ``queue``."""
    work = b.acw.get(agent.interface)
    if work is None or work.stint.queue != queue:
        return []
    return step(b, agent, work, pause_cue(paused, b.is_acw_pause(reason)), at)


def removed(b: Books, agent: Agent, queue: str, at: float) -> list[Fact]:
    """The agent left ``queue``."""
    work = b.acw.get(agent.interface)
    if work is None or work.stint.queue != queue:
        return []
    return step(b, agent, work, REMOVED, at)


def step(b: Books, agent: Agent, work: AfterCallWork, cue: Input, at: float) -> list[Fact]:
    """Move the after-call work on ``cue`` at ``at``; record the call once it is done."""
    was = work.state
    if not move(ACW, work, cue):
        return refusal(cue, at, work.stint.uniqueid, work.stint.queue, was)
    if work.state is AcwState.DONE:
        return _done(b, agent, work, was, cue, at)
    if cue == WRAPUP_RUNS_ON:
        _expect(b, work, AcwDue(agent.interface, work.started_at + work.wrapup_s))
    elif work.state is AcwState.PAUSED:
        work.due = None
        agent.acw_queue = work.stint.queue
    return []


def _done(
    b: Books, agent: Agent, work: AfterCallWork, was: AcwState, cue: Input, at: float
) -> list[Fact]:
    del b.acw[agent.interface]
    result = acw_result(was, cue, work.started_at, work.wrapup_s, at, unseen=work.unseen)
    agent.acw_queue = None
    facts: list[Fact] = []
    if result.ended_at < at:
        # the wrapuptime ran out before the event that showed it: the agent's ACW ended then
        facts += b.roster.derive_now(agent, result.ended_at)
    else:
        b.roster.touch(agent, result.ended_at)
    stint = work.stint
    if not move(STINT, stint, AcwEnded):
        return [*facts, *refusal(AcwEnded, at, stint.uniqueid, stint.queue, stint.state)]
    facts.append(record(stint, Outcome.ANSWERED, Phase.DONE, (result.seconds, result.source)))
    return facts
