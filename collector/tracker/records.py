"""A stint's call record, built from what was observed of it and nothing else."""

from __future__ import annotations

from collector.events import QueueApp
from collector.facts import AcwSource, CallRecord, Outcome, Phase, span
from collector.tracker.books import Hold, Stint

NO_ACW: tuple[float | None, AcwSource] = (None, AcwSource.NONE)
"""The after-call work of a record that has none yet (or whose work was not seen)."""


def _held(hold: Hold | None) -> float:
    return hold.seconds if hold is not None else 0.0


def record(
    stint: Stint,
    outcome: Outcome,
    phase: Phase = Phase.DONE,
    acw: tuple[float | None, AcwSource] = NO_ACW,
) -> CallRecord:
    """The record of a stint as far as it has got (``phase``).

    Wait runs from the entry to the answer, or to leaving the queue; talk is the
    connected span less the agent's hold, once the call's end was seen (``ended_at``);
    handle is talk + hold + ACW, and unknown as soon as one of them is.
    """
    answered = stint.answered_at is not None
    ended = stint.ended_at is not None
    wait_s = span(stint.entered_at, stint.answered_at if answered else stint.ended_at)
    connected = span(stint.answered_at, stint.ended_at)
    # a gap during the call hid any hold in it: talk is then the connected time, hold
    # included, as for queue_log's rows
    held = answered and ended and not stint.unseen
    hold_s = _held(stint.hold) if held else None
    talk_s = connected - (hold_s or 0.0) if connected is not None else None
    if talk_s is not None and talk_s < 0:
        talk_s = None
    acw_s, acw_source = acw if answered else NO_ACW
    parts = (talk_s, hold_s, acw_s) if held or not stint.unseen else (talk_s, acw_s)
    handle_s = sum(p for p in parts if p is not None) if None not in parts else None
    return CallRecord(
        uniqueid=stint.uniqueid,
        linkedid=stint.linkedid,
        queue=stint.queue,
        caller_num=stint.caller_num,
        caller_name=stint.caller_name,
        entered_at=stint.entered_at,
        answered_at=stint.answered_at,
        ended_at=stint.ended_at,
        outcome=outcome,
        agent=stint.agent,
        agent_interface=stint.interface,
        wait_s=wait_s,
        talk_s=talk_s,
        hold_s=hold_s,
        hold_count=stint.hold.count if stint.hold else 0,
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
        phase=phase,
        caller_hold_s=_held(stint.caller_hold) if held else None,
        transfer_kind=stint.transfer_kind,
        transfer_party=stint.transfer_party,
        gap_s=stint.gap_s,
    )


def turned_away(e: QueueApp, at: float) -> CallRecord:
    """The record of a caller ``joinempty`` kept out of the queue at ``at``: sent to it by
    the dialplan, never in it, so never offered and with no wait."""
    return CallRecord(
        uniqueid=e.uniqueid, linkedid=e.linkedid, queue=e.queue, caller_num=e.caller_num,
        caller_name=e.caller_name, entered_at=e.at, answered_at=None, ended_at=at,
        outcome=Outcome.TURNED_AWAY, agent=None, agent_interface=None, wait_s=None,
        talk_s=None, hold_s=None, hold_count=0, acw_s=None, acw_source=AcwSource.NONE,
        handle_s=None, ring_attempts=0, ring_noanswer=0, transferred=0, transfer_to=None,
        end_reason=None, position_entered=None, position_left=None,
    )
