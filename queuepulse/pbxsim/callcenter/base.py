"""What every part of the simulated call center shares, and what each part offers the others.

`CenterBase` holds the configuration, the simulated clock, chance, the frame writer, the
queues, the agents and the truth. The behaviours are mixins over it, one module each:
callers (`callers.CallerBehaviour`), app_queue ringing members (`ringing.Ringing`),
connected calls (`conversations.Conversations`) and agents between calls
(`agents.AgentBehaviour`); `center.CallCenter` puts them together. The happenings one
behaviour starts in another are declared here, so that each module reads on its own.
"""

from __future__ import annotations

import abc
import random

from queuepulse.pbxsim.ami_objects import Channel, Ids
from queuepulse.pbxsim.callcenter.clock import SimClock
from queuepulse.pbxsim.callcenter.state import Agent, Caller, Queue, Stint
from queuepulse.pbxsim.frames import AmiWriter
from queuepulse.pbxsim.scenario import CenterConfig
from queuepulse.pbxsim.truth import AcwSource, EndReason, Outcome, TrueStint


class CenterBase(abc.ABC):
    """The state of a seeded call center simulation; see `CallCenter` for the arguments."""

    def __init__(self, config: CenterConfig, seed: int, start: float, keep_truth: bool) -> None:
        self.config = config
        self.clock = SimClock(start)
        self.start = start
        self.truth: list[TrueStint] = []
        self._keep_truth = keep_truth
        self._rng = random.Random(seed)
        self._callback_rng = random.Random(seed + 3)
        """Chance for calling again and calling back, apart so that the rest stays as it was."""
        self._to_call_back: list[str] = []
        """The numbers of callers who gave up waiting, oldest first: what agents call back."""
        self._writer = AmiWriter(Ids(random.Random(seed + 1)), random.Random(seed + 2))
        self._arrivals = True
        self._queues = {spec.name: Queue(spec) for spec in config.queues}
        self._shares = [spec.share for spec in config.queues]
        self._shape_peak = max(config.day_shape)
        self._agents = [
            Agent(spec, [self._queues[q] for q in spec.queues]) for spec in config.agents
        ]
        for queue in self._queues.values():
            queue.agents = [a for a in self._agents if queue.spec.name in a.spec.queues]
            queue.order = {a: i for i, a in enumerate(queue.agents)}

    def _record(
        self,
        caller: Caller,
        stint: Stint,
        outcome: Outcome,
        left_at: float,
        ended: tuple[float, EndReason] | None = None,
        acw: tuple[float | None, AcwSource] = (None, AcwSource.NONE),
    ) -> None:
        """Keep the truth about a finished stint (unless told not to)."""
        if self._keep_truth:
            self.truth.append(stint.truth(caller.channel, outcome, left_at, ended, acw))

    # -- callers (callers.py) ---------------------------------------------------------

    @abc.abstractmethod
    def _join(self, caller: Caller, queue: Queue) -> None:
        """The caller enters ``queue``'s waiting list."""

    @abc.abstractmethod
    def _give_up(self, caller: Caller, stint: Stint, how: str) -> None:
        """The caller leaves the queue unanswered: hang-up, timeout, empty queue or exit key."""

    @abc.abstractmethod
    def _hang_up(self, caller: Caller, peer: Channel | None) -> None:
        """A caller no longer in any queue hangs up (with ``peer``, if bridged to one)."""

    @abc.abstractmethod
    def _call(self, cid: tuple[str, str], queue: Queue) -> None:
        """A caller calls ``queue`` from the number and name ``cid``."""

    # -- ringing (ringing.py) ---------------------------------------------------------

    @abc.abstractmethod
    def _dispatch(self, queue: Queue) -> None:
        """Ring free members for the waiting callers, as the queue's strategy picks them."""

    # -- connected calls (conversations.py) ---------------------------------------------

    @abc.abstractmethod
    def _plan_conversation(self, caller: Caller, stint: Stint, agent: Agent) -> None:
        """Decide the answered call's talk, holds and end, and schedule them."""

    # -- agents (agents.py) -------------------------------------------------------------

    @abc.abstractmethod
    def _ready(self, agent: Agent) -> None:
        """The agent is free again: a pending logout or break comes first, else it takes calls."""

    @abc.abstractmethod
    def _after_call(self, agent: Agent, caller: Caller, stint: Stint, reason: EndReason) -> None:
        """The agent's after-call work: an ACW pause, the queue's wrapuptime, or none."""
