"""Tiny hand-made call records and agent intervals for the KPI tests."""

from __future__ import annotations

import itertools

from collector.facts import AcwSource, AgentInterval, AgentState, CallRecord, EndReason, Outcome

_ids = itertools.count(1)


def answered(entered: float = 0.0, wait: float = 10.0, talk: float = 60.0, hold: float = 0.0,
             acw: float = 0.0, *, queue: str = "support", num: str = "5550100",
             agent: str = "PJSIP/201", holds: int | None = None, transferred: bool = False,
             linkedid: str | None = None) -> CallRecord:
    """A call answered after ``wait`` seconds, talked, held and wrapped up."""
    uid = f"c{next(_ids)}"
    answered_at = entered + wait
    ended_at = answered_at + talk + hold
    return CallRecord(
        uniqueid=uid, linkedid=linkedid or uid, queue=queue, caller_num=num,
        caller_name="Caller", entered_at=entered, answered_at=answered_at, ended_at=ended_at,
        outcome=Outcome.ANSWERED, agent=agent.rsplit("/", 1)[-1], agent_interface=agent,
        wait_s=wait, talk_s=talk, hold_s=hold,
        hold_count=(1 if hold > 0 else 0) if holds is None else holds,
        acw_s=acw, acw_source=AcwSource.PAUSE if acw else AcwSource.NONE,
        handle_s=talk + hold + acw, ring_attempts=1, ring_noanswer=0,
        transferred=int(transferred), transfer_to="700" if transferred else None,
        end_reason=EndReason.TRANSFER if transferred else EndReason.AGENT,
        position_entered=1, position_left=1,
    )


def unanswered(entered: float = 0.0, wait: float = 30.0,
               outcome: Outcome = Outcome.ABANDONED, *, queue: str = "support",
               num: str = "5550100") -> CallRecord:
    """A call that left the queue without an agent after ``wait`` seconds."""
    uid = f"c{next(_ids)}"
    return CallRecord(
        uniqueid=uid, linkedid=uid, queue=queue, caller_num=num, caller_name="Caller",
        entered_at=entered, answered_at=None, ended_at=entered + wait, outcome=outcome,
        agent=None, agent_interface=None, wait_s=wait, talk_s=None, hold_s=None, hold_count=0,
        acw_s=None, acw_source=AcwSource.NONE, handle_s=None, ring_attempts=0,
        ring_noanswer=0, transferred=0, transfer_to=None, end_reason=None,
        position_entered=1, position_left=1,
    )


def interval(state: AgentState, start: float, end: float | None, *,
             agent: str = "PJSIP/201", reason: str | None = None,
             queue: str | None = None) -> AgentInterval:
    """An agent state interval."""
    return AgentInterval(agent=agent.rsplit("/", 1)[-1], interface=agent, queue=queue,
                         state=state, reason=reason, started_at=start, ended_at=end)
