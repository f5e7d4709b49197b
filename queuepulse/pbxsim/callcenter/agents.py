"""Agents between calls: after-call work (an ACW pause or the queue's wrapuptime),
breaks and lunch, logging in and out of their queues (the dynamic ones).

A logout or a break that falls due during a call waits until the agent is free
(``Agent.pending``).
"""

from __future__ import annotations

from queuepulse.pbxsim.ami_objects import Member
from queuepulse.pbxsim.callcenter.base import CenterBase
from queuepulse.pbxsim.callcenter.state import Agent, AgentState, Caller, Stint
from queuepulse.pbxsim.frames.calls import Consult
from queuepulse.pbxsim.truth import AcwSource, EndReason, Outcome


class AgentBehaviour(CenterBase):
    """What agents do when no call holds them."""

    def _after_call(self, agent: Agent, caller: Caller, stint: Stint, reason: EndReason) -> None:
        """The agent's after-call work: an ACW pause, the queue's wrapuptime, or none."""
        t = self.clock.now
        behaviour = self.config.behaviour
        agent.state = AgentState.WRAPUP
        ended = (t, reason)
        if self._rng.random() < behaviour.acw_pause_share:
            paused_at = t + self._rng.uniform(0.2, 1.5)
            self.clock.at(paused_at, self._pause, agent, "ACW")
            done = max(behaviour.acw.draw(self._rng), paused_at - t + 2.0)
            self.clock.at(t + done, self._acw_over, agent, caller, stint, ended)
        elif stint.queue.spec.wrapuptime_s > 0:
            wrapup = stint.queue.spec.wrapuptime_s
            self._record(caller, stint, Outcome.ANSWERED, t, ended, (wrapup, AcwSource.WRAPUPTIME))
            self.clock.at(t + wrapup, self._ready, agent)
        else:
            self._record(caller, stint, Outcome.ANSWERED, t, ended, (0.0, AcwSource.NONE))
            self._ready(agent)

    def _pause(self, agent: Agent, reason: str) -> None:
        agent.state = AgentState.PAUSED
        self._writer.pause(self.clock.now, list(agent.members.values()), True, reason)

    def _acw_over(
        self, agent: Agent, caller: Caller, stint: Stint, ended: tuple[float, EndReason]
    ) -> None:
        t = self.clock.now
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

    def _ready(self, agent: Agent) -> None:
        """The agent is free again: a pending logout or break comes first, else it takes calls."""
        if agent.state == AgentState.OFFLINE:
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
        if self._to_call_back and (
                self._callback_rng.random() < self.config.behaviour.callback_share):
            self._call_back(agent, self._to_call_back.pop(0))
            return
        agent.state = AgentState.IDLE
        for queue in agent.queues:
            self._dispatch(queue)

    def _call_back(self, agent: Agent, number: str) -> None:
        """The agent calls a caller who gave up; app_queue sees the agent busy meanwhile."""
        t = self.clock.now
        behaviour = self.config.behaviour
        rng = self._callback_rng
        agent.state = AgentState.BUSY
        spec = agent.spec
        call = self._writer.call_out(t, f"PJSIP/{spec.login}", spec.login, self.config.trunk,
                                     number)
        rings = t + rng.uniform(*behaviour.callback_ring_s)
        if rng.random() < behaviour.callback_answer_share:
            self.clock.at(rings, self._writer.call_out_answered, rings, call)
            ends = rings + behaviour.talk.draw(rng)
        else:
            ends = rings
        self.clock.at(ends, self._call_back_over, agent, call)

    def _call_back_over(self, agent: Agent, call: Consult) -> None:
        self._writer.call_out_ended(self.clock.now, call)
        self._ready(agent)

    def _break_due(self, agent: Agent, session: int) -> None:
        if agent.session != session:
            return
        agent.pending = agent.pending or "break"
        if agent.state == AgentState.IDLE:
            self._ready(agent)

    def _take_break(self, agent: Agent, reason: str) -> None:
        behaviour = self.config.behaviour
        if agent.pending == "break":
            agent.pending = ""
        if agent.state != AgentState.PAUSED:
            self._pause(agent, reason)
        else:
            self._writer.pause(self.clock.now, list(agent.members.values()), True, reason)
        spread = behaviour.lunch if reason == "Lunch" else behaviour.short_break
        length = spread.draw(self._rng)
        self.clock.at(self.clock.now + length, self._break_over, agent, agent.session)

    def _break_over(self, agent: Agent, session: int) -> None:
        if agent.session != session:
            return
        t = self.clock.now
        self._writer.pause(t, list(agent.members.values()), False, "")
        self.clock.at(
            t + self._rng.expovariate(1.0 / self.config.behaviour.break_every_s),
            self._break_due,
            agent,
            agent.session,
        )
        self._ready(agent)

    def _log_in(self, agent: Agent, quiet: bool = False) -> None:
        """The agent becomes a member of its queues (QueueMemberAdded, unless at start)."""
        t = self.clock.now
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
        agent.state = AgentState.IDLE
        self.clock.at(
            t + self._rng.expovariate(1.0 / behaviour.break_every_s),
            self._break_due,
            agent,
            agent.session,
        )
        if spec.dynamic:
            self.clock.at(
                t + behaviour.session.draw(self._rng), self._logout_due, agent, agent.session
            )
        if not quiet:
            self._ready(agent)

    def _logout_due(self, agent: Agent, session: int) -> None:
        if agent.session != session:
            return
        agent.pending = "logout"
        if agent.state == AgentState.IDLE:
            self._ready(agent)

    def _log_out(self, agent: Agent) -> None:
        t = self.clock.now
        for member in agent.members.values():
            self._writer.member_removed(t, member)
        agent.members = {}
        agent.state = AgentState.OFFLINE
        agent.pending = ""
        agent.session += 1
        for queue in agent.queues:
            if not queue.has_members():
                for caller in queue.waiting:
                    self.clock.at(
                        t + self._rng.uniform(0.1, 1.0),
                        self._give_up,
                        caller,
                        caller.stint,
                        "empty",
                    )
        self.clock.at(t + self.config.behaviour.offline.draw(self._rng), self._log_in, agent)
