"""Alerts: per-queue rules over the live board, raised and cleared with hysteresis.

Pure: :class:`AlertWatch` is handed each board snapshot in time order and returns the
state of every rule of every queue. A rule raises once its condition has held for
``for_s`` seconds without a break (a wait that crosses the line for a moment raises
nothing), and clears only when the figure is back on the good side of a second
threshold, so that a figure hovering at the line does not flap:

* ``longest_wait``: the longest current wait reaches ``longest_wait_s``; clears at or below
  ``longest_wait_clear_s``;
* ``waiting``: ``waiting`` callers or more wait; clears at ``waiting_clear`` or fewer;
* ``service_level``: the service level of the ``service_level_window`` is below
  ``service_level_below`` percent; clears at or above ``service_level_clear``. A window
  without calls has no service level and changes nothing;
* ``no_agent_available``: callers wait and no agent of the queue is available;
* ``agent_paused``: an agent of the queue has been paused for ``agent_paused_min``
  minutes or longer (the alert names them); clears when none is.

A threshold of 0 turns its rule off. ``[alerts]`` sets the rules of every queue and
``[queues.<name>.alerts]`` overrides them key by key for one queue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from collector.facts import AgentState
from collector.live import LiveAgent
from kpi.live_state import QueueLive

SERVICE_LEVEL_WINDOWS = ("15m", "60m", "today")


class AlertKind(StrEnum):
    """What an alert watches."""

    LONGEST_WAIT = "longest_wait"
    WAITING = "waiting"
    SERVICE_LEVEL = "service_level"
    NO_AGENT_AVAILABLE = "no_agent_available"
    AGENT_PAUSED = "agent_paused"


ALERT_LABELS = {
    AlertKind.LONGEST_WAIT: "longest wait",
    AlertKind.WAITING: "callers waiting",
    AlertKind.SERVICE_LEVEL: "service level",
    AlertKind.NO_AGENT_AVAILABLE: "no agent available",
    AlertKind.AGENT_PAUSED: "agent paused too long",
}
"""Each kind in words, for people."""


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """The alert rules (``[alerts]``): thresholds to raise and to clear at, and how long a
    condition must hold before it raises."""

    enabled: bool = True
    for_s: float = 10.0
    longest_wait_s: float = 120.0
    longest_wait_clear_s: float = 90.0
    waiting: int = 5
    waiting_clear: int = 2
    service_level_below: float = 60.0
    service_level_clear: float = 70.0
    service_level_window: str = "60m"
    no_agent_available: bool = True
    agent_paused_min: float = 30.0


@dataclass(frozen=True, slots=True)
class QueueAlertConfig:
    """One queue's overrides of :class:`AlertConfig` (``[queues.<name>.alerts]``); a key
    left out keeps the ``[alerts]`` value."""

    enabled: bool | None = None
    for_s: float | None = None
    longest_wait_s: float | None = None
    longest_wait_clear_s: float | None = None
    waiting: int | None = None
    waiting_clear: int | None = None
    service_level_below: float | None = None
    service_level_clear: float | None = None
    service_level_window: str | None = None
    no_agent_available: bool | None = None
    agent_paused_min: float | None = None


def merged(base: AlertConfig, override: QueueAlertConfig) -> AlertConfig:
    """``base`` with the keys ``override`` sets."""
    given = {f.name: getattr(override, f.name) for f in dataclasses.fields(override)}
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})


def config_problems(config: AlertConfig, where: str) -> list[tuple[str, str, str]]:
    """What makes a rule set unusable, as (key, problem, fix); ``where`` prefixes the keys."""
    found = []
    if config.for_s < 0:
        found.append((f"{where}.for_s", "must not be negative", "Use e.g. 10."))
    if config.service_level_window not in SERVICE_LEVEL_WINDOWS:
        found.append((f"{where}.service_level_window",
                       f"{config.service_level_window!r} is not one of "
                       f"{', '.join(SERVICE_LEVEL_WINDOWS)}", "Use one of those values."))
    pairs = (("longest_wait_clear_s", config.longest_wait_clear_s, "longest_wait_s",
              config.longest_wait_s),
             ("waiting_clear", config.waiting_clear, "waiting", config.waiting))
    for clear_key, clear, raise_key, raised in pairs:
        if raised and not 0 <= clear < raised:
            found.append((f"{where}.{clear_key}", f"{clear} is not below {raise_key} ({raised})",
                          "Clear below the raise threshold, or the alert would flap."))
    below, clear_sl = config.service_level_below, config.service_level_clear
    if below and not below <= clear_sl <= 100:
        found.append((f"{where}.service_level_clear",
                      f"{clear_sl} is not from service_level_below ({below}) to 100",
                      "Clear at or above the level that raises the alert, in percent."))
    return found


@dataclass(frozen=True, slots=True)
class Alert:
    """One rule of one queue right now.

    ``since``: when it was raised (active) or last cleared (``None``: never raised);
    ``value``: the figure it watches now (seconds, callers, a ratio; ``None``: none yet);
    ``threshold``: the value that raises it and ``clear`` the one that clears it
    (seconds, callers, a ratio; agents available for ``no_agent_available``);
    ``agents``: the agents an ``agent_paused`` alert is about.
    """

    queue: str
    kind: AlertKind
    active: bool
    since: float | None
    value: float | None
    threshold: float
    clear: float
    agents: tuple[str, ...] = ()


@dataclass(slots=True)
class _RuleState:
    active: bool = False
    since: float | None = None
    pending: float | None = None


@dataclass(frozen=True, slots=True)
class _Reading:
    """One rule's figure now, and whether it is on the raising or the clearing side
    (``None``: cannot tell, keep the state)."""

    value: float | None
    worse: bool | None
    better: bool | None
    threshold: float
    clear: float
    agents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueNow:
    """What the rules of one queue read: its live state, its service level over the rule's
    window, and its agents."""

    live: QueueLive
    service_level: float | None
    agents: Sequence[LiveAgent]


def _readings(rules: AlertConfig, now: QueueNow, at: float) -> dict[AlertKind, _Reading]:
    found: dict[AlertKind, _Reading] = {}
    live = now.live
    if rules.longest_wait_s > 0:
        wait = live.longest_wait_s if live.waiting else 0.0
        found[AlertKind.LONGEST_WAIT] = _Reading(
            wait, wait is not None and wait >= rules.longest_wait_s,
            wait is None or wait <= rules.longest_wait_clear_s,
            rules.longest_wait_s, rules.longest_wait_clear_s)
    if rules.waiting > 0:
        found[AlertKind.WAITING] = _Reading(
            live.waiting, live.waiting >= rules.waiting, live.waiting <= rules.waiting_clear,
            rules.waiting, rules.waiting_clear)
    if rules.service_level_below > 0:
        level = now.service_level
        below, clear = rules.service_level_below / 100.0, rules.service_level_clear / 100.0
        found[AlertKind.SERVICE_LEVEL] = _Reading(
            level, None if level is None else level < below,
            None if level is None else level >= clear, below, clear)
    if rules.no_agent_available:
        stranded = live.waiting > 0 and live.agents.available == 0
        found[AlertKind.NO_AGENT_AVAILABLE] = _Reading(
            live.agents.available, stranded, not stranded, 0, 1)
    if rules.agent_paused_min > 0:
        limit = rules.agent_paused_min * 60.0
        paused = sorted((a for a in now.agents if a.state is AgentState.PAUSED
                         and at - a.since >= limit), key=lambda a: a.since)
        longest = max((at - a.since for a in now.agents if a.state is AgentState.PAUSED),
                      default=0.0)
        found[AlertKind.AGENT_PAUSED] = _Reading(
            longest, bool(paused), not paused, limit, limit,
            tuple(a.name for a in paused))
    return found


@dataclass
class AlertWatch:
    """The alert rules of every queue, and what each has seen so far.

    ``config`` holds for every queue but those in ``queues``, which override it key by key.
    """

    config: AlertConfig = field(default_factory=AlertConfig)
    queues: Mapping[str, QueueAlertConfig] = field(default_factory=dict)
    _states: dict[tuple[str, AlertKind], _RuleState] = field(default_factory=dict)
    _at: float = float("-inf")

    def rules(self, queue: str) -> AlertConfig:
        """The rules of ``queue``: ``[alerts]`` with the queue's overrides."""
        override = self.queues.get(queue)
        return self.config if override is None else merged(self.config, override)

    def kinds(self, queue: str) -> tuple[AlertKind, ...]:
        """The rules that are on for ``queue``."""
        rules = self.rules(queue)
        if not rules.enabled:
            return ()
        on = {AlertKind.LONGEST_WAIT: rules.longest_wait_s > 0,
              AlertKind.WAITING: rules.waiting > 0,
              AlertKind.SERVICE_LEVEL: rules.service_level_below > 0,
              AlertKind.NO_AGENT_AVAILABLE: rules.no_agent_available,
              AlertKind.AGENT_PAUSED: rules.agent_paused_min > 0}
        return tuple(kind for kind, wanted in on.items() if wanted)

    def update(self, at: float, queues: Iterable[QueueNow]) -> tuple[Alert, ...]:
        """Every rule's state at ``at``, the queues read as they are now.

        Times must not go back: a reading older than the last one changes nothing.
        """
        moving = at >= self._at
        self._at = max(self._at, at)
        alerts = []
        for now in queues:
            queue = now.live.queue
            if queue is None:
                continue
            rules = self.rules(queue)
            if not rules.enabled:
                continue
            for kind, reading in _readings(rules, now, at).items():
                state = self._states.setdefault((queue, kind), _RuleState())
                if moving:
                    _step(state, reading, at, rules.for_s)
                alerts.append(Alert(queue, kind, state.active, state.since, reading.value,
                                    reading.threshold, reading.clear, reading.agents))
        return tuple(alerts)


def _step(state: _RuleState, reading: _Reading, at: float, for_s: float) -> None:
    """Move one rule: raise after its condition held ``for_s``, clear on the good side."""
    if state.active:
        if reading.better:
            state.active, state.since, state.pending = False, at, None
        return
    if reading.worse is None:
        return
    if not reading.worse:
        state.pending = None
        return
    if state.pending is None:
        state.pending = at
    if at - state.pending >= for_s:
        state.active, state.since, state.pending = True, at, None
