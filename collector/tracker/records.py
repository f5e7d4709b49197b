"""A stint's call record, built from what was observed of it and nothing else."""

from __future__ import annotations

from collector.facts import AcwSource, CallRecord, Outcome, span
from collector.tracker.books import Stint


def record(
    stint: Stint,
    outcome: Outcome,
    wait_s: float | None,
    acw: tuple[float | None, AcwSource] = (0.0, AcwSource.NONE),
    observed_end: bool = True,
) -> CallRecord:
    """The record of a stint that ended (``observed_end``) or whose end was not seen.

    Talk is the connected span less hold; handle is talk + hold + ACW, and unknown as
    soon as one of them is.
    """
    answered = stint.answered_at is not None
    hold = stint.hold
    connected = span(stint.answered_at, stint.ended_at) if observed_end else None
    hold_s: float | None = (hold.seconds if hold else 0.0) if answered and observed_end else None
    talk_s = connected - hold_s if connected is not None and hold_s is not None else None
    if talk_s is not None and talk_s < 0:
        talk_s = None
    acw_s, acw_source = acw if answered else (None, AcwSource.NONE)
    parts = (talk_s, hold_s, acw_s)
    handle_s = sum(p for p in parts if p is not None) if None not in parts else None
    return CallRecord(
        uniqueid=stint.uniqueid,
        linkedid=stint.linkedid,
        queue=stint.queue,
        caller_num=stint.caller_num,
        caller_name=stint.caller_name,
        entered_at=stint.entered_at,
        answered_at=stint.answered_at,
        ended_at=stint.ended_at if observed_end else None,
        outcome=outcome,
        agent=stint.agent,
        agent_interface=stint.interface,
        wait_s=wait_s,
        talk_s=talk_s,
        hold_s=hold_s,
        hold_count=hold.count if hold else 0,
        acw_s=acw_s,
        acw_source=acw_source,
        handle_s=handle_s,
        ring_attempts=stint.ring_attempts,
        ring_noanswer=stint.ring_noanswer,
        transferred=1 if stint.transfer_to is not None else 0,
        transfer_to=stint.transfer_to,
        end_reason=stint.end_reason,
        position_entered=stint.position_entered,
        position_left=stint.position_left,
    )
