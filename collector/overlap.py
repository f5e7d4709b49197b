"""Facts that describe the same thing twice: one queue stint from two sources, agent time
two sources account for.

A stint is known by its caller's uniqueid, its queue and when it entered. The live
collector dates the entry to the microsecond, queue_log to the second (truncated), a
stint whose ENTERQUEUE line is not in an imported piece is dated from its wait, and a
caller the live collector takes over from a QueueStatus snapshot after a restart is dated
to the second; so two records are the same stint when uniqueid and queue agree and their
entries are at most :data:`SAME_STINT_S` apart. Asterisk never puts a channel into the
same queue twice within seconds, so nothing else is confused by that.

When a second record of a stored stint arrives, :func:`replaces` decides which one the
database keeps, for every writer alike (the live daemon, ``replay``, the queue_log
import): the one that knows more of the stint (:class:`Completeness`), so a record that
knows less never replaces one that knows more.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from collector.facts import Outcome, Phase, outcome_known

SAME_STINT_S = 2.0
"""The most two records of one stint may differ in entry time (seconds)."""

T = TypeVar("T")


class StintIndex(Generic[T]):
    """Items found by the stint they describe: uniqueid, queue and entry time."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], list[tuple[float, T]]] = {}

    def add(self, uniqueid: str, queue: str, entered_at: float, item: T) -> None:
        """Index ``item`` under its stint."""
        self._items.setdefault((uniqueid, queue), []).append((entered_at, item))

    def find(self, uniqueid: str, queue: str, entered_at: float) -> T | None:
        """The item of the same stint, the closest in entry time; ``None`` if none."""
        best = self._closest(uniqueid, queue, entered_at)
        return None if best is None else best[1]

    def take(self, uniqueid: str, queue: str, entered_at: float) -> T | None:
        """Like :meth:`find`, and remove what was found so it pairs only once."""
        best = self._closest(uniqueid, queue, entered_at)
        if best is None:
            return None
        self._items[(uniqueid, queue)].remove(best)
        return best[1]

    def remaining(self) -> list[T]:
        """Every item not taken."""
        return [item for items in self._items.values() for _, item in items]

    def _closest(self, uniqueid: str, queue: str, entered_at: float,
                 ) -> tuple[float, T] | None:
        candidates = self._items.get((uniqueid, queue), ())
        best: tuple[float, T] | None = None
        for candidate in candidates:
            distance = abs(candidate[0] - entered_at)
            if distance <= SAME_STINT_S and (best is None or distance < abs(best[0] - entered_at)):
                best = candidate
        return best


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time ``[start, end)``."""

    start: float
    end: float


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """The same time as ``spans``, as sorted, disjoint spans."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if span.end <= span.start:
            continue
        if merged and span.start <= merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(span)
    return merged


def uncovered(span: Span, covered: list[Span]) -> list[Span]:
    """The parts of ``span`` that no span of ``covered`` (sorted, disjoint) covers."""
    parts: list[Span] = []
    start = span.start
    for cover in covered[bisect_left(covered, span.start, key=lambda c: c.end):]:
        if cover.start >= span.end:
            break
        if cover.start > start:
            parts.append(Span(start, cover.start))
        start = max(start, cover.end)
    if start < span.end:
        parts.append(Span(start, span.end))
    return parts


@dataclass(frozen=True, slots=True, order=True)
class Completeness:
    """How much of its stint a call record knows, compared field by field in this order.

    Knowing how the stint ended weighs most (its outcome, then its end: a caller the PBX
    dropped by shutting down, ``unknown`` with ``end_reason`` ``pbx_restart``, ended as
    known, whatever queue_log's ABANDON of it says); then what the
    live collector observed on AMI over what queue_log tells afterwards, to the second
    and without hold; then whether the after-call work is decided; then how far the
    record has got (its phase: a later revision of the live collector's record replaces
    an earlier one); then how many timings were observed.
    """

    outcome_known: bool
    end_seen: bool
    observed_live: bool
    acw_decided: bool
    phase: int
    timings: int


_PHASES = tuple(Phase)


def completeness(outcome: str, ended_at: float | None, acw_s: float | None,
                 timings: Iterable[float | None], *, observed_live: bool,
                 phase: str = Phase.DONE, end_reason: str | None = None) -> Completeness:
    """What a record knows of its stint: its ``outcome``, its end and after-call work,
    ``timings`` (every timing column, ``None`` where not observed), whether the live
    collector observed it (``live`` or ``replay``) rather than queue_log, its ``phase``
    and its ``end_reason``."""
    answered = outcome == Outcome.ANSWERED
    return Completeness(
        outcome_known=outcome_known(outcome, end_reason),
        end_seen=ended_at is not None,
        observed_live=observed_live,
        acw_decided=(acw_s is not None or not answered) and phase == Phase.DONE,
        phase=_PHASES.index(Phase(phase)),
        timings=sum(value is not None for value in timings),
    )


def replaces(new: Completeness, stored: Completeness) -> bool:
    """Whether a new record of a stored stint takes its place: when it knows at least as
    much. An equal record replaces the stored one, so that a stint derived again (a trace
    replayed with another configuration) takes the newer derivation."""
    return new >= stored
