"""A simulated call center on simulated time, with the truth about every queue stint.

`CallCenter` is a seeded discrete-event simulation of queues, agents and callers (see
`queuepulse.pbxsim.scenario`). Callers arrive as a Poisson process whose rate follows the
time of day, wait with a patience of their own, are rung to agents by each queue's
strategy, talk, are put on hold, transferred, or give up; agents answer (or let it ring),
do after-call work, pause, and log in and out. Every happening is rendered as the AMI
frames Asterisk 20 sends (`queuepulse.pbxsim.frames`), and every finished queue stint is
recorded as a `TrueStint` (`queuepulse.pbxsim.truth`): what the simulation decided, which
a collector reading the frames should derive.

Nothing here reads a clock or does I/O: ``advance(to_time)`` runs the simulation up to
a simulated moment and returns the frames of what happened, so a caller can play them
in real time, faster, or as fast as they are made. The same seed gives the same frames.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable

from queuepulse.pbxsim.ami_objects import Bridge, Channel, Ids, Member
from queuepulse.pbxsim.frames import AmiWriter, Consult, Leg
from queuepulse.pbxsim.frames.queue_status import (
    queue_entry,
    queue_member,
    queue_params,
    queue_summary,
)
from queuepulse.pbxsim.scenario import (
    CALLER_NAMES,
    DEFAULT_CENTER,
    AgentSpec,
    CenterConfig,
    QueueSpec,
    Spread,
)
from queuepulse.pbxsim.snapshot import Snapshot
from queuepulse.pbxsim.truth import AcwSource, EndReason, Outcome, TrueStint

_OUTCOMES = {
    "abandon": Outcome.ABANDONED,
    "timeout": Outcome.TIMEOUT,
    "empty": Outcome.EXIT_EMPTY,
    "key": Outcome.EXIT_KEY,
}
_END_REASONS = {
    "agent": EndReason.AGENT,
    "caller": EndReason.CALLER,
    "blind": EndReason.TRANSFER,
    "attended": EndReason.TRANSFER,
}

# caller states
_GREETING, _WAITING, _RINGING, _CONNECTED, _GONE = range(5)
# agent states
_OFFLINE, _IDLE, _BUSY, _WRAPUP, _PAUSED = range(5)


class _Queue:
    __slots__ = (
        "abandoned",
        "agents",
        "completed",
        "holdtime",
        "in_sl",
        "order",
        "rr",
        "spec",
        "talktime",
        "waiting",
    )

    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.waiting: list[_Caller] = []
        self.agents: list[_Agent] = []
        self.order: dict[_Agent, int] = {}
        self.rr = 0
        self.completed = 0
        self.abandoned = 0
        self.in_sl = 0
        self.holdtime = 0
        self.talktime = 0


class _Stint:
    __slots__ = (
        "agent",
        "answered_at",
        "entered_at",
        "hold_count",
        "hold_s",
        "hold_started",
        "position",
        "queue",
        "ring_noanswer",
        "transfer_to",
    )

    def __init__(self, queue: _Queue, entered_at: float, position: int) -> None:
        self.queue = queue
        self.entered_at = entered_at
        self.position = position
        self.ring_noanswer = 0
        self.answered_at: float | None = None
        self.agent: _Agent | None = None
        self.hold_s = 0.0
        self.hold_count = 0
        self.hold_started: float | None = None
        self.transfer_to: str | None = None


class _Caller:
    __slots__ = ("channel", "legs", "retry_at", "ring_round", "state", "stint", "timeout_at")

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.state = _GREETING
        self.stint: _Stint | None = None
        self.legs: list[tuple[_Agent, Member, Leg]] = []
        self.ring_round = 0
        self.retry_at = 0.0
        self.timeout_at = 0.0


class _Agent:
    __slots__ = (
        "bridge",
        "consult",
        "last_call_end",
        "leg",
        "members",
        "pending",
        "queues",
        "session",
        "spec",
        "state",
    )

    def __init__(self, spec: AgentSpec, queues: list[_Queue]) -> None:
        self.spec = spec
        self.queues = queues
        self.members: dict[str, Member] = {}
        self.state = _OFFLINE
        self.leg: Leg | None = None
        self.bridge: Bridge | None = None
        self.consult: Consult | None = None
        self.last_call_end = 0.0
        self.pending = ""
        self.session = 0

    def call_members(self, queue: str) -> list[Member]:
        """The agent's memberships with the call's queue last (the order of app_queue's events)."""
        return [m for name, m in self.members.items() if name != queue] + [self.members[queue]]


class CallCenter:
    """A seeded simulation of a call center that speaks Asterisk 20 AMI.

    * ``config``: the queues, agents, traffic and behaviour (`queuepulse.pbxsim.scenario`);
    * ``seed``: the same seed and config give the same frames and truth;
    * ``start``: the simulated clock's starting epoch (Unix seconds);
    * ``keep_truth``: record a `TrueStint` per finished stint (turn off for volume runs).
    """

    def __init__(
        self,
        config: CenterConfig = DEFAULT_CENTER,
        *,
        seed: int = 0,
        start: float = 1_800_000_000.0,
        keep_truth: bool = True,
    ) -> None:
        self.config = config
        self.now = start
        self.start = start
        self.truth: list[TrueStint] = []
        self._keep_truth = keep_truth
        self._rng = random.Random(seed)
        self._writer = AmiWriter(Ids(random.Random(seed + 1)), random.Random(seed + 2))
        self._events: list[tuple[float, int, Callable[..., None], tuple[object, ...]]] = []
        self._seq = itertools.count()
        self._arrivals = True
        self._queues = {spec.name: _Queue(spec) for spec in config.queues}
        self._shares = [spec.share for spec in config.queues]
        self._shape_peak = max(config.day_shape)
        self._agents = [
            _Agent(spec, [self._queues[q] for q in spec.queues]) for spec in config.agents
        ]
        for queue in self._queues.values():
            queue.agents = [a for a in self._agents if queue.spec.name in a.spec.queues]
            queue.order = {a: i for i, a in enumerate(queue.agents)}
        for agent in self._agents:
            if not agent.spec.dynamic or self._rng.random() < 0.7:
                self._log_in(agent, quiet=True)
            else:
                self._at(start + self._draw(config.behaviour.offline), self._log_in, agent)
        self._at(start, self._arrival)

    # -- the public interface -------------------------------------------------------------

    def advance(self, to_time: float) -> list[tuple[float, str]]:
        """Run the simulation up to ``to_time``; return the frames made, as (timestamp, text)."""
        events = self._events
        while events and events[0][0] <= to_time:
            t, _, handler, args = heapq.heappop(events)
            self.now = t
            handler(*args)
        self.now = max(self.now, to_time)
        frames = self._writer.frames
        self._writer.frames = []
        return frames

    def stop_arrivals(self) -> None:
        """No new callers from now on; the calls under way go on to their end."""
        self._arrivals = False

    def snapshot(self) -> Snapshot:
        """The QueueStatus and QueueSummary answers Asterisk would give right now."""
        status: list[str] = []
        summary: list[str] = []
        now = int(self.now)
        for queue in self._queues.values():
            spec = queue.spec
            members = [a.members[spec.name] for a in queue.agents if spec.name in a.members]
            status.append(queue_params(
                spec.name, spec.strategy, calls=len(queue.waiting), holdtime=queue.holdtime,
                talktime=queue.talktime, completed=queue.completed, abandoned=queue.abandoned,
                in_service_level=queue.in_sl, service_level_s=spec.service_level_s))
            status.extend(queue_member(m) for m in members)
            for position, caller in enumerate(queue.waiting, start=1):
                stint = caller.stint
                waited = now - int(stint.entered_at) if stint is not None else 0
                status.append(queue_entry(spec.name, position, caller.channel, waited))
            available = sum(1 for a in queue.agents if spec.name in a.members and a.state == _IDLE)
            first = queue.waiting[0].stint if queue.waiting else None
            summary.append(queue_summary(
                spec.name, logged_in=len(members), available=available,
                callers=len(queue.waiting), holdtime=queue.holdtime, talktime=queue.talktime,
                longest=now - int(first.entered_at) if first is not None else 0))
        return Snapshot(tuple(status), tuple(summary))

    # -- scheduling and chance ---------------------------------------------------------------

    def _at(self, t: float, handler: Callable[..., None], *args: object) -> None:
        heapq.heappush(self._events, (t, next(self._seq), handler, args))

    def _draw(self, spread: Spread) -> float:
        return min(spread.max_s, spread.median_s * math.exp(self._rng.gauss(0.0, spread.sigma)))

    def _uniform(self, bounds: tuple[float, float]) -> float:
        return self._rng.uniform(*bounds)

    # -- callers ----------------------------------------------------------------------------

    def _arrival(self) -> None:
        if not self._arrivals:
            return
        config = self.config
        t = self.now
        hour = int(((t + config.utc_offset_h * 3600.0) // 3600.0) % 24)
        if self._rng.random() * self._shape_peak < config.day_shape[hour]:
            queue = self._rng.choices(list(self._queues.values()), self._shares)[0]
            cid = (f"0{self._rng.randrange(200000000, 999999999)}", self._rng.choice(CALLER_NAMES))
            channel = self._writer.incoming_call(
                t, config.trunk, cid, queue.spec.did, queue.spec.name
            )
            self._at(
                t + self._uniform(config.behaviour.greeting_s), self._join, _Caller(channel), queue
            )
        self._at(t + self._rng.expovariate(config.calls_per_hour / 3600.0), self._arrival)

    def _join(self, caller: _Caller, queue: _Queue) -> None:
        t = self.now
        behaviour = self.config.behaviour
        stint = _Stint(queue, t, len(queue.waiting) + 1)
        caller.stint = stint
        caller.state = _WAITING
        caller.legs = []
        caller.retry_at = t
        caller.timeout_at = t + queue.spec.max_wait_s
        queue.waiting.append(caller)
        self._writer.enter_queue(
            t,
            caller.channel,
            queue.spec.name,
            (stint.position, len(queue.waiting)),
            int(queue.spec.max_wait_s),
        )
        self._at(caller.timeout_at, self._give_up, caller, stint, "timeout")
        if self._rng.random() < behaviour.short_abandon_share:
            patience = self._rng.uniform(0.5, 4.5)
        else:
            patience = self._draw(behaviour.patience)
        if patience < queue.spec.max_wait_s:
            self._at(t + patience, self._give_up, caller, stint, "abandon")
        if self._rng.random() < behaviour.exit_key_share:
            key_at = t + self._rng.uniform(3.0, min(patience, queue.spec.max_wait_s))
            self._at(key_at, self._give_up, caller, stint, "key")
        if not self._has_members(queue):
            self._at(t + self._rng.uniform(0.2, 1.0), self._give_up, caller, stint, "empty")
        self._dispatch(queue)

    def _has_members(self, queue: _Queue) -> bool:
        return any(queue.spec.name in a.members for a in queue.agents)

    def _give_up(self, caller: _Caller, stint: _Stint, how: str) -> None:
        """The caller leaves the queue unanswered: hang-up, timeout, empty queue or exit key."""
        if caller.stint is not stint or caller.state not in (_WAITING, _RINGING):
            return
        if how == "key" and caller.state == _RINGING:
            return
        if how == "empty" and self._has_members(stint.queue):
            return
        t = self.now
        queue = stint.queue
        position = queue.waiting.index(caller) + 1
        queue.waiting.remove(caller)
        ringing = caller.legs
        caller.legs = []
        self._writer.leave_unanswered(
            t,
            caller.channel,
            queue.spec.name,
            how,
            (position, stint.position, len(queue.waiting)),
            t - stint.entered_at,
            [(member, leg) for _, member, leg in ringing],
        )
        if how in ("timeout", "empty"):
            stint.ring_noanswer += len(ringing)
        if how != "key":
            queue.abandoned += 1
        caller.state = _GONE
        if how != "abandon":
            self._at(
                t + self._uniform(self.config.behaviour.after_queue_s), self._hang_up, caller, None
            )
        self._record(caller, stint, _OUTCOMES[how], t)
        for agent, _, _ in ringing:
            self._ready(agent)

    def _hang_up(self, caller: _Caller, peer: Channel | None) -> None:
        self._writer.caller_hangs_up(self.now, caller.channel, peer)

    # -- ringing and answering ------------------------------------------------------------------

    def _dispatch(self, queue: _Queue) -> None:
        """Ring free members for the waiting callers, as the queue's strategy picks them."""
        if not queue.waiting:
            return
        name = queue.spec.name
        free = [a for a in queue.agents if a.state == _IDLE and name in a.members]
        if not free:
            return
        strategy = queue.spec.strategy
        for caller in list(queue.waiting):
            if not free:
                break
            if caller.state != _WAITING or caller.retry_at > self.now:
                continue
            if strategy == "ringall":
                chosen, free = free, []
            elif strategy == "rrmemory":
                order, size = queue.order, len(queue.order)
                start = queue.rr % size
                pick = min(free, key=lambda a: (order[a] - start) % size)
                queue.rr = order[pick] + 1
                chosen = [pick]
                free.remove(pick)
            else:
                pick = min(free, key=lambda a: a.last_call_end)
                chosen = [pick]
                free.remove(pick)
            self._ring(caller, chosen)

    def _ring(self, caller: _Caller, agents: list[_Agent]) -> None:
        stint = caller.stint
        assert stint is not None
        t = self.now
        spec = stint.queue.spec
        behaviour = self.config.behaviour
        caller.state = _RINGING
        caller.ring_round += 1
        end = min(t + spec.member_timeout_s, caller.timeout_at)
        answer: tuple[float, _Agent] | None = None
        for agent in agents:
            agent.state = _BUSY
            member = agent.members[spec.name]
            leg = self._writer.ring(
                t, caller.channel, member, agent.spec.login, agent.spec.phone_member
            )
            caller.legs.append((agent, member, leg))
            if self._rng.random() >= behaviour.no_answer_share:
                at = t + self._uniform(behaviour.answer_delay_s)
                if at < end and (answer is None or at < answer[0]):
                    answer = (at, agent)
        if answer is None:
            self._at(end, self._no_answer, caller, caller.ring_round)
        else:
            self._at(answer[0], self._answer, caller, caller.ring_round, answer[1])

    def _no_answer(self, caller: _Caller, ring_round: int) -> None:
        stint = caller.stint
        if caller.state != _RINGING or caller.ring_round != ring_round or stint is None:
            return
        t = self.now
        legs = caller.legs
        caller.legs = []
        self._writer.ring_no_answer(t, caller.channel, [(m, leg) for _, m, leg in legs])
        stint.ring_noanswer += len(legs)
        caller.state = _WAITING
        caller.retry_at = t + stint.queue.spec.retry_s
        self._at(caller.retry_at, self._dispatch, stint.queue)
        for agent, _, _ in legs:
            self._ready(agent)

    def _answer(self, caller: _Caller, ring_round: int, agent: _Agent) -> None:
        stint = caller.stint
        if caller.state != _RINGING or caller.ring_round != ring_round or stint is None:
            return
        t = self.now
        queue = stint.queue
        name = queue.spec.name
        leg = next(leg for a, _, leg in caller.legs if a is agent)
        others = [(a, m, other) for a, m, other in caller.legs if a is not agent]
        caller.legs = []
        position = queue.waiting.index(caller) + 1
        queue.waiting.remove(caller)
        wait = t - stint.entered_at
        agent.leg = leg
        agent.bridge = self._writer.answer(
            t,
            caller.channel,
            agent.call_members(name),
            leg,
            [(m, o) for _, m, o in others],
            (wait, t - leg.rang_at),
            (position, len(queue.waiting)),
        )
        queue.holdtime = (queue.holdtime * 3 + int(wait)) >> 2
        stint.answered_at = t
        stint.agent = agent
        caller.state = _CONNECTED
        self._plan_conversation(caller, stint, agent)
        for other, _, _ in others:
            self._ready(other)

    # -- connected calls ---------------------------------------------------------------------

    def _plan_conversation(self, caller: _Caller, stint: _Stint, agent: _Agent) -> None:
        """Decide the call's talk, holds and end, and schedule them."""
        behaviour = self.config.behaviour
        rng = self._rng
        t = self.now
        talk = self._draw(behaviour.talk)
        holds = [
            self._draw(behaviour.hold)
            for _ in range(rng.choices((0, 1, 2), behaviour.hold_counts)[0])
        ]
        at = t
        talked = 0.0
        for cut, hold in zip(sorted(rng.uniform(0.0, talk) for _ in holds), holds, strict=True):
            at += cut - talked
            talked = cut
            self._at(at, self._hold, caller, stint, True)
            at += hold
            self._at(at, self._hold, caller, stint, False)
        at += talk - talked
        roll = rng.random()
        attended = behaviour.attended_transfer_share
        blind = attended + behaviour.blind_transfer_share
        if roll < attended and agent.spec.phone_member:
            target = rng.choice(self.config.supervisors)
            self._at(at, self._hold, caller, stint, True)
            self._at(at + 0.5, self._consult, caller, stint, target)
            at += 0.5 + rng.uniform(2.0, 6.0)
            self._at(at, self._consult_answered, caller, stint)
            self._at(at + self._draw(behaviour.consult), self._end_call, caller, stint, "attended")
        elif roll < blind:
            self._at(at, self._end_call, caller, stint, "blind")
        elif roll < blind + behaviour.caller_hangs_up_share:
            self._at(at, self._end_call, caller, stint, "caller")
        else:
            self._at(at, self._end_call, caller, stint, "agent")

    def _hold(self, caller: _Caller, stint: _Stint, on_hold: bool) -> None:
        agent = stint.agent
        if (
            caller.stint is not stint
            or caller.state != _CONNECTED
            or agent is None
            or agent.leg is None
        ):
            return
        t = self.now
        self._writer.hold(t, agent.leg, on_hold)
        if on_hold:
            stint.hold_started = t
            stint.hold_count += 1
        elif stint.hold_started is not None:
            stint.hold_s += t - stint.hold_started
            stint.hold_started = None

    def _consult(self, caller: _Caller, stint: _Stint, target: str) -> None:
        agent = stint.agent
        if caller.stint is stint and agent is not None and agent.leg is not None:
            agent.consult = self._writer.consult(self.now, agent.leg, target)

    def _consult_answered(self, caller: _Caller, stint: _Stint) -> None:
        agent = stint.agent
        if caller.stint is stint and agent is not None and agent.consult is not None:
            self._writer.consult_answered(self.now, agent.consult)

    def _end_call(self, caller: _Caller, stint: _Stint, how: str) -> None:
        agent = stint.agent
        if caller.stint is not stint or caller.state != _CONNECTED or agent is None:
            return
        leg, bridge, answered = agent.leg, agent.bridge, stint.answered_at
        assert leg is not None and bridge is not None and answered is not None
        t = self.now
        queue = stint.queue
        name = queue.spec.name
        if stint.hold_started is not None:
            stint.hold_s += t - stint.hold_started
            stint.hold_started = None
        wait, connected = answered - stint.entered_at, t - answered
        members = agent.call_members(name)
        member = members[-1]
        member.calls_taken += 1
        member.last_call = int(t)
        times = (wait, connected)
        writer = self._writer
        caller.state = _GONE
        if how == "agent":
            writer.agent_hangs_up(t, caller.channel, members, leg, bridge, times)
        elif how == "caller":
            writer.caller_hangs_up_connected(t, caller.channel, members, leg, bridge, times)
        elif how == "attended":
            consult = agent.consult
            assert consult is not None
            writer.attended_transfer(t, caller.channel, members, leg, bridge, consult, times)
            stint.transfer_to = consult.target.cid_num
            self._at(
                t + self._draw(self.config.behaviour.talk), self._hang_up, caller, consult.target
            )
        else:
            self._blind_transfer(caller, stint, agent, members, times)
        queue.completed += 1
        queue.talktime = (queue.talktime * 3 + int(connected)) >> 2
        if wait <= queue.spec.service_level_s:
            queue.in_sl += 1
        agent.leg = agent.bridge = agent.consult = None
        agent.last_call_end = t
        self._after_call(agent, caller, stint, _END_REASONS[how])

    def _blind_transfer(
        self,
        caller: _Caller,
        stint: _Stint,
        agent: _Agent,
        members: list[Member],
        times: tuple[float, float],
    ) -> None:
        t = self.now
        rng = self._rng
        leg, bridge = agent.leg, agent.bridge
        assert leg is not None and bridge is not None
        others = [q for q in self._queues.values() if q is not stint.queue]
        to_queue = others and rng.random() < self.config.behaviour.blind_to_queue_share
        if to_queue:
            target = rng.choice(others)
            stint.transfer_to = target.spec.extension
            self._writer.blind_transfer(
                t,
                caller.channel,
                members,
                leg,
                bridge,
                ("from-internal", target.spec.extension),
                times,
            )
            self._at(t + 0.05, self._join, caller, target)
            return
        exten = rng.choice(self.config.transfer_targets)
        stint.transfer_to = exten
        self._writer.blind_transfer(
            t, caller.channel, members, leg, bridge, ("from-internal", exten), times
        )
        self._writer.transferred_caller_arrives(
            t, caller.channel, "Playback", f"custom/ext-{exten}"
        )
        self._at(
            t + self._uniform(self.config.behaviour.after_queue_s), self._hang_up, caller, None
        )

    # -- after-call work, pauses, logins ------------------------------------------------------

    def _after_call(self, agent: _Agent, caller: _Caller, stint: _Stint, reason: EndReason) -> None:
        """The agent's after-call work: an ACW pause, the queue's wrapuptime, or none."""
        t = self.now
        behaviour = self.config.behaviour
        agent.state = _WRAPUP
        ended = (t, reason)
        if self._rng.random() < behaviour.acw_pause_share:
            paused_at = t + self._rng.uniform(0.2, 1.5)
            self._at(paused_at, self._pause, agent, "ACW")
            done = max(self._draw(behaviour.acw), paused_at - t + 2.0)
            self._at(t + done, self._acw_over, agent, caller, stint, ended)
        elif stint.queue.spec.wrapuptime_s > 0:
            wrapup = stint.queue.spec.wrapuptime_s
            self._record(caller, stint, Outcome.ANSWERED, t, ended, (wrapup, AcwSource.WRAPUPTIME))
            self._at(t + wrapup, self._ready, agent)
        else:
            self._record(caller, stint, Outcome.ANSWERED, t, ended, (0.0, AcwSource.NONE))
            self._ready(agent)

    def _pause(self, agent: _Agent, reason: str) -> None:
        agent.state = _PAUSED
        self._writer.pause(self.now, list(agent.members.values()), True, reason)

    def _acw_over(
        self, agent: _Agent, caller: _Caller, stint: _Stint, ended: tuple[float, EndReason]
    ) -> None:
        t = self.now
        self._record(
            caller, stint, Outcome.ANSWERED, ended[0], ended, (t - ended[0], AcwSource.PAUSE)
        )
        if (
            agent.pending != "logout"
            and self._rng.random() < self.config.behaviour.acw_then_break_share
        ):
            self._take_break(agent, "Break")
            return
        self._writer.pause(t, list(agent.members.values()), False, "")
        self._ready(agent)

    def _ready(self, agent: _Agent) -> None:
        """The agent is free again: a pending logout or break comes first, else it takes calls."""
        if agent.state == _OFFLINE:
            return
        if agent.pending == "logout":
            self._log_out(agent)
            return
        if agent.pending == "break":
            self._take_break(
                agent,
                "Lunch" if self._rng.random() < self.config.behaviour.lunch_share else "Break",
            )
            return
        agent.state = _IDLE
        for queue in agent.queues:
            self._dispatch(queue)

    def _break_due(self, agent: _Agent, session: int) -> None:
        if agent.session != session:
            return
        agent.pending = agent.pending or "break"
        if agent.state == _IDLE:
            self._ready(agent)

    def _take_break(self, agent: _Agent, reason: str) -> None:
        behaviour = self.config.behaviour
        if agent.pending == "break":
            agent.pending = ""
        if agent.state != _PAUSED:
            self._pause(agent, reason)
        else:
            self._writer.pause(self.now, list(agent.members.values()), True, reason)
        length = self._draw(behaviour.lunch if reason == "Lunch" else behaviour.short_break)
        self._at(self.now + length, self._break_over, agent, agent.session)

    def _break_over(self, agent: _Agent, session: int) -> None:
        if agent.session != session:
            return
        t = self.now
        self._writer.pause(t, list(agent.members.values()), False, "")
        self._at(
            t + self._rng.expovariate(1.0 / self.config.behaviour.break_every_s),
            self._break_due,
            agent,
            agent.session,
        )
        self._ready(agent)

    def _log_in(self, agent: _Agent, quiet: bool = False) -> None:
        """The agent becomes a member of its queues (QueueMemberAdded, unless at start)."""
        t = self.now
        behaviour = self.config.behaviour
        spec = agent.spec
        login_time = int(t - self._rng.uniform(600.0, 7200.0)) if quiet else int(t)
        for queue in spec.queues:
            member = Member(
                queue,
                spec.name,
                spec.interface,
                spec.state_interface,
                dynamic=spec.dynamic,
                penalty=spec.penalty,
                login_time=login_time,
            )
            agent.members[queue] = member
            if not quiet:
                self._writer.member_added(t, member)
        agent.session += 1
        agent.pending = ""
        agent.state = _IDLE
        self._at(
            t + self._rng.expovariate(1.0 / behaviour.break_every_s),
            self._break_due,
            agent,
            agent.session,
        )
        if spec.dynamic:
            self._at(t + self._draw(behaviour.session), self._logout_due, agent, agent.session)
        if not quiet:
            self._ready(agent)

    def _logout_due(self, agent: _Agent, session: int) -> None:
        if agent.session != session:
            return
        agent.pending = "logout"
        if agent.state == _IDLE:
            self._ready(agent)

    def _log_out(self, agent: _Agent) -> None:
        t = self.now
        for member in agent.members.values():
            self._writer.member_removed(t, member)
        agent.members = {}
        agent.state = _OFFLINE
        agent.pending = ""
        agent.session += 1
        for queue in agent.queues:
            if not self._has_members(queue):
                for caller in queue.waiting:
                    self._at(
                        t + self._rng.uniform(0.1, 1.0),
                        self._give_up,
                        caller,
                        caller.stint,
                        "empty",
                    )
        self._at(t + self._draw(self.config.behaviour.offline), self._log_in, agent)

    # -- the truth -------------------------------------------------------------------------------

    def _record(
        self,
        caller: _Caller,
        stint: _Stint,
        outcome: Outcome,
        left_at: float,
        ended: tuple[float, EndReason] | None = None,
        acw: tuple[float | None, AcwSource] = (None, AcwSource.NONE),
    ) -> None:
        if not self._keep_truth:
            return
        ch = caller.channel
        answered = stint.answered_at
        agent = stint.agent
        end = ended[0] if ended is not None else left_at
        self.truth.append(
            TrueStint(
                uniqueid=ch.uniqueid,
                linkedid=ch.linkedid,
                queue=stint.queue.spec.name,
                caller_num=ch.cid_num,
                caller_name=ch.cid_name,
                entered_at=stint.entered_at,
                outcome=outcome,
                wait_s=(answered if answered is not None else left_at) - stint.entered_at,
                answered_at=answered,
                ended_at=end,
                agent=agent.spec.name if agent is not None else None,
                talk_s=end - answered - stint.hold_s if answered is not None else None,
                hold_s=stint.hold_s if answered is not None else None,
                hold_count=stint.hold_count,
                acw_s=acw[0],
                acw_source=acw[1],
                end_reason=ended[1] if ended is not None else None,
                transfer_to=stint.transfer_to,
                ring_noanswer=stint.ring_noanswer,
            )
        )
