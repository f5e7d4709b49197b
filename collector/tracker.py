"""The call tracker: normalized events in, call records and agent intervals out.

Pure: no I/O, no clock, no logging. Time is whatever the events say; the tracker's "now"
is the latest event time it has seen, and rules that wait for time to pass (after-call
work, the moment after a caller left the waiting list) fire when a later event, or a
:class:`~collector.events.Tick` from the shell, shows that time has passed.

The rules that matter, and why:

* wait is QueueCallerJoin to AgentConnect (or to leaving); the ``HoldTime`` field of
  AgentConnect/AgentComplete is that same wait, not hold, and is never used as a timing;
* hold comes from Hold/Unhold on any channel of the bridged call (the agent's phone is
  usually not the queue member's Local channel), matched by channel or linkedid;
* app_queue sends QueueCallerAbandon for a hang-up *and* for a timeout or an emptied
  queue; only a caller whose channel asked to hang up has abandoned;
* a call whose end was not seen (restart, lost connection) is closed as ``unknown`` with
  only the timings that were observed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.agents import Agent, Membership, Roster
from collector.call_states import CallInput, CallState, next_state
from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Event,
    Hangup,
    HoldChange,
    MemberChange,
    MemberUpdate,
    PbxBooted,
    PbxShutdown,
    QueueEntry,
    QueueParams,
    QueueStatusVar,
    SnapshotEnd,
    StreamGap,
    Tick,
    Transfer,
)
from collector.facts import AcwSource, Anomaly, CallRecord, EndReason, Fact, Outcome
from collector.live import LiveCall, LiveQueue, LiveView

DEFAULT_ACW_REASONS = frozenset({"acw", "wrapup", "wrap-up"})

_EXIT_STATUS = {
    "TIMEOUT": Outcome.TIMEOUT,
    "LEAVEEMPTY": Outcome.EXIT_EMPTY,
    "LEAVEUNAVAIL": Outcome.EXIT_EMPTY,
    "JOINEMPTY": Outcome.EXIT_EMPTY,
    "JOINUNAVAIL": Outcome.EXIT_EMPTY,
}
# Asterisk truncates to whole seconds on both ends of the span it measures
_CROSS_CHECK_S = 2.0
_END_REASON = {"caller": EndReason.CALLER, "agent": EndReason.AGENT, "transfer": EndReason.TRANSFER}


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """What the tracker cannot learn from AMI.

    ``wrapuptime`` maps a queue to its ``wrapuptime`` in queues.conf: no AMI event or
    answer carries a queue's wrapuptime, so it has to come from our own configuration.
    """

    acw_reasons: frozenset[str] = DEFAULT_ACW_REASONS
    acw_pause_window_s: float = 5.0
    wrapuptime: Mapping[str, float] = field(default_factory=dict)
    settle_s: float = 1.0
    agent_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Call:
    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str
    caller_name: str
    entered_at: float
    position_entered: int | None
    state: CallState = CallState.WAITING
    left_at: float | None = None
    position_left: int | None = None
    abandoned_at: float | None = None
    hangup_requested: bool = False
    exit_status: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    interface: str | None = None
    agent: str | None = None
    agent_channel: str | None = None
    holding: set[str] = field(default_factory=set)
    hold_started: float | None = None
    hold_s: float = 0.0
    hold_count: int = 0
    ring_attempts: int = 0
    ring_noanswer: int = 0
    transfer_to: str | None = None
    end_reason: EndReason | None = None


@dataclass(slots=True)
class _Acw:
    """After-call work being measured for the call an agent just finished."""

    call: _Call
    started_at: float
    decide_at: float
    wrapup_s: float
    by_pause: bool = False


def _span(start: float | None, end: float | None) -> float | None:
    """A duration that was observed, or ``None``; never negative."""
    if start is None or end is None or end < start:
        return None
    return end - start


class Tracker:
    """Folds normalized events into call records and agent state intervals."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.now = 0.0
        self._calls: dict[str, _Call] = {}
        self._by_channel: dict[str, str] = {}
        self._by_linkedid: dict[str, str] = {}
        self._ringing: dict[str, set[str]] = {}
        self._roster = Roster(self.config.agent_names)
        self._acw: dict[str, _Acw] = {}
        self._queues: dict[str, LiveQueue] = {}
        self._deadlines: list[tuple[float, int, str, str]] = []
        self._seq = itertools.count()
        self._snapshot_started: float | None = None
        self._snapshot_entries: set[str] = set()
        self._snapshot_members: dict[str, set[str]] = {}
        self._boot_at: float | None = None
        self._handlers = {
            CallerJoin: self._join,
            CallerLeave: self._leave,
            CallerAbandon: self._abandon,
            AgentCalled: self._called,
            AgentRingNoAnswer: self._ring_ended,
            AgentDump: self._ring_ended,
            AgentConnect: self._connect,
            AgentComplete: self._complete,
            MemberUpdate: self._member,
            QueueParams: self._queue_params,
            QueueEntry: self._queue_entry,
            SnapshotEnd: self._snapshot_end,
            HoldChange: self._hold,
            Transfer: self._transfer,
            Hangup: self._hangup,
            QueueStatusVar: self._exit_status,
            PbxBooted: self._booted,
            PbxShutdown: self._shutdown,
            StreamGap: self._gap,
            Tick: self._tick,
        }

    # -- public interface -------------------------------------------------

    def feed(self, event: Event) -> list[Fact]:
        """Apply one event; return the facts it completed, in order."""
        facts = self._expire(event.at)
        self.now = max(self.now, event.at)
        facts.extend(self._handlers[type(event)](event))  # type: ignore[operator]
        return facts

    def finish(self, at: float) -> list[Fact]:
        """The stream has ended at ``at``: close everything, with what was observed."""
        facts = self._expire(at)
        self.now = max(self.now, at)
        # intervals first: what agents did after the last event was not seen
        facts.extend(self._roster.close_all())
        facts.extend(self._close_everything())
        return facts

    def live(self) -> LiveView:
        """What is going on right now, for KPIs and wallboards."""
        calls = tuple(
            LiveCall(
                uniqueid=c.uniqueid,
                queue=c.queue,
                caller_num=c.caller_num,
                caller_name=c.caller_name,
                entered_at=c.entered_at,
                answered_at=c.answered_at,
                agent=c.agent,
                on_hold=c.hold_started is not None,
            )
            for c in self._calls.values()
        )
        queues = {**{q: self._queue(q) for q in self._config_queues()}, **self._queues}
        return LiveView(self.now, calls, self._roster.live(), tuple(queues.values()))

    # -- time ----------------------------------------------------------------

    def _schedule(self, at: float, kind: str, key: str) -> None:
        heapq.heappush(self._deadlines, (at, next(self._seq), kind, key))

    def _expire(self, until: float) -> list[Fact]:
        facts: list[Fact] = []
        while self._deadlines and self._deadlines[0][0] <= until:
            at, _, kind, key = heapq.heappop(self._deadlines)
            if kind == "settle":
                call = self._calls.get(key)
                if (
                    call is not None
                    and call.state is CallState.LEFT
                    and call.left_at is not None
                    and call.left_at + self.config.settle_s <= at
                ):
                    facts.extend(self._settle(call, at))
            else:
                acw = self._acw.get(key)
                if acw is not None and acw.decide_at == at:
                    facts.extend(self._acw_deadline(key, acw, at))
        return facts

    def _tick(self, event: Tick) -> list[Fact]:
        return []

    # -- callers ---------------------------------------------------------------

    def _anomaly(self, at: float, kind: str, uniqueid: str | None, detail: str) -> list[Fact]:
        return [Anomaly(at=at, kind=kind, uniqueid=uniqueid, detail=detail)]

    def _move(self, call: _Call, move: CallInput) -> bool:
        target = next_state(call.state, move)
        if target is None:
            return False
        call.state = target
        return True

    def _join(self, e: CallerJoin) -> list[Fact]:
        facts: list[Fact] = []
        old = self._calls.get(e.uniqueid)
        if old is not None:
            if old.queue == e.queue and old.state is CallState.WAITING:
                return self._anomaly(e.at, "duplicate_join", e.uniqueid, e.queue)
            facts += self._anomaly(e.at, "join_while_in_queue", e.uniqueid, old.queue)
            facts += self._close_unknown(old)
        self._calls[e.uniqueid] = _Call(
            uniqueid=e.uniqueid,
            linkedid=e.linkedid,
            queue=e.queue,
            caller_num=e.caller_num,
            caller_name=e.caller_name,
            entered_at=e.at,
            position_entered=e.position,
        )
        return facts

    def _caller(self, uniqueid: str, queue: str) -> _Call | None:
        call = self._calls.get(uniqueid)
        if call is None or call.queue != queue:
            return None
        return call

    def _abandon(self, e: CallerAbandon) -> list[Fact]:
        call = self._caller(e.uniqueid, e.queue)
        if call is None or not self._move(call, CallInput.ABANDON):
            return self._anomaly(e.at, "abandon_without_waiting_call", e.uniqueid, e.queue)
        call.abandoned_at = e.at
        call.position_left = e.position
        return []

    def _leave(self, e: CallerLeave) -> list[Fact]:
        call = self._caller(e.uniqueid, e.queue)
        if call is None or not self._move(call, CallInput.LEAVE):
            return self._anomaly(e.at, "leave_without_waiting_call", e.uniqueid, e.queue)
        call.left_at = e.at
        call.position_left = e.position
        if call.abandoned_at is not None and call.hangup_requested:
            return self._settle(call, e.at)
        self._schedule(e.at + self.config.settle_s, "settle", call.uniqueid)
        return []

    def _hangup(self, e: Hangup) -> list[Fact]:
        call = self._calls.get(e.uniqueid)
        if call is None or not self._move(call, CallInput.HANGUP):
            return []
        call.hangup_requested = True
        if call.state is CallState.LEFT and call.abandoned_at is not None:
            return self._settle(call, e.at)
        return []

    def _exit_status(self, e: QueueStatusVar) -> list[Fact]:
        call = self._calls.get(e.uniqueid)
        if call is None or not self._move(call, CallInput.EXIT_STATUS):
            return []
        call.exit_status = e.value.strip().upper()
        if call.state is CallState.LEFT and call.exit_status in _EXIT_STATUS:
            return self._settle(call, e.at)
        return []

    def _settle(self, call: _Call, at: float) -> list[Fact]:
        """A caller left the waiting list without an agent: decide how, and record it."""
        self._move(call, CallInput.SETTLE)
        self._forget(call)
        if call.exit_status in _EXIT_STATUS:
            outcome = _EXIT_STATUS[call.exit_status]
        elif call.abandoned_at is not None:
            outcome = Outcome.ABANDONED if call.hangup_requested else Outcome.TIMEOUT
        else:
            outcome = Outcome.EXIT_KEY
        end = call.left_at if call.left_at is not None else call.abandoned_at
        call.ended_at = end
        record = self._record(call, outcome, _span(call.entered_at, end))
        return [*self._stop_ringing(call, at), record]

    # -- agents ringing and answering -----------------------------------------

    def _called(self, e: AgentCalled) -> list[Fact]:
        agent = self._roster.get(e.interface, e.member_name)
        facts = self._interrupt_acw(agent, e.at)
        call = self._caller(e.uniqueid, e.queue)
        if call is not None and self._move(call, CallInput.RING):
            call.ring_attempts += 1
        agent.ringing[e.uniqueid] = e.queue
        self._ringing.setdefault(e.uniqueid, set()).add(agent.interface)
        return facts + self._roster.refresh(agent, e.at)

    def _ring_ended(self, e: AgentRingNoAnswer | AgentDump) -> list[Fact]:
        call = self._caller(e.uniqueid, e.queue)
        if call is not None and self._move(call, CallInput.RING):
            call.ring_noanswer += 1
        agent = self._roster.get(e.interface, e.member_name)
        self._ring_stopped(agent, e.uniqueid)
        return self._roster.refresh(agent, e.at)

    def _ring_stopped(self, agent: Agent, uniqueid: str) -> None:
        agent.ringing.pop(uniqueid, None)
        ringing = self._ringing.get(uniqueid)
        if ringing is not None:
            ringing.discard(agent.interface)
            if not ringing:
                del self._ringing[uniqueid]

    def _stop_ringing(self, call: _Call, at: float) -> list[Fact]:
        facts: list[Fact] = []
        for interface in self._ringing.pop(call.uniqueid, ()):
            agent = self._roster.agents[interface]
            agent.ringing.pop(call.uniqueid, None)
            facts += self._roster.refresh(agent, at)
        return facts

    def _connect(self, e: AgentConnect) -> list[Fact]:
        agent = self._roster.get(e.interface, e.member_name)
        facts = self._interrupt_acw(agent, e.at)
        call = self._caller(e.uniqueid, e.queue)
        if call is None or not self._move(call, CallInput.CONNECT):
            facts += self._anomaly(e.at, "connect_without_waiting_call", e.uniqueid, e.queue)
            self._ring_stopped(agent, e.uniqueid)
            agent.call_queue = e.queue
            return facts + self._roster.refresh(agent, e.at)
        call.answered_at = e.at
        call.interface = e.interface
        call.agent = agent.name
        call.agent_channel = e.dest_uniqueid or None
        if call.agent_channel:
            self._by_channel[call.agent_channel] = call.uniqueid
        self._by_linkedid[call.linkedid] = call.uniqueid
        facts += self._stop_ringing(call, e.at)
        agent.call_queue = call.queue
        agent.on_hold = False
        return facts + self._roster.refresh(agent, e.at)

    def _connected_call(self, *uniqueids: str) -> _Call | None:
        for uid in uniqueids:
            key = self._by_channel.get(uid) or (uid if uid in self._calls else None)
            call = self._calls.get(key) if key else None
            if call is not None and call.state is CallState.CONNECTED:
                return call
        return None

    def _hold(self, e: HoldChange) -> list[Fact]:
        call = self._connected_call(e.uniqueid) or self._connected_call(
            self._by_linkedid.get(e.linkedid, "")
        )
        if call is None or not self._move(call, CallInput.HOLD):
            return []
        was_held = bool(call.holding)
        if e.on_hold:
            call.holding.add(e.uniqueid)
        else:
            call.holding.discard(e.uniqueid)
        if call.holding and not was_held:
            call.hold_started = e.at
            call.hold_count += 1
        elif was_held and not call.holding:
            self._end_hold(call, e.at)
        agent = self._roster.find(call.interface or "")
        if agent is None:
            return []
        agent.on_hold = bool(call.holding)
        return self._roster.refresh(agent, e.at)

    def _end_hold(self, call: _Call, at: float) -> None:
        if call.hold_started is not None:
            call.hold_s += max(0.0, at - call.hold_started)
            call.hold_started = None
        call.holding.clear()

    def _transfer(self, e: Transfer) -> list[Fact]:
        call = self._connected_call(e.transferee_uniqueid, e.transferer_uniqueid) or (
            self._connected_call(self._by_linkedid.get(e.transferer_linkedid, ""))
        )
        if call is None or not e.success or not self._move(call, CallInput.TRANSFER):
            return []
        call.transfer_to = e.target or call.transfer_to
        return []

    def _complete(self, e: AgentComplete) -> list[Fact]:
        call = self._caller(e.uniqueid, e.queue)
        agent = self._roster.get(e.interface, e.member_name)
        agent.call_queue = None
        agent.on_hold = False
        if call is None or not self._move(call, CallInput.COMPLETE):
            return self._anomaly(
                e.at, "complete_without_connected_call", e.uniqueid, e.queue
            ) + self._roster.refresh(agent, e.at)
        self._end_hold(call, e.at)
        call.ended_at = e.at
        call.end_reason = _END_REASON.get(e.reason.lower())
        if call.transfer_to is not None:
            call.end_reason = EndReason.TRANSFER
        self._forget(call)
        facts = self._cross_check(call, e)
        facts += self._interrupt_acw(agent, e.at)
        self._begin_acw(agent, call, e.at)
        return facts + self._roster.refresh(agent, e.at)

    def _cross_check(self, call: _Call, e: AgentComplete) -> list[Fact]:
        """Compare with Asterisk's own whole-second counters; they check, they never set."""
        facts: list[Fact] = []
        checks = (
            ("wait", _span(call.entered_at, call.answered_at), e.wait_reported),
            ("talk", _span(call.answered_at, call.ended_at), e.talk_reported),
        )
        for name, ours, theirs in checks:
            if ours is not None and theirs is not None and abs(ours - theirs) > _CROSS_CHECK_S:
                facts += self._anomaly(e.at, f"{name}_disagrees_with_asterisk", call.uniqueid,
                                       f"derived {ours:.3f}s, Asterisk {theirs}s")
        return facts

    def _forget(self, call: _Call) -> None:
        self._calls.pop(call.uniqueid, None)
        if call.agent_channel:
            self._by_channel.pop(call.agent_channel, None)
        if self._by_linkedid.get(call.linkedid) == call.uniqueid:
            del self._by_linkedid[call.linkedid]

    # -- after-call work -----------------------------------------------------

    def _wrapuptime(self, agent: Agent, queue: str) -> float:
        membership = agent.memberships.get(queue)
        if membership is not None and membership.wrapuptime:
            return membership.wrapuptime
        return self.config.wrapuptime.get(queue, 0.0)

    def _is_acw_pause(self, reason: str) -> bool:
        return reason.strip().lower() in self.config.acw_reasons

    def _begin_acw(self, agent: Agent, call: _Call, at: float) -> None:
        acw = _Acw(
            call=call,
            started_at=at,
            decide_at=at + self.config.acw_pause_window_s,
            wrapup_s=self._wrapuptime(agent, call.queue),
        )
        membership = agent.memberships.get(call.queue)
        if (
            membership is not None
            and membership.paused
            and self._is_acw_pause(membership.reason)
        ):
            acw.by_pause = True
            acw.decide_at = float("inf")
        self._acw[agent.interface] = acw
        agent.acw_queue = call.queue
        if not acw.by_pause:
            self._schedule(acw.decide_at, "acw", agent.interface)

    def _acw_deadline(self, interface: str, acw: _Acw, at: float) -> list[Fact]:
        """The ACW pause window closed, or the wrapuptime ran out."""
        agent = self._roster.agents[interface]
        wrapup_end = acw.started_at + acw.wrapup_s
        if acw.wrapup_s > 0 and wrapup_end > at:
            acw.decide_at = wrapup_end
            self._schedule(wrapup_end, "acw", interface)
            return []
        return self._end_acw(agent, acw, min(at, wrapup_end) if acw.wrapup_s > 0 else at)

    def _interrupt_acw(self, agent: Agent, at: float) -> list[Fact]:
        """The agent moved on (next call, another pause, logout): its ACW ends here."""
        acw = self._acw.get(agent.interface)
        if acw is None:
            return []
        return self._end_acw(agent, acw, at)

    def _end_acw(self, agent: Agent, acw: _Acw, at: float) -> list[Fact]:
        del self._acw[agent.interface]
        call = acw.call
        if acw.by_pause:
            source, seconds = AcwSource.PAUSE, _span(acw.started_at, at)
        elif acw.wrapup_s > 0:
            end = min(at, acw.started_at + acw.wrapup_s)
            source, seconds = AcwSource.WRAPUPTIME, _span(acw.started_at, end)
            at = end
        else:
            source, seconds = AcwSource.NONE, 0.0
            Roster.retract_acw(agent, acw.started_at)
        agent.acw_queue = None
        self._move(call, CallInput.ACW_END)
        record = self._record(call, Outcome.ANSWERED, _span(call.entered_at, call.answered_at),
                              acw=(seconds, source))
        return [*self._roster.refresh(agent, at), record]

    def _acw_unknown(self, agent: Agent, acw: _Acw) -> list[Fact]:
        del self._acw[agent.interface]
        agent.acw_queue = None
        source = AcwSource.PAUSE if acw.by_pause else AcwSource.NONE
        return [self._record(acw.call, Outcome.ANSWERED,
                             _span(acw.call.entered_at, acw.call.answered_at),
                             acw=(None, source))]

    # -- members and queues ----------------------------------------------------

    def _member(self, e: MemberUpdate) -> list[Fact]:
        agent = self._roster.get(e.interface, e.member_name)
        facts: list[Fact] = []
        if e.change is MemberChange.REMOVED:
            acw = self._acw.get(agent.interface)
            if acw is not None and acw.call.queue == e.queue:
                facts += self._end_acw(agent, acw, e.at)
            agent.memberships.pop(e.queue, None)
            return facts + self._roster.refresh(agent, e.at)
        membership = agent.memberships.setdefault(e.queue, Membership())
        if e.change is MemberChange.SNAPSHOT:
            self._snapshot_members.setdefault(e.queue, set()).add(e.interface)
        if e.wrapuptime is not None:
            membership.wrapuptime = e.wrapuptime
        if e.in_call is not None:
            membership.in_call = e.in_call
        if e.paused is not None and (e.paused, e.reason) != (membership.paused, membership.reason):
            facts += self._pause_changed(agent, e.queue, e.paused, e.reason, e.at)
            membership.paused, membership.reason = e.paused, e.reason if e.paused else ""
            membership.paused_at = e.at if e.paused else None
        return facts + self._roster.refresh(agent, e.at)

    def _pause_changed(
        self, agent: Agent, queue: str, paused: bool, reason: str, at: float
    ) -> list[Fact]:
        acw = self._acw.get(agent.interface)
        if acw is None or acw.call.queue != queue:
            return []
        if paused and self._is_acw_pause(reason):
            if not acw.by_pause and at <= acw.started_at + self.config.acw_pause_window_s:
                acw.by_pause = True
                acw.decide_at = float("inf")
            return []
        if paused or acw.by_pause:
            return self._end_acw(agent, acw, at)
        return []

    def _queue(self, name: str, strategy: str = "", service_level: int | None = None) -> LiveQueue:
        return LiveQueue(name, strategy, service_level, self.config.wrapuptime.get(name, 0.0))

    def _config_queues(self) -> list[str]:
        return sorted(self.config.wrapuptime)

    def _queue_params(self, e: QueueParams) -> list[Fact]:
        if self._snapshot_started is None:
            self._snapshot_started = e.at
        self._queues[e.queue] = self._queue(e.queue, e.strategy, e.service_level)
        self._snapshot_members.setdefault(e.queue, set())
        return []

    def _queue_entry(self, e: QueueEntry) -> list[Fact]:
        self._snapshot_entries.add(e.uniqueid)
        if e.uniqueid in self._calls:
            return []
        if e.wait is None:
            return self._anomaly(e.at, "entry_without_wait", e.uniqueid, e.queue)
        self._calls[e.uniqueid] = _Call(
            uniqueid=e.uniqueid,
            linkedid=e.linkedid,
            queue=e.queue,
            caller_num=e.caller_num,
            caller_name=e.caller_name,
            entered_at=e.at - e.wait,
            position_entered=None,
        )
        return []

    def _snapshot_end(self, e: SnapshotEnd) -> list[Fact]:
        """A QueueStatus answer ended: what it did not list has ended while we looked away."""
        started = self._snapshot_started if self._snapshot_started is not None else e.at
        queues = set(self._snapshot_members)
        facts: list[Fact] = []
        for call in list(self._calls.values()):
            if call.queue not in queues or call.entered_at >= started:
                continue
            gone = call.state is CallState.WAITING and call.uniqueid not in self._snapshot_entries
            if call.state is CallState.CONNECTED:
                member = self._roster.find(call.interface or "")
                m = member.memberships.get(call.queue) if member else None
                gone = m is None or m.in_call is False
            if gone:
                facts += self._close_unknown(call)
        for agent in self._roster.agents.values():
            for queue in queues & set(agent.memberships):
                if agent.interface not in self._snapshot_members[queue]:
                    del agent.memberships[queue]
            facts += self._roster.refresh(agent, e.at)
        self._snapshot_started = None
        self._snapshot_entries.clear()
        self._snapshot_members.clear()
        return facts

    # -- the PBX and the connection ----------------------------------------------

    def _booted(self, e: PbxBooted) -> list[Fact]:
        if e.uptime is None:
            return []
        boot_at = e.at - e.uptime
        restarted = self._boot_at is not None and boot_at > self._boot_at + 5.0
        self._boot_at = boot_at
        if not restarted:
            return []
        return self._anomaly(e.at, "pbx_restarted", None, f"booted {e.uptime:.0f}s ago") + (
            self._close_everything()
        )

    def _shutdown(self, e: PbxShutdown) -> list[Fact]:
        """Asterisk is stopping: its calls end unseen, its members are gone until it is back."""
        facts = self._close_everything()
        for agent in self._roster.agents.values():
            agent.memberships.clear()
            facts += self._roster.refresh(agent, e.at)
        return facts

    def _gap(self, e: StreamGap) -> list[Fact]:
        # the QueueStatus answer that follows a reconnection settles what the gap hid
        return self._anomaly(e.at, "stream_gap", None, f"{max(0.0, e.at - e.since):.3f}s")

    # -- closing records ------------------------------------------------------------

    def _close_everything(self) -> list[Fact]:
        facts: list[Fact] = []
        for call in list(self._calls.values()):
            if call.state is CallState.LEFT:
                facts += self._settle(call, self.now)
            else:
                facts += self._close_unknown(call)
        for interface, acw in list(self._acw.items()):
            facts += self._acw_unknown(self._roster.agents[interface], acw)
        self._ringing.clear()
        for agent in self._roster.agents.values():
            agent.ringing.clear()
            agent.call_queue = None
            agent.on_hold = False
            facts += self._roster.refresh(agent, self.now)
        return facts

    def _close_unknown(self, call: _Call) -> list[Fact]:
        """The call's end was not seen: keep what was observed, claim nothing else."""
        self._forget(call)
        facts = self._stop_ringing(call, self.now)
        agent = self._roster.find(call.interface or "")
        if agent is not None and call.state is CallState.CONNECTED:
            agent.call_queue = None
            agent.on_hold = False
            facts += self._roster.refresh(agent, self.now)
        call.hold_started = None
        call.state = CallState.ENDED
        wait = _span(call.entered_at, call.answered_at)
        return [*facts, self._record(call, Outcome.UNKNOWN, wait, acw=(None, AcwSource.NONE),
                                     observed_end=False)]

    def _record(
        self,
        call: _Call,
        outcome: Outcome,
        wait_s: float | None,
        acw: tuple[float | None, AcwSource] = (0.0, AcwSource.NONE),
        observed_end: bool = True,
    ) -> CallRecord:
        answered = call.answered_at is not None
        connected = _span(call.answered_at, call.ended_at) if observed_end else None
        hold_s: float | None = call.hold_s if answered and observed_end else None
        talk_s = connected - hold_s if connected is not None and hold_s is not None else None
        if talk_s is not None and talk_s < 0:
            talk_s = None
        acw_s, acw_source = acw if answered else (None, AcwSource.NONE)
        parts = (talk_s, hold_s, acw_s)
        handle_s = sum(p for p in parts if p is not None) if None not in parts else None
        return CallRecord(
            uniqueid=call.uniqueid,
            linkedid=call.linkedid,
            queue=call.queue,
            caller_num=call.caller_num,
            caller_name=call.caller_name,
            entered_at=call.entered_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at if observed_end else None,
            outcome=outcome,
            agent=call.agent,
            agent_interface=call.interface,
            wait_s=wait_s,
            talk_s=talk_s,
            hold_s=hold_s,
            hold_count=call.hold_count,
            acw_s=acw_s,
            acw_source=acw_source,
            handle_s=handle_s,
            ring_attempts=call.ring_attempts,
            ring_noanswer=call.ring_noanswer,
            transferred=1 if call.transfer_to is not None else 0,
            transfer_to=call.transfer_to,
            end_reason=call.end_reason,
            position_entered=call.position_entered,
            position_left=call.position_left,
        )
