"""Hold and transfer: what happens to a connected call between answer and end.

Hold comes from Hold/Unhold on any channel of the bridged call (the agent's phone is
usually not the queue member's Local channel), matched by channel or linkedid; holds on
both legs overlap and count once.
"""

from __future__ import annotations

from collector.events import HoldChange, Transfer
from collector.facts import Fact
from collector.states import HOLD, HOLD_ON, STINT, HoldState, Input, hold_cue, move
from collector.tracker.books import Books, Stint, refusal


def hold(b: Books, e: HoldChange) -> list[Fact]:
    """Hold or Unhold on a channel of a connected call."""
    stint = b.connected(e.uniqueid) or b.connected(b.by_linkedid.get(e.linkedid, ""))
    if stint is None or stint.hold is None:
        return []
    if not move(STINT, stint, HoldChange):
        return refusal(HoldChange, e.at, stint.uniqueid, stint.queue, stint.state)
    facts = change(stint, hold_cue(e.on_hold, stint.hold.legs, e.uniqueid), e.uniqueid, e.at)
    agent = b.roster.find(stint.interface)
    if agent is not None:
        agent.on_hold = stint.hold.state is HoldState.HELD
        b.roster.touch(agent, e.at)
    return facts


def change(stint: Stint, cue: Input, leg: str, at: float) -> list[Fact]:
    """Move the stint's hold on ``cue`` (about channel ``leg``) and account for its time."""
    hold = stint.hold
    if hold is None:
        return []
    was = hold.state
    if not move(HOLD, hold, cue):
        return refusal(cue, at, stint.uniqueid, stint.queue, was)
    if cue == HOLD_ON:
        hold.legs.add(leg)
    else:
        hold.legs.discard(leg)
    if was is HoldState.TALKING and hold.state is HoldState.HELD:
        hold.started_at = at
        hold.count += 1
    elif was is HoldState.HELD and hold.state is HoldState.TALKING:
        if hold.started_at is not None:
            hold.seconds += max(0.0, at - hold.started_at)
        hold.started_at = None
        hold.legs.clear()
    return []


def transfer(b: Books, e: Transfer) -> list[Fact]:
    """A blind or attended transfer that moved a connected caller away from its agent."""
    if not e.success:
        return []
    stint = b.connected(e.transferee_uniqueid, e.transferer_uniqueid) or b.connected(
        b.by_linkedid.get(e.transferer_linkedid, "")
    )
    if stint is None:
        return []
    if not move(STINT, stint, Transfer):
        return refusal(Transfer, e.at, stint.uniqueid, stint.queue, stint.state)
    stint.transfer_to = e.target or stint.transfer_to
    return []
