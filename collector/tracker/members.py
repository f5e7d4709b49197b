"""Queue members and QueueStatus answers.

Member events change what is known about an agent (memberships, pauses, wrapuptime,
in-call). A QueueStatus answer (QueueParams, QueueMember and QueueEntry lines, then
QueueStatusComplete) is also a check: after a reconnection it shows what ended while we
were not looking, and a stint or membership it no longer lists is closed.
"""

from __future__ import annotations

from collector.agents import Agent, Membership
from collector.events import MemberChange, MemberUpdate, QueueEntry, QueueParams, SnapshotEnd
from collector.facts import Fact
from collector.live import LiveQueue
from collector.states import STINT, Lost, StintState, move
from collector.tracker import acw, callers
from collector.tracker.books import Books, Snapshot, Stint, TrackerConfig, anomaly, refusal


def member(b: Books, e: MemberUpdate) -> list[Fact]:
    """Any QueueMember* event, or a QueueMember line of a QueueStatus answer."""
    agent = b.roster.get(e.interface, e.member_name)
    facts: list[Fact] = []
    if e.change is MemberChange.REMOVED:
        facts += acw.removed(b, agent, e.queue, e.at)
        agent.memberships.pop(e.queue, None)
        b.roster.touch(agent, e.at)
        return facts
    membership = agent.memberships.get(e.queue)
    # most member events (device status) change nothing an agent's state is derived from
    changed = membership is None or agent.current is None
    if membership is None:
        membership = agent.memberships[e.queue] = Membership()
    if e.change is MemberChange.SNAPSHOT:
        b.snapshot.members.setdefault(e.queue, set()).add(e.interface)
    if e.wrapuptime is not None:
        membership.wrapuptime = e.wrapuptime
    if e.in_call is not None:
        membership.in_call = e.in_call
    if e.status is not None:
        membership.status = e.status
    if e.paused is not None and (e.paused, e.reason) != (membership.paused, membership.reason):
        facts += acw.pause_changed(b, agent, e.queue, e.paused, e.reason, e.at)
        membership.paused, membership.reason = e.paused, e.reason if e.paused else ""
        changed = True
    if changed:
        b.roster.touch(agent, e.at)
    return facts


def live_queue(
    config: TrackerConfig, name: str, strategy: str = "", service_level: int | None = None
) -> LiveQueue:
    """A queue's settings: what the PBX reported, completed by the configuration."""
    return LiveQueue(name, strategy, service_level, config.wrapuptime.get(name, 0.0))


def queue_params(b: Books, e: QueueParams) -> list[Fact]:
    """A QueueParams line: a QueueStatus answer begins, or goes on with another queue."""
    if b.snapshot.started_at is None:
        b.snapshot.started_at = e.at
    b.queues[e.queue] = live_queue(b.config, e.queue, e.strategy, e.service_level)
    b.snapshot.members.setdefault(e.queue, set())
    return []


def queue_entry(b: Books, e: QueueEntry) -> list[Fact]:
    """A QueueEntry line: a caller waiting now, maybe one that joined before we looked."""
    b.snapshot.entries.add(e.uniqueid)
    stint = b.stints.get(e.uniqueid)
    if stint is not None:
        if not move(STINT, stint, QueueEntry):
            return refusal(QueueEntry, e.at, e.uniqueid, e.queue, stint.state)
        return []
    if e.wait is None:
        return anomaly(e.at, "entry_without_wait", e.uniqueid, e.queue)
    if b.was_recorded(e.uniqueid, e.queue, e.at - e.wait):
        # a stint already recorded is not begun again (its entry to the second)
        return refusal(QueueEntry, e.at, e.uniqueid, e.queue, StintState.ENDED)
    return callers.begin(b, e, e.at - e.wait, None)


def snapshot_end(b: Books, e: SnapshotEnd) -> list[Fact]:
    """QueueStatusComplete: what the answer did not list has ended while we looked away."""
    snapshot = b.snapshot
    started = snapshot.started_at if snapshot.started_at is not None else e.at
    queues = set(snapshot.members)
    facts: list[Fact] = []
    for stint in list(b.stints.values()):
        if stint.queue in queues and stint.entered_at < started and _gone(b, snapshot, stint):
            facts += callers.lose(b, stint, Lost, b.now)
    for agent in b.roster.agents.values():
        for queue in queues & set(agent.memberships):
            if agent.interface not in snapshot.members[queue]:
                del agent.memberships[queue]
        _on_a_call_unseen(b, agent)
        b.roster.touch(agent, e.at)
    b.snapshot = Snapshot()
    # the answer told about every stint open at the last gap
    b.unconfirmed.clear()
    b.confirm_due = None
    return facts


def _on_a_call_unseen(b: Books, agent: Agent) -> None:
    """A member the answer shows in a call no stint knows of (answered in a gap) is on
    that call until its AgentComplete; a member in no known call and shown in none is on
    none."""
    if any(s.state is StintState.CONNECTED and s.interface == agent.interface
           for s in b.stints.values()):
        return
    busy = [q for q, m in agent.memberships.items() if m.in_call]
    agent.call_queue = busy[0] if busy else None


def _gone(b: Books, snapshot: Snapshot, stint: Stint) -> bool:
    """Whether a QueueStatus answer shows that a stint it should list has ended."""
    if stint.state is StintState.WAITING:
        return stint.uniqueid not in snapshot.entries
    if stint.state is StintState.CONNECTED:
        # a member removed from the queue mid-call is listed no more, and its call goes
        # on; InCall is the queue's own (another queue lists the member as not in a call)
        agent = b.roster.find(stint.interface)
        membership = agent.memberships.get(stint.queue) if agent else None
        listed = agent is not None and agent.interface in snapshot.members.get(stint.queue, ())
        return listed and membership is not None and membership.in_call is False
    return False
