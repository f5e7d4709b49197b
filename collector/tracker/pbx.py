"""The PBX and the connection: restarts, shutdowns and gaps in the stream.

A call whose end was not seen (a restart, a lost connection) is closed as ``unknown``
with only the timings that were observed.
"""

from __future__ import annotations

from collector.events import PbxBooted, PbxShutdown, StreamGap
from collector.facts import Fact, Gap
from collector.states import GAP_TOLERATED_S, UNCONFIRMED_S, GapDue, HungUp, Lost, StintState
from collector.tracker import acw, answering, callers, dials
from collector.tracker.books import Books, anomaly

# FullyBooted's uptime is in whole seconds and arrives a moment after the boot it counts
_SAME_BOOT_S = 5.0


def booted(b: Books, e: PbxBooted) -> list[Fact]:
    """FullyBooted: at login, or after Asterisk started again (then everything ended)."""
    if e.uptime is None:
        return []
    boot_at = e.at - e.uptime
    restarted = b.boot_at is not None and boot_at > b.boot_at + _SAME_BOOT_S
    b.boot_at = boot_at
    if not restarted:
        return []
    return anomaly(e.at, "pbx_restarted", None, f"booted {e.uptime:.0f}s ago") + (
        close_everything(b)
    )


def restarted(b: Books, at: float) -> list[Fact]:
    """Asterisk started again at ``at`` without its end being seen: whatever was open
    ended unseen, and its members are gone until they are seen again."""
    facts = close_everything(b)
    _members_gone(b, at)
    return facts


def _members_gone(b: Books, at: float) -> None:
    for agent in b.roster.agents.values():
        agent.memberships.clear()
        b.roster.touch(agent, at)


def shutdown(b: Books, e: PbxShutdown) -> list[Fact]:
    """Asterisk is stopping: it ends every call and drops every waiting caller, and its
    members are gone until it is back.

    A call still connected was cut, at the shutdown's hang-up of its channels if one was
    seen; a caller still waiting was dropped by the PBX (neither answered nor given up).
    """
    facts: list[Fact] = []
    for stint in list(b.stints.values()):
        at = stint.hung_up_at if stint.hung_up is HungUp.SHUTDOWN else None
        if stint.state is StintState.CONNECTED:
            facts += answering.cut(b, stint, at or e.at)
        elif stint.state is StintState.WAITING:
            facts += callers.shut_down(b, stint, e.at)
        elif stint.state is StintState.LEFT:
            facts += callers.settle(b, stint, e.at, PbxShutdown)
    facts += close_everything(b)
    _members_gone(b, e.at)
    return facts


def gap(b: Books, e: StreamGap) -> list[Fact]:
    """Events between ``since`` and ``at`` were lost: a :class:`~collector.facts.Gap` fact
    says so (what a queue_log backfill reads), and a ``stream_gap`` anomaly.

    What the agents did then is unknown; every call open then has that much unseen
    (``gap_s``), and, unless the gap was short (:data:`~collector.states.GAP_TOLERATED_S`),
    its hold and after-call work can no longer be told; and the stints open
    then wait for a sign of life: the QueueStatus answer that follows a reconnection
    (:func:`collector.tracker.members.snapshot_end`), an event naming them, or, when none
    comes, :data:`~collector.states.UNCONFIRMED_S` (:func:`unconfirmed`).
    """
    since, at = min(e.since, e.at), e.at
    unseen = at - since
    hides = unseen > GAP_TOLERATED_S
    facts: list[Fact] = [Gap(since, at)]
    facts += anomaly(at, "stream_gap", None, f"{unseen:.3f}s")
    facts += b.roster.unseen(since, at)
    for stint in b.stints.values():
        stint.gap_s += unseen
        stint.unseen = stint.unseen or (hides and stint.state is StintState.CONNECTED)
    for work in b.acw.values():
        work.stint.gap_s += unseen
        work.unseen = work.unseen or hides
    b.gap_until, b.gap_s = at, unseen
    b.unconfirmed = set(b.stints)
    b.confirm_due = GapDue(at + UNCONFIRMED_S) if b.unconfirmed else None
    if b.confirm_due is not None:
        b.schedule(b.confirm_due)
    return facts


def unconfirmed(b: Books, due: GapDue) -> list[Fact]:
    """Long after a gap, the stints open then that nothing showed alive ended in it."""
    b.confirm_due = None
    facts: list[Fact] = []
    for uniqueid in sorted(b.unconfirmed):
        stint = b.stints.get(uniqueid)
        if stint is not None:
            facts += callers.lose(b, stint, Lost, due.at)
    b.unconfirmed.clear()
    return facts


def close_everything(b: Books) -> list[Fact]:
    """Nothing open will be seen to end: decide what can be decided, close the rest."""
    facts: list[Fact] = []
    for stint in list(b.stints.values()):
        if stint.state is StintState.LEFT:
            facts += callers.settle(b, stint, b.now)
        else:
            facts += callers.lose(b, stint, Lost, b.now)
    for interface, work in list(b.acw.items()):
        facts += acw.step(b, b.roster.agents[interface], work, Lost, b.now)
    facts += dials.close_all(b)
    b.ringing.clear()
    for agent in b.roster.agents.values():
        agent.ringing.clear()
        agent.call_queue = None
        agent.on_hold = False
        b.roster.touch(agent, b.now)
    return facts
