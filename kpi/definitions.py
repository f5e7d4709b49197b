"""The call KPIs: one definition each, pure functions over call records.

The live board and the reports both call :func:`call_kpis`; nothing else computes a call
KPI. ``docs/kpis.md`` states every definition with its formula and an example, and names
the function here that implements it.

Two attribution rules decide which calls a window holds:

* counts, service level, waits and rates take the calls that **entered** the queue in the
  window (``entered_at``);
* handle-time figures (talk, hold, ACW, AHT) take the calls whose after-call work
  **ended** in the window (``ended_at + acw_s``), because that is when the work is done.

A ratio whose denominator is zero is ``None`` ("no data"), never 0 or 100 %.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from collector.config import Config
from collector.facts import CallRecord, Outcome
from kpi.windows import Window

SERVICE_LEVEL_VARIANTS = ("answered", "offered", "sl2")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class KpiSettings:
    """The thresholds the definitions use (``[kpi]`` and ``[queues.*]`` in the config)."""

    service_level_s: int = 20
    queue_service_level_s: Mapping[str, int] = field(default_factory=dict)
    service_level_variant: str = "answered"
    short_abandon_s: float = 5.0
    repeat_window_s: float = 24 * 3600.0
    agent_hourly: float = 0.0
    trunk_per_minute: float = 0.0

    def threshold(self, queue: str) -> int:
        """The service-level threshold of ``queue``: its own, else the global one."""
        return self.queue_service_level_s.get(queue, self.service_level_s)

    @property
    def costed(self) -> bool:
        """Whether cost rates are set, so that cost per call is reported."""
        return self.agent_hourly > 0 or self.trunk_per_minute > 0


def settings_from_config(config: Config) -> KpiSettings:
    """The KPI settings a configuration gives."""
    return KpiSettings(
        service_level_s=config.kpi.service_level_s,
        queue_service_level_s={
            name: queue.service_level_s
            for name, queue in config.queues.items()
            if queue.service_level_s is not None
        },
        service_level_variant=config.kpi.service_level_variant,
        short_abandon_s=config.kpi.short_abandon_s,
        repeat_window_s=config.kpi.repeat_window_h * 3600.0,
        agent_hourly=config.kpi.cost.agent_hourly,
        trunk_per_minute=config.kpi.cost.trunk_per_minute,
    )


# -- the building blocks ---------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when there is nothing to divide by."""
    if denominator <= 0:
        return None
    return numerator / denominator


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or ``None`` for no values."""
    return math.fsum(values) / len(values) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile: the smallest value with ``p`` % at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def is_answered(call: CallRecord) -> bool:
    """An agent connected, whether or not the end of the call was seen."""
    return call.answered_at is not None or call.outcome is Outcome.ANSWERED


def is_abandoned(call: CallRecord) -> bool:
    """The caller hung up while waiting (short abandons included)."""
    return call.outcome is Outcome.ABANDONED and call.answered_at is None


def is_short_abandon(call: CallRecord, settings: KpiSettings) -> bool:
    """An abandon sooner than ``kpi.short_abandon_s``: a misdial, left out of SL and rates."""
    return is_abandoned(call) and call.wait_s is not None and call.wait_s < settings.short_abandon_s


def in_service_level(call: CallRecord, settings: KpiSettings) -> bool:
    """The call's wait was within its queue's service-level threshold (inclusive)."""
    return call.wait_s is not None and call.wait_s <= settings.threshold(call.queue)


def handled_at(call: CallRecord) -> float | None:
    """When the work on an answered call was done: its end plus its after-call work."""
    if call.answered_at is None or call.ended_at is None or call.outcome is not Outcome.ANSWERED:
        return None
    return call.ended_at + (call.acw_s or 0.0)


def trunk_seconds(call: CallRecord) -> float:
    """How long the call held a trunk in the queue: wait plus talk plus hold."""
    return (call.wait_s or 0.0) + (call.talk_s or 0.0) + (call.hold_s or 0.0)


def caller_key(number: str) -> str | None:
    """The caller number used to spot repeat callers; ``None`` when it identifies nobody."""
    return number if _DIGIT.search(number) else None


class CallerIndex:
    """Every known call by caller number, to tell whether a caller called again."""

    def __init__(self, calls: Iterable[CallRecord] = ()) -> None:
        self._entries: dict[str, list[tuple[float, str]]] = {}
        for call in calls:
            self.add(call)

    def add(self, call: CallRecord) -> None:
        """Remember a call (any queue, any outcome)."""
        key = caller_key(call.caller_num)
        if key is not None:
            bisect.insort(self._entries.setdefault(key, []), (call.entered_at, call.linkedid))

    def forget_before(self, at: float) -> None:
        """Drop calls that entered before ``at``."""
        for key in list(self._entries):
            entries = self._entries[key]
            del entries[: bisect.bisect_left(entries, (at, ""))]
            if not entries:
                del self._entries[key]

    def called_again(self, call: CallRecord, within_s: float) -> bool | None:
        """Whether the caller entered a queue again, on another call, within ``within_s``.

        ``None`` when the caller number identifies nobody (empty, anonymous).
        """
        key = caller_key(call.caller_num)
        if key is None:
            return None
        entries = self._entries.get(key, [])
        start = bisect.bisect_right(entries, (call.entered_at, "\U0010ffff"))
        for entered_at, linkedid in entries[start:]:
            if entered_at > call.entered_at + within_s:
                break
            if linkedid != call.linkedid:
                return True
        return False


# -- the KPIs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallKpis:
    """The call KPIs of one queue (or all queues) over one window; see docs/kpis.md."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    timed_out: int
    exit_key: int
    exit_empty: int
    unknown: int
    transferred: int
    answered_in_sl: int
    abandoned_in_sl: int
    service_level: float | None
    service_level_answered: float | None
    service_level_offered: float | None
    service_level_sl2: float | None
    abandon_rate: float | None
    transfer_rate: float | None
    asa_s: float | None
    wait_p50_s: float | None
    wait_p90_s: float | None
    longest_wait_s: float | None
    handled: int
    avg_talk_s: float | None
    avg_hold_s: float | None
    hold_rate: float | None
    avg_acw_s: float | None
    aht_s: float | None
    repeat_rate: float | None
    fcr: float | None
    trunk_minutes: float


def service_level(answered: int, abandoned: int, offered: int, answered_in_sl: int,
                  abandoned_in_sl: int, variant: str) -> float | None:
    """The service level of one variant, short abandons already left out of every count.

    ``answered``: answered in SL / (answered + abandoned); ``offered``: answered in SL /
    offered; ``sl2``: (answered in SL + abandoned in SL) / (answered + abandoned), like
    Asterisk's ServicelevelPerf2.
    """
    if variant == "answered":
        return ratio(answered_in_sl, answered + abandoned)
    if variant == "offered":
        return ratio(answered_in_sl, offered)
    if variant == "sl2":
        return ratio(answered_in_sl + abandoned_in_sl, answered + abandoned)
    raise ValueError(f"unknown service level variant {variant!r}; use one of "
                     f"{', '.join(SERVICE_LEVEL_VARIANTS)}")


def call_kpis(calls: Iterable[CallRecord], window: Window, settings: KpiSettings,
              callers: CallerIndex | None = None) -> CallKpis:
    """The call KPIs over ``window`` of the given calls (one queue's, or every queue's).

    ``calls`` may hold calls outside the window: each figure picks its own (see the
    module's attribution rules). ``callers`` indexes every call, of every queue, that may be
    a repeat call; without it the repeat-caller rate and FCR are ``None``.
    """
    calls = list(calls)
    entered = [c for c in calls if c.entered_at in window]
    answered = [c for c in entered if is_answered(c)]
    abandons = [c for c in entered if is_abandoned(c)]
    short = [c for c in abandons if is_short_abandon(c, settings)]
    abandoned = [c for c in abandons if not is_short_abandon(c, settings)]
    unanswered = [c for c in entered if not is_answered(c)]
    offered = len(entered)
    answered_in_sl = sum(1 for c in answered if in_service_level(c, settings))
    abandoned_in_sl = sum(1 for c in abandoned if in_service_level(c, settings))
    variants = {
        v: service_level(len(answered), len(abandoned), offered - len(short), answered_in_sl,
                         abandoned_in_sl, v)
        for v in SERVICE_LEVEL_VARIANTS
    }
    waits = [c.wait_s for c in answered if c.wait_s is not None]
    handled = [c for c in calls if (h := handled_at(c)) is not None and h in window]
    talks = [c.talk_s for c in handled if c.talk_s is not None]
    # a call imported from queue_log has no observed hold: it counts in neither part
    hold_observed = [c for c in handled if c.hold_s is not None]
    holds = [c.hold_s for c in hold_observed if c.hold_s is not None]
    acws = [c.acw_s for c in handled if c.acw_s is not None]
    repeat = _repeat_rate(answered, callers, settings.repeat_window_s)
    transferred = sum(1 for c in answered if c.transferred)
    return CallKpis(
        offered=offered,
        answered=len(answered),
        abandoned=len(abandoned),
        short_abandoned=len(short),
        timed_out=sum(1 for c in unanswered if c.outcome is Outcome.TIMEOUT),
        exit_key=sum(1 for c in unanswered if c.outcome is Outcome.EXIT_KEY),
        exit_empty=sum(1 for c in unanswered if c.outcome is Outcome.EXIT_EMPTY),
        unknown=sum(1 for c in unanswered if c.outcome is Outcome.UNKNOWN),
        transferred=transferred,
        answered_in_sl=answered_in_sl,
        abandoned_in_sl=abandoned_in_sl,
        service_level=variants[settings.service_level_variant],
        service_level_answered=variants["answered"],
        service_level_offered=variants["offered"],
        service_level_sl2=variants["sl2"],
        abandon_rate=ratio(len(abandoned), offered - len(short)),
        transfer_rate=ratio(transferred, len(answered)),
        asa_s=mean(waits),
        wait_p50_s=percentile(waits, 50),
        wait_p90_s=percentile(waits, 90),
        longest_wait_s=max(waits, default=None),
        handled=len(handled),
        avg_talk_s=mean(talks),
        avg_hold_s=mean(holds),
        hold_rate=ratio(sum(1 for c in hold_observed if c.hold_count > 0), len(hold_observed)),
        avg_acw_s=mean(acws),
        aht_s=mean([c.handle_s for c in handled if c.handle_s is not None]),
        repeat_rate=repeat,
        fcr=None if repeat is None else 1.0 - repeat,
        trunk_minutes=math.fsum(trunk_seconds(c) for c in entered) / 60.0,
    )


def _repeat_rate(answered: Sequence[CallRecord], callers: CallerIndex | None,
                 within_s: float) -> float | None:
    """Answered calls whose caller called again within the window / answered calls.

    Calls from numbers that identify nobody are left out of both counts.
    """
    if callers is None:
        return None
    verdicts = [callers.called_again(c, within_s) for c in answered]
    known = [v for v in verdicts if v is not None]
    return ratio(sum(known), len(known))
