"""The call KPIs: one definition each, pure functions over call records.

The reports call :func:`call_kpis`, the live board :func:`table_kpis` over the day it keeps
as a :class:`CallTable`; ``call_kpis`` is ``table_kpis`` over a table of the given calls,
so nothing else computes a call KPI. ``docs/kpis.md`` states every definition with its
formula and an example, and names the function here that implements it.

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
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, filterfalse

from collector.facts import CallRecord, Outcome, Phase
from kpi.repeat_callers import CallerIndex
from kpi.settings import SERVICE_LEVEL_VARIANTS, KpiSettings
from kpi.windows import Window

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
    """When the work on an answered call was done: its end plus its after-call work, once
    its record is final (a call still talking, or in after-call work, is not handled yet)."""
    if (call.answered_at is None or call.ended_at is None or call.outcome is not Outcome.ANSWERED
            or call.phase is not Phase.DONE):
        return None
    return call.ended_at + (call.acw_s or 0.0)



def trunk_seconds(call: CallRecord) -> float:
    """How long the call held a trunk in the queue: wait plus talk plus hold."""
    return (call.wait_s or 0.0) + (call.talk_s or 0.0) + (call.hold_s or 0.0)


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
    turned_away: int
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


def other_outcomes(kpis: CallKpis) -> int:
    """Calls neither answered nor abandoned: timed out, left by key or an empty queue, or
    whose end was not seen (``offered`` less answered, abandoned and short abandons)."""
    return kpis.timed_out + kpis.exit_key + kpis.exit_empty + kpis.unknown


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
    table = CallTable(settings)
    for call in calls:
        row = table.add(call)
        if callers is not None and table.answered(row):
            table.set_again(row, callers.called_again(call, settings.repeat_window_s))
    return table_kpis([table], window, settings)


# -- the calls as columns ----------------------------------------------------------------

_ANSWERED, _ABANDONED, _SHORT, _TIMEOUT, _EXIT_KEY, _EXIT_EMPTY, _UNKNOWN, _TURNED_AWAY = range(8)
"""What became of a call, as :func:`call_kpis` counts it (column ``kind``)."""

_UNANSWERED = {Outcome.TIMEOUT: _TIMEOUT, Outcome.EXIT_KEY: _EXIT_KEY,
               Outcome.EXIT_EMPTY: _EXIT_EMPTY, Outcome.UNKNOWN: _UNKNOWN,
               Outcome.TURNED_AWAY: _TURNED_AWAY}
_AGAIN = {False: 0, True: 1, None: 2}
"""Whether the caller called again (column ``again``): no, yes, nobody known or not asked."""

_NONE = math.nan
"""A duration that was not observed, in a float column."""


def _kind(call: CallRecord, settings: KpiSettings) -> int:
    if is_answered(call):
        return _ANSWERED
    if is_abandoned(call):
        return _SHORT if is_short_abandon(call, settings) else _ABANDONED
    return _UNANSWERED[call.outcome]


def _seconds(value: float | None) -> float:
    return _NONE if value is None else value


def _observed(value: float) -> bool:
    return not math.isnan(value)


def observed(values: Iterable[float]) -> array[float]:
    """The values that were observed (not NaN), as an array."""
    return array("d", filterfalse(math.isnan, values))


class CallTable:
    """Calls as columns of what the KPIs read, in order of entry: a few bytes a figure.

    Each call is classified once, as it is added, by the definitions above (with the
    table's ``settings``), and nothing else of it is kept: durations in ``array('d')``
    (NaN when not observed), classes and flags in ``array('b')``, agents as numbers. Calls
    that entered a window are one slice of the table; :func:`table_kpis` computes the call
    KPIs of one or more tables (e.g. every queue's) over a window.

    ``again`` says whether an answered call's caller called again (see :data:`_AGAIN`);
    whoever adds a call sets it, since it depends on calls that come later.
    """

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.entered = array("d")
        self.handled = array("d")
        self.kind = array("b")
        self.in_sl = array("b")
        self.transferred = array("b")
        self.again = array("b")
        self.wait = array("d")
        self.trunk = array("d")
        self.talk = array("d")
        self.hold = array("d")
        self.held = array("b")
        self.acw = array("d")
        self.handle = array("d")
        self.agent = array("i")
        self._agents: dict[tuple[str | None, str | None], int] = {}
        self.agents: list[tuple[str | None, str | None]] = []
        """Each agent's interface and name, numbered by column ``agent``."""
        self._columns: tuple[array[float] | array[int], ...] = (
            self.entered, self.handled, self.kind, self.in_sl, self.transferred, self.again,
            self.wait, self.trunk, self.talk, self.hold, self.held, self.acw, self.handle,
            self.agent)
        """Every column, in the order :meth:`add` makes a row's values."""
        self._changes = 0
        self._by_handled: tuple[int, array[float], list[int]] = (-1, array("d"), [])
        """As of a count of changes: the calls' handling times in order, and their rows."""

    def __len__(self) -> int:
        return len(self.entered)

    def add(self, call: CallRecord) -> int:
        """Add ``call`` in order of entry (``again`` unknown); its row number."""
        agent = (call.agent_interface, call.agent)
        number = self._agents.get(agent)
        if number is None:
            number = self._agents[agent] = len(self.agents)
            self.agents.append(agent)
        done = handled_at(call)
        values = (call.entered_at, _NONE if done is None else done, _kind(call, self.settings),
                  in_service_level(call, self.settings), bool(call.transferred),
                  _AGAIN[None], _seconds(call.wait_s), trunk_seconds(call),
                  _seconds(call.talk_s), _seconds(call.hold_s), call.hold_count > 0,
                  _seconds(call.acw_s), _seconds(call.handle_s), number)
        self._changes += 1
        entered = self.entered
        if not entered or entered[-1] <= call.entered_at:
            for column, value in zip(self._columns, values, strict=True):
                column.append(value)  # type: ignore[arg-type]
            return len(entered) - 1
        row = bisect.bisect_right(entered, call.entered_at)
        for column, value in zip(self._columns, values, strict=True):
            column.insert(row, value)  # type: ignore[arg-type]
        return row

    def answered(self, row: int) -> bool:
        """Whether the call in ``row`` was answered (only then is ``again`` read)."""
        return self.kind[row] == _ANSWERED

    def set_again(self, row: int, again: bool | None) -> bool:
        """Note whether the caller of the answered call in ``row`` called again (see
        :meth:`CallerIndex.called_again`); whether that changed the row."""
        code = _AGAIN[again]
        if self.again[row] == code:
            return False
        self.again[row] = code
        return True

    def remove(self, row: int) -> None:
        """Drop the call in ``row``."""
        self._changes += 1
        for column in self._columns:
            del column[row]

    def keep(self, first: int, rows: Iterable[int]) -> None:
        """Of the first ``first`` rows keep only ``rows``."""
        kept = list(rows)
        self._changes += 1
        for column in self._columns:
            column[:first] = array(column.typecode, [column[i] for i in kept])  # type: ignore[arg-type,misc]

    def entered_in(self, window: Window) -> tuple[int, int]:
        """The rows of the calls that entered in ``window``: a range ``[first, end)``."""
        return (bisect.bisect_left(self.entered, window.start),
                bisect.bisect_left(self.entered, window.end))

    def handled_in(self, window: Window) -> array[int]:
        """The rows of the calls whose after-call work ended in ``window``, in order."""
        changes, times, rows = self._by_handled
        if changes != self._changes:
            handled = self.handled
            rows = sorted(compress(range(len(handled)), map(_observed, handled)),
                          key=handled.__getitem__)
            times = array("d", map(handled.__getitem__, rows))
            self._by_handled = (self._changes, times, rows)
        return array("i", sorted(rows[bisect.bisect_left(times, window.start):
                                      bisect.bisect_left(times, window.end)]))

    def next_time(self, at: float) -> float:
        """The first moment at or after ``at`` at which a call enters a window's figures:
        its entry, or the end of its after-call work (infinity: none)."""
        first = bisect.bisect_left(self.entered, at)
        entered = self.entered[first] if first < len(self.entered) else math.inf
        return min(entered, min(filter(at.__le__, self.handled), default=math.inf))


def table_kpis(tables: Iterable[CallTable], window: Window,
               settings: KpiSettings) -> CallKpis:
    """The call KPIs over ``window`` of the calls of ``tables`` (see :func:`call_kpis`)."""
    kind, in_sl, transferred, again = array("b"), array("b"), array("b"), array("b")
    wait, trunk = array("d"), array("d")
    talk, hold, held, acw, handle = array("d"), array("d"), array("b"), array("d"), array("d")
    for table in tables:
        first, end = table.entered_in(window)
        kind += table.kind[first:end]
        in_sl += table.in_sl[first:end]
        transferred += table.transferred[first:end]
        again += table.again[first:end]
        wait += table.wait[first:end]
        trunk += table.trunk[first:end]
        rows = table.handled_in(window)
        talk.extend(map(table.talk.__getitem__, rows))
        hold.extend(map(table.hold.__getitem__, rows))
        held.extend(map(table.held.__getitem__, rows))
        acw.extend(map(table.acw.__getitem__, rows))
        handle.extend(map(table.handle.__getitem__, rows))
    answered = list(map(_ANSWERED.__eq__, kind))
    n_answered, n_abandoned, n_short = kind.count(_ANSWERED), kind.count(_ABANDONED), \
        kind.count(_SHORT)
    n_turned_away = kind.count(_TURNED_AWAY)
    offered = len(kind) - n_turned_away
    answered_in_sl = sum(compress(in_sl, answered))
    abandoned_in_sl = sum(compress(in_sl, map(_ABANDONED.__eq__, kind)))
    variants = {
        v: service_level(n_answered, n_abandoned, offered - n_short, answered_in_sl,
                         abandoned_in_sl, v)
        for v in SERVICE_LEVEL_VARIANTS
    }
    waits = observed(compress(wait, answered))
    # a call imported from queue_log has no observed hold: it counts in neither part
    hold_seen = [not math.isnan(h) for h in hold]
    verdicts = array("b", compress(again, answered))
    known = verdicts.count(_AGAIN[False]) + verdicts.count(_AGAIN[True])
    repeat = ratio(verdicts.count(_AGAIN[True]), known)
    n_transferred = sum(compress(transferred, answered))
    return CallKpis(
        offered=offered,
        answered=n_answered,
        abandoned=n_abandoned,
        short_abandoned=n_short,
        timed_out=kind.count(_TIMEOUT),
        exit_key=kind.count(_EXIT_KEY),
        exit_empty=kind.count(_EXIT_EMPTY),
        unknown=kind.count(_UNKNOWN),
        turned_away=n_turned_away,
        transferred=n_transferred,
        answered_in_sl=answered_in_sl,
        abandoned_in_sl=abandoned_in_sl,
        service_level=variants[settings.service_level_variant],
        service_level_answered=variants["answered"],
        service_level_offered=variants["offered"],
        service_level_sl2=variants["sl2"],
        abandon_rate=ratio(n_abandoned, offered - n_short),
        transfer_rate=ratio(n_transferred, n_answered),
        asa_s=mean(waits),
        wait_p50_s=percentile(waits, 50),
        wait_p90_s=percentile(waits, 90),
        longest_wait_s=max(waits, default=None),
        handled=len(handle),
        avg_talk_s=mean(observed(talk)),
        avg_hold_s=mean(observed(hold)),
        hold_rate=ratio(sum(compress(held, hold_seen)), sum(hold_seen)),
        avg_acw_s=mean(observed(acw)),
        aht_s=mean(observed(handle)),
        repeat_rate=repeat,
        fcr=None if repeat is None else 1.0 - repeat,
        trunk_minutes=math.fsum(trunk) / 60.0,
    )


