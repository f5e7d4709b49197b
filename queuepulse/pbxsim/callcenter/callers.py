"""Callers: arriving with the day's traffic, joining a queue, waiting with a patience of
their own, and leaving it unanswered (a hang-up, the queue's timeout, an emptied queue,
an exit key).

Callers arrive as a Poisson process whose rate follows the time of day
(`queuepulse.pbxsim.scenario.CenterConfig.day_shape`), hear a greeting, and join the
queue their number leads to.
"""

from __future__ import annotations

from queuepulse.pbxsim.ami_objects import Channel
from queuepulse.pbxsim.callcenter.base import CenterBase
from queuepulse.pbxsim.callcenter.state import Caller, CallerState, Queue, Stint
from queuepulse.pbxsim.scenario import CALLER_NAMES
from queuepulse.pbxsim.truth import Outcome

_OUTCOMES = {
    "abandon": Outcome.ABANDONED,
    "timeout": Outcome.TIMEOUT,
    "empty": Outcome.EXIT_EMPTY,
    "key": Outcome.EXIT_KEY,
}
_IN_QUEUE = (CallerState.WAITING, CallerState.RINGING)


class CallerBehaviour(CenterBase):
    """What callers do until an agent answers, or instead of being answered."""

    def _arrival(self) -> None:
        if not self._arrivals:
            return
        config = self.config
        t = self.clock.now
        hour = int(((t + config.utc_offset_h * 3600.0) // 3600.0) % 24)
        if self._rng.random() * self._shape_peak < config.day_shape[hour]:
            queue = self._rng.choices(list(self._queues.values()), self._shares)[0]
            cid = (f"0{self._rng.randrange(200000000, 999999999)}", self._rng.choice(CALLER_NAMES))
            self._call(cid, queue)
        self.clock.at(t + self._rng.expovariate(config.calls_per_hour / 3600.0), self._arrival)

    def _call(self, cid: tuple[str, str], queue: Queue) -> None:
        config = self.config
        t = self.clock.now
        channel = self._writer.incoming_call(t, config.trunk, cid, queue.spec.did, queue.spec.name)
        greeted = t + self._rng.uniform(*config.behaviour.greeting_s)
        self.clock.at(greeted, self._join, Caller(channel), queue)

    def _join(self, caller: Caller, queue: Queue) -> None:
        t = self.clock.now
        behaviour = self.config.behaviour
        stint = Stint(queue, t, len(queue.waiting) + 1)
        caller.stint = stint
        caller.state = CallerState.WAITING
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
        self.clock.at(caller.timeout_at, self._give_up, caller, stint, "timeout")
        if self._rng.random() < behaviour.short_abandon_share:
            patience = self._rng.uniform(0.5, 4.5)
        else:
            patience = behaviour.patience.draw(self._rng)
        if patience < queue.spec.max_wait_s:
            self.clock.at(t + patience, self._give_up, caller, stint, "abandon")
        if self._rng.random() < behaviour.exit_key_share:
            key_at = t + self._rng.uniform(3.0, min(patience, queue.spec.max_wait_s))
            self.clock.at(key_at, self._give_up, caller, stint, "key")
        if not queue.has_members():
            self.clock.at(t + self._rng.uniform(0.2, 1.0), self._give_up, caller, stint, "empty")
        self._dispatch(queue)

    def _give_up(self, caller: Caller, stint: Stint, how: str) -> None:
        """The caller leaves the queue unanswered: hang-up, timeout, empty queue or exit key."""
        if caller.stint is not stint or caller.state not in _IN_QUEUE:
            return
        if how == "key" and caller.state == CallerState.RINGING:
            return
        if how == "empty" and stint.queue.has_members():
            return
        t = self.clock.now
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
        if how == "abandon":
            self._gave_up(caller, queue)
        caller.state = CallerState.GONE
        if how != "abandon":
            done = t + self._rng.uniform(*self.config.behaviour.after_queue_s)
            self.clock.at(done, self._hang_up, caller, None)
        self._record(caller, stint, _OUTCOMES[how], t)
        for agent, _, _ in ringing:
            self._ready(agent)

    def _hang_up(self, caller: Caller, peer: Channel | None) -> None:
        self._writer.caller_hangs_up(self.clock.now, caller.channel, peer)

    def _gave_up(self, caller: Caller, queue: Queue) -> None:
        """A caller who hung up waiting is to be called back, and may call again."""
        behaviour = self.config.behaviour
        cid = (caller.channel.cid_num, caller.channel.cid_name)
        self._to_call_back.append(cid[0])
        if self._callback_rng.random() < behaviour.call_again_share:
            later = self.clock.now + behaviour.call_again.draw(self._callback_rng)
            self.clock.at(later, self._call_again, cid, queue)

    def _call_again(self, cid: tuple[str, str], queue: Queue) -> None:
        if self._arrivals:
            if cid[0] in self._to_call_back:
                self._to_call_back.remove(cid[0])  # nobody calls back a caller on the line
            self._call(cid, queue)
