"""A collector started again after it was killed: the stints its last run left open.

The store keeps what a run needs to follow them on (:mod:`collector.store.reads`): the
callers waiting (``waiting_callers``) and the answered calls whose record is not final
(``phase`` talking or wrapup). Each comes back as a :class:`~collector.events.StintResumed`;
the gap since the last run's last moment, and the QueueStatus answer after it, decide
the rest as for any gap (:func:`collector.tracker.pbx.gap`): still listed, the stint goes
on; gone, it ended unseen.
"""

from __future__ import annotations

from dataclasses import replace

from collector.events import StintResumed
from collector.facts import CallRecord, Fact, Phase, WaitingCaller
from collector.states import RESUMED_TALKING, RESUMED_WAITING, STINT, Input, start
from collector.tracker.books import Books, Stint, anomaly


def resumed(b: Books, e: StintResumed) -> list[Fact]:
    """Follow on a stint of the last run: waiting, or talking; a call that was in its
    after-call work is final now, that work not seen to end (``acw_s`` NULL)."""
    stored = e.stored
    if stored.uniqueid in b.stints:
        return anomaly(e.at, "resumed_twice", stored.uniqueid, stored.queue)
    if isinstance(stored, WaitingCaller):
        b.follow(_stint(stored, RESUMED_WAITING))
        return []
    if stored.phase is Phase.WRAPUP:
        return [replace(stored, phase=Phase.DONE, acw_s=None, handle_s=None)]
    stint = b.follow(_talking(stored))
    b.by_linkedid[stint.linkedid] = stint.uniqueid
    if stint.interface is not None:
        agent = b.roster.get(stint.interface, stint.agent or stint.interface)
        agent.call_queue = stint.queue
        b.roster.touch(agent, e.at)
    return []


def _stint(stored: CallRecord | WaitingCaller, cue: Input) -> Stint:
    return Stint(
        uniqueid=stored.uniqueid,
        linkedid=stored.linkedid,
        queue=stored.queue,
        caller_num=stored.caller_num,
        caller_name=stored.caller_name,
        entered_at=stored.entered_at,
        position_entered=stored.position_entered,
        state=start(STINT, cue),
    )


def _talking(stored: CallRecord) -> Stint:
    stint = _stint(stored, RESUMED_TALKING)
    stint.answered_at = stored.answered_at
    stint.interface = stored.agent_interface
    stint.agent = stored.agent
    stint.ring_attempts, stint.ring_noanswer = stored.ring_attempts, stored.ring_noanswer
    stint.position_left = stored.position_left
    stint.transfer_to, stint.transfer_kind = stored.transfer_to, stored.transfer_kind
    stint.transfer_party = stored.transfer_party
    stint.gap_s = stored.gap_s
    # its holds so far were in the last run's memory only
    stint.unseen = True
    return stint
