"""What a simulated call center is made of: queues, agents, traffic and behaviour.

The queues stand for a FreePBX-style ``queues.conf`` with ``joinempty = no``,
``leavewhenempty = loose`` (a caller leaves a queue that has no member at all),
``shared_lastcall = yes`` (a queue's wrapuptime keeps the agent from every queue) and
no autopause. ``wrapuptime`` is invisible in AMI, so whoever reads the simulated stream
has to be told it (``CenterConfig.wrapuptimes``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

STRATEGIES = ("rrmemory", "ringall", "leastrecent")


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """One queue of queues.conf, and the share of the calls it gets."""

    name: str
    strategy: str
    extension: str
    did: str
    member_timeout_s: float = 15.0
    retry_s: float = 2.0
    wrapuptime_s: float = 0.0
    service_level_s: int = 20
    max_wait_s: float = 180.0
    share: float = 1.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"queue {self.name}: strategy {self.strategy!r} is not simulated; "
                f"use one of {', '.join(STRATEGIES)}"
            )


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent: a queue member, either a Local channel (FreePBX style) or a PJSIP phone.

    A Local member is ``Local/<login>@agents/n`` whose dialplan rings the phone
    ``PJSIP/<login>``; a phone member is ``PJSIP/<login>`` itself. A dynamic agent logs
    in and out (QueueMemberAdded/Removed); a static one is always a member.
    """

    name: str
    login: str
    queues: tuple[str, ...]
    phone_member: bool = False
    dynamic: bool = False
    penalty: int = 0

    @property
    def interface(self) -> str:
        """The member's interface (``Interface``/``Location`` in AMI)."""
        return f"PJSIP/{self.login}" if self.phone_member else f"Local/{self.login}@agents/n"

    @property
    def state_interface(self) -> str:
        """The device whose state app_queue follows for this member."""
        return f"PJSIP/{self.login}" if self.phone_member else f"Local/{self.login}@agents"


@dataclass(frozen=True, slots=True)
class Spread:
    """A log-normal duration: half the draws are below ``median_s``; capped at ``max_s``."""

    median_s: float
    sigma: float
    max_s: float

    def draw(self, rng: random.Random) -> float:
        """One duration, drawn from ``rng``."""
        return min(self.max_s, self.median_s * math.exp(rng.gauss(0.0, self.sigma)))


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How callers and agents behave; shares are probabilities, durations in seconds."""

    greeting_s: tuple[float, float] = (2.0, 6.0)
    patience: Spread = Spread(150.0, 0.9, 1800.0)
    short_abandon_share: float = 0.05
    exit_key_share: float = 0.02
    answer_delay_s: tuple[float, float] = (1.0, 6.0)
    no_answer_share: float = 0.05
    talk: Spread = Spread(140.0, 0.7, 1800.0)
    hold_counts: tuple[float, float, float] = (0.7, 0.2, 0.1)
    hold: Spread = Spread(25.0, 0.6, 300.0)
    caller_hangs_up_share: float = 0.3
    blind_transfer_share: float = 0.05
    blind_to_queue_share: float = 0.5
    attended_transfer_share: float = 0.05
    consult: Spread = Spread(20.0, 0.5, 120.0)
    acw_pause_share: float = 0.35
    acw: Spread = Spread(30.0, 0.6, 600.0)
    acw_then_break_share: float = 0.1
    break_every_s: float = 2400.0
    short_break: Spread = Spread(300.0, 0.4, 1200.0)
    lunch_share: float = 0.15
    lunch: Spread = Spread(1800.0, 0.2, 3600.0)
    session: Spread = Spread(2700.0, 0.5, 14400.0)
    offline: Spread = Spread(480.0, 0.6, 3600.0)
    after_queue_s: tuple[float, float] = (5.0, 40.0)
    call_again_share: float = 0.3
    """Of the callers who gave up waiting, those who call again later."""
    call_again: Spread = Spread(900.0, 0.8, 7200.0)
    callback_share: float = 0.15
    """The chance that an agent who becomes free first calls back a caller who gave up."""
    callback_answer_share: float = 0.7
    callback_ring_s: tuple[float, float] = (5.0, 25.0)


DAY_SHAPE: tuple[float, ...] = (
    # 0h  1h    2h    3h    4h    5h    6h    7h    8h    9h    10h   11h
    0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.20, 0.45, 0.80, 1.00, 1.00, 0.95,
    # 12h 13h   14h   15h   16h   17h   18h   19h   20h   21h   22h   23h
    0.70, 0.75, 0.90, 0.95, 0.85, 0.60, 0.35, 0.25, 0.18, 0.12, 0.08, 0.06,
)  # fmt: skip
"""Arrivals per hour of the local day, relative to the peak (morning and afternoon peaks)."""

FLAT_DAY: tuple[float, ...] = (1.0,) * 24
"""The same rate around the clock (for demos and benchmarks that want steady traffic)."""


@dataclass(frozen=True, slots=True)
class CenterConfig:
    """A whole call center.

    ``calls_per_hour`` is the arrival rate at the day's peak; ``day_shape`` gives the
    rate of each local hour relative to it, ``utc_offset_h`` places the simulated clock
    in a time zone. ``transfer_targets`` are the extensions agents transfer callers to
    (a survey, a back office); ``supervisors`` answer attended transfers.
    """

    queues: tuple[QueueSpec, ...]
    agents: tuple[AgentSpec, ...]
    calls_per_hour: float = 110.0
    day_shape: tuple[float, ...] = DAY_SHAPE
    utc_offset_h: float = 0.0
    behaviour: Behaviour = field(default_factory=Behaviour)
    trunk: str = "telco"
    transfer_targets: tuple[str, ...] = ("700", "8100")
    supervisors: tuple[str, ...] = ("300", "301")

    def __post_init__(self) -> None:
        names = {q.name for q in self.queues}
        for agent in self.agents:
            unknown = set(agent.queues) - names
            if unknown:
                raise ValueError(
                    f"agent {agent.name} is a member of unknown queue(s) {sorted(unknown)}; "
                    "add them to CenterConfig.queues"
                )
        if len(self.day_shape) != 24 or min(self.day_shape) < 0 or max(self.day_shape) <= 0:
            raise ValueError("day_shape needs 24 non-negative hourly factors, at least one > 0")

    @property
    def wrapuptimes(self) -> dict[str, float]:
        """Each queue's wrapuptime, for a collector's configuration (AMI does not carry it)."""
        return {q.name: q.wrapuptime_s for q in self.queues if q.wrapuptime_s > 0}


DEFAULT_CENTER = CenterConfig(
    queues=(
        QueueSpec(
            "support",
            "rrmemory",
            "7001",
            "18005550101",
            service_level_s=20,
            max_wait_s=180.0,
            share=0.5,
        ),
        QueueSpec(
            "sales",
            "ringall",
            "7002",
            "18005550102",
            member_timeout_s=12.0,
            wrapuptime_s=6.0,
            service_level_s=30,
            max_wait_s=120.0,
            share=0.3,
        ),
        QueueSpec(
            "billing",
            "leastrecent",
            "7003",
            "18005550103",
            service_level_s=30,
            max_wait_s=150.0,
            share=0.2,
        ),
    ),
    agents=(
        AgentSpec("Agent One", "agent1", ("support",)),
        AgentSpec("Agent Two", "agent2", ("support",)),
        AgentSpec("Agent Three", "agent3", ("support", "sales")),
        AgentSpec("Agent Four", "agent4", ("sales",)),
        AgentSpec("Agent Five", "201", ("support",), phone_member=True),
        AgentSpec("Agent Six", "202", ("sales", "support"), phone_member=True),
        AgentSpec("Agent Seven", "agent7", ("billing",), dynamic=True),
        AgentSpec("Agent Eight", "203", ("billing",), phone_member=True, dynamic=True),
        AgentSpec("Agent Nine", "agent9", ("support",), dynamic=True, penalty=1),
        AgentSpec("Agent Ten", "agent10", ("sales",)),
    ),
)
"""Three queues (rrmemory, ringall with a 6 s wrapuptime, leastrecent) and ten agents.

Billing is staffed by dynamic agents only, so callers sometimes find it empty."""

CALLER_NAMES: tuple[str, ...] = (
    "John Smith", "Anna Müller", "Leïla Benali", "José García", "Søren Østergaard",
    "Chloé Dubois", "Łukasz Nowak", "Mary O'Brien",
    "محمد الأحمد", "فاطمة الزهراء", "أحمد حسن", "ليلى خالد",
    "דוד כהן", "שרה לוי", "יוסי מזרחי", "נועה פרץ",  # noqa: RUF001 - Hebrew on purpose
    "王小明", "李娜", "张伟", "陈静",
)  # fmt: skip
"""Caller names in Latin, Arabic, Hebrew and Chinese script."""
