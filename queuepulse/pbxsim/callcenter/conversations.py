"""Connected calls: talk, holds, a consultation with a supervisor, and how the call ends
(the agent or the caller hangs up, or the agent transfers the caller, blind or attended).

The conversation is planned when the agent answers: its talk, holds and end are drawn
at once and scheduled.
"""

from __future__ import annotations

from queuepulse.pbxsim.ami_objects import Member
from queuepulse.pbxsim.callcenter.base import CenterBase
from queuepulse.pbxsim.callcenter.state import Agent, Caller, CallerState, Stint
from queuepulse.pbxsim.truth import EndReason

_END_REASONS = {
    "agent": EndReason.AGENT,
    "caller": EndReason.CALLER,
    "blind": EndReason.TRANSFER,
    "attended": EndReason.TRANSFER,
}


class Conversations(CenterBase):
    """What a caller and an agent do once connected, until the call ends."""

    def _plan_conversation(self, caller: Caller, stint: Stint, agent: Agent) -> None:
        """Decide the call's talk, holds and end, and schedule them."""
        behaviour = self.config.behaviour
        rng = self._rng
        t = self.clock.now
        talk = behaviour.talk.draw(rng)
        holds = [
            behaviour.hold.draw(rng)
            for _ in range(rng.choices((0, 1, 2), behaviour.hold_counts)[0])
        ]
        at = t
        talked = 0.0
        for cut, hold in zip(sorted(rng.uniform(0.0, talk) for _ in holds), holds, strict=True):
            at += cut - talked
            talked = cut
            self.clock.at(at, self._hold, caller, stint, True)
            at += hold
            self.clock.at(at, self._hold, caller, stint, False)
        at += talk - talked
        roll = rng.random()
        attended = behaviour.attended_transfer_share
        blind = attended + behaviour.blind_transfer_share
        if roll < attended and agent.spec.phone_member:
            target = rng.choice(self.config.supervisors)
            self.clock.at(at, self._hold, caller, stint, True)
            self.clock.at(at + 0.5, self._consult, caller, stint, target)
            at += 0.5 + rng.uniform(2.0, 6.0)
            self.clock.at(at, self._consult_answered, caller, stint)
            ended = at + behaviour.consult.draw(rng)
            self.clock.at(ended, self._end_call, caller, stint, "attended")
        elif roll < blind:
            self.clock.at(at, self._end_call, caller, stint, "blind")
        elif roll < blind + behaviour.caller_hangs_up_share:
            self.clock.at(at, self._end_call, caller, stint, "caller")
        else:
            self.clock.at(at, self._end_call, caller, stint, "agent")

    def _hold(self, caller: Caller, stint: Stint, on_hold: bool) -> None:
        agent = stint.agent
        if (
            caller.stint is not stint
            or caller.state != CallerState.CONNECTED
            or agent is None
            or agent.leg is None
        ):
            return
        t = self.clock.now
        self._writer.hold(t, agent.leg, on_hold)
        if on_hold:
            stint.hold_started = t
            stint.hold_count += 1
        elif stint.hold_started is not None:
            stint.hold_s += t - stint.hold_started
            stint.hold_started = None

    def _consult(self, caller: Caller, stint: Stint, target: str) -> None:
        agent = stint.agent
        if caller.stint is stint and agent is not None and agent.leg is not None:
            agent.consult = self._writer.consult(self.clock.now, agent.leg, target)

    def _consult_answered(self, caller: Caller, stint: Stint) -> None:
        agent = stint.agent
        if caller.stint is stint and agent is not None and agent.consult is not None:
            self._writer.consult_answered(self.clock.now, agent.consult)

    def _end_call(self, caller: Caller, stint: Stint, how: str) -> None:
        agent = stint.agent
        if caller.stint is not stint or caller.state != CallerState.CONNECTED or agent is None:
            return
        leg, bridge, answered = agent.leg, agent.bridge, stint.answered_at
        assert leg is not None and bridge is not None and answered is not None
        t = self.clock.now
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
        caller.state = CallerState.GONE
        if how == "agent":
            writer.agent_hangs_up(t, caller.channel, members, leg, bridge, times)
        elif how == "caller":
            writer.caller_hangs_up_connected(t, caller.channel, members, leg, bridge, times)
        elif how == "attended":
            consult = agent.consult
            assert consult is not None
            writer.attended_transfer(t, caller.channel, members, leg, bridge, consult, times)
            stint.transfer_to = consult.target.cid_num
            talked = t + self.config.behaviour.talk.draw(self._rng)
            self.clock.at(talked, self._hang_up, caller, consult.target)
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
        caller: Caller,
        stint: Stint,
        agent: Agent,
        members: list[Member],
        times: tuple[float, float],
    ) -> None:
        t = self.clock.now
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
            self.clock.at(t + 0.05, self._join, caller, target)
            return
        exten = rng.choice(self.config.transfer_targets)
        stint.transfer_to = exten
        self._writer.blind_transfer(
            t, caller.channel, members, leg, bridge, ("from-internal", exten), times
        )
        self._writer.transferred_caller_arrives(
            t, caller.channel, "Playback", f"custom/ext-{exten}"
        )
        self.clock.at(
            t + self._rng.uniform(*self.config.behaviour.after_queue_s), self._hang_up, caller, None
        )
