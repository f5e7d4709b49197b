"""Hold and transfer: what happens to a connected call between answer and end.

Hold comes from Hold/Unhold on any channel of the bridged call (the agent's phone is
usually not the queue member's Local channel), matched by channel or linkedid; holds on
both legs overlap and count once. A hold on the caller's own channel is the caller's
side holding the agent, kept apart: the agent is still on the call. A Hold on the
answering agent's channel can come a millisecond before AgentConnect; it counts from the
answer.
"""

from __future__ import annotations

from collector.events import AgentConnect, HoldChange, Transfer
from collector.facts import Fact, TransferKind
from collector.states import (
    HOLD,
    HOLD_ON,
    STINT,
    HoldState,
    Input,
    StintState,
    hold_cue,
    move,
    start,
)
from collector.tracker.books import Books, Hold, Stint, refusal


def hold(b: Books, e: HoldChange) -> list[Fact]:
    """Hold or Unhold on a channel of a connected call, or of a caller being answered."""
    stint = b.connected(e.uniqueid) or b.connected(b.by_linkedid.get(e.linkedid, ""))
    if stint is None:
        return _before_the_answer(b, e)
    if stint.hold is None or stint.caller_hold is None:
        return []
    if not move(STINT, stint, HoldChange):
        return refusal(HoldChange, e.at, stint.uniqueid, stint.queue, stint.state)
    side = stint.caller_hold if e.uniqueid == stint.uniqueid else stint.hold
    facts = change(side, stint, hold_cue(e.on_hold, side.legs, e.uniqueid), e.uniqueid, e.at)
    agent = b.roster.find(stint.interface)
    if agent is not None:
        agent.on_hold = stint.hold.state is HoldState.HELD
        b.roster.touch(agent, e.at)
    return facts


def _before_the_answer(b: Books, e: HoldChange) -> list[Fact]:
    """A Hold on a rung agent's channel (or another of the caller's conversation) before
    AgentConnect: kept until the answer says whose it was."""
    for stint in b.stints.values():
        if stint.state in (StintState.WAITING, StintState.LEFT) and e.uniqueid != stint.uniqueid \
                and (e.uniqueid in stint.rung or e.linkedid == stint.linkedid):
            if not move(STINT, stint, HoldChange):
                return refusal(HoldChange, e.at, stint.uniqueid, stint.queue, stint.state)
            if e.on_hold:
                stint.early_holds[e.uniqueid] = e.at
            else:
                stint.early_holds.pop(e.uniqueid, None)
            return []
    return []


def answered(stint: Stint, agent_channel: str | None, at: float) -> None:
    """The call is answered at ``at``: its holds begin, those held a moment ago included."""
    stint.hold = Hold(start(HOLD, AgentConnect))
    stint.caller_hold = Hold(start(HOLD, AgentConnect))
    for leg in stint.early_holds:
        # a hold on another member's rung channel is not this call's
        if leg == agent_channel or leg not in stint.rung:
            change(stint.hold, stint, HOLD_ON, leg, at)
    stint.early_holds.clear()


def change(hold: Hold, stint: Stint, cue: Input, leg: str, at: float) -> list[Fact]:
    """Move one side's hold on ``cue`` (about channel ``leg``) and account for its time."""
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


def end(stint: Stint, cue: Input, at: float) -> list[Fact]:
    """The call ended (``cue``): a hold still open on either side closes there."""
    facts: list[Fact] = []
    for side in (stint.hold, stint.caller_hold):
        if side is not None:
            facts += change(side, stint, cue, "", at)
    return facts


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
    stint.transfer_kind = TransferKind.ATTENDED if e.attended else TransferKind.BLIND
    stint.transfer_party = e.party or None
    return []
