"""app_queue ringing members for the waiting callers: by the queue's strategy (rrmemory,
ringall, leastrecent), until a member answers or its member timeout runs out.
"""

from __future__ import annotations

from queuepulse.pbxsim.callcenter.base import CenterBase
from queuepulse.pbxsim.callcenter.state import Agent, AgentState, Caller, CallerState, Queue


class Ringing(CenterBase):
    """The queue's side of a call: ringing free members, no answer, an answer."""

    def _dispatch(self, queue: Queue) -> None:
        """Ring free members for the waiting callers, as the queue's strategy picks them."""
        if not queue.waiting:
            return
        name = queue.spec.name
        free = [a for a in queue.agents if a.state == AgentState.IDLE and name in a.members]
        if not free:
            return
        strategy = queue.spec.strategy
        for caller in list(queue.waiting):
            if not free:
                break
            if caller.state != CallerState.WAITING or caller.retry_at > self.clock.now:
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

    def _ring(self, caller: Caller, agents: list[Agent]) -> None:
        stint = caller.stint
        assert stint is not None
        t = self.clock.now
        spec = stint.queue.spec
        behaviour = self.config.behaviour
        caller.state = CallerState.RINGING
        caller.ring_round += 1
        end = min(t + spec.member_timeout_s, caller.timeout_at)
        answer: tuple[float, Agent] | None = None
        for agent in agents:
            agent.state = AgentState.BUSY
            member = agent.members[spec.name]
            leg = self._writer.ring(
                t, caller.channel, member, agent.spec.login, agent.spec.phone_member
            )
            caller.legs.append((agent, member, leg))
            if self._rng.random() >= behaviour.no_answer_share:
                at = t + self._rng.uniform(*behaviour.answer_delay_s)
                if at < end and (answer is None or at < answer[0]):
                    answer = (at, agent)
        if answer is None:
            self.clock.at(end, self._no_answer, caller, caller.ring_round)
        else:
            self.clock.at(answer[0], self._answer, caller, caller.ring_round, answer[1])

    def _no_answer(self, caller: Caller, ring_round: int) -> None:
        stint = caller.stint
        if caller.state != CallerState.RINGING or caller.ring_round != ring_round or stint is None:
            return
        t = self.clock.now
        legs = caller.legs
        caller.legs = []
        self._writer.ring_no_answer(t, caller.channel, [(m, leg) for _, m, leg in legs])
        stint.ring_noanswer += len(legs)
        caller.state = CallerState.WAITING
        caller.retry_at = t + stint.queue.spec.retry_s
        self.clock.at(caller.retry_at, self._dispatch, stint.queue)
        for agent, _, _ in legs:
            self._ready(agent)

    def _answer(self, caller: Caller, ring_round: int, agent: Agent) -> None:
        stint = caller.stint
        if caller.state != CallerState.RINGING or caller.ring_round != ring_round or stint is None:
            return
        t = self.clock.now
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
        caller.state = CallerState.CONNECTED
        self._plan_conversation(caller, stint, agent)
        for other, _, _ in others:
            self._ready(other)
