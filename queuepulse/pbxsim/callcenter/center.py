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

from queuepulse.pbxsim.callcenter.agents import AgentBehaviour
from queuepulse.pbxsim.callcenter.callers import CallerBehaviour
from queuepulse.pbxsim.callcenter.conversations import Conversations
from queuepulse.pbxsim.callcenter.ringing import Ringing
from queuepulse.pbxsim.callcenter.state import AgentState
from queuepulse.pbxsim.frames.queue_status import (
    queue_entry,
    queue_member,
    queue_params,
    queue_summary,
)
from queuepulse.pbxsim.scenario import DEFAULT_CENTER, CenterConfig
from queuepulse.pbxsim.snapshot import Snapshot


class CallCenter(CallerBehaviour, Ringing, Conversations, AgentBehaviour):
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
        super().__init__(config, seed, start, keep_truth)
        for agent in self._agents:
            if not agent.spec.dynamic or self._rng.random() < 0.7:
                self._log_in(agent, quiet=True)
            else:
                self.clock.at(start + config.behaviour.offline.draw(self._rng), self._log_in, agent)
        self.clock.at(start, self._arrival)

    @property
    def now(self) -> float:
        """The simulated moment the call center has reached."""
        return self.clock.now

    def advance(self, to_time: float) -> list[tuple[float, str]]:
        """Run the simulation up to ``to_time``; return the frames made, as (timestamp, text)."""
        self.clock.run_until(to_time)
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
        now = int(self.clock.now)
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
            available = sum(
                1 for a in queue.agents if spec.name in a.members and a.state is AgentState.IDLE)
            first = queue.waiting[0].stint if queue.waiting else None
            summary.append(queue_summary(
                spec.name, logged_in=len(members), available=available,
                callers=len(queue.waiting), holdtime=queue.holdtime, talktime=queue.talktime,
                longest=now - int(first.entered_at) if first is not None else 0))
        return Snapshot(tuple(status), tuple(summary))
