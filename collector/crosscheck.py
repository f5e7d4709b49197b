"""Do the live collector's calls agree with Asterisk's own queue_log? Call by call.

Pure: two lists of stints in, one :class:`Agreement` out. Stints are paired by
uniqueid, queue and entry time (:mod:`collector.overlap`); a pair agrees when outcome and
transfer agree and wait and connected time (talk + hold against queue_log's calltime,
which includes hold) differ by at most the tolerance. queue_log times are whole seconds,
truncated, so a tolerance under one second reports differences that are only rounding.

Only the time both sources cover is judged: a stint entering outside it, or still going
on where the queue_log ends, is neither missing nor compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collector.facts import Outcome
from collector.overlap import Span, StintIndex

TOLERANCE_S = 1.0
"""The tolerance ``queuepulse check`` uses unless told: queue_log's whole seconds."""


@dataclass(frozen=True, slots=True)
class Stint:
    """What both sources say about one queue stint, in the same terms."""

    uniqueid: str
    queue: str
    entered_at: float
    outcome: str
    agent: str | None
    wait_s: float | None
    connected_s: float | None
    transferred: bool


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a stint's two records disagree (or one record missing)."""

    uniqueid: str
    queue: str
    entered_at: float
    what: str
    live: str
    queue_log: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """The verdict over a stretch of time, with every disagreement."""

    window_start: float | None
    window_end: float | None
    tolerance_s: float
    queue_log_calls: int  # judged: matched or missing from live data
    live_calls: int  # judged: matched, missing from queue_log or still going on there
    matched: int
    agreeing: int
    missing_live: int
    missing_queue_log: int
    outcome_mismatches: int
    timing_mismatches: int
    transfer_mismatches: int
    not_comparable: int
    differences: tuple[Difference, ...]

    @property
    def agrees(self) -> bool:
        """Every stint of the window is in both sources and agrees."""
        return not self.differences


MISSING_LIVE = "missing from live data"
MISSING_QUEUE_LOG = "missing from queue_log"


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _timings(live: Stint, logged: Stint, tolerance: float) -> list[tuple[str, str, str]]:
    found = []
    wait = "abandon wait" if logged.outcome == Outcome.ABANDONED else "wait"
    for what, a, b in ((wait, live.wait_s, logged.wait_s),
                       ("talk+hold vs calltime", live.connected_s, logged.connected_s)):
        if a is None and b is None:
            continue
        if a is None or b is None or abs(a - b) > tolerance:
            found.append((what, _show(a), _show(b)))
    return found


def compare(live: Sequence[Stint], logged: Sequence[Stint], window: Span,
            unfinished: Sequence[tuple[str, str, float]], tolerance: float) -> Agreement:
    """Pair the stints of ``window`` and list how each pair, or lone stint, disagrees.

    ``unfinished`` are the stints queue_log shows still going on where it ends: their
    live records are not compared.
    """
    def inside(stint: Stint) -> bool:
        return window.start <= stint.entered_at <= window.end

    index: StintIndex[Stint] = StintIndex()
    for stint in live:
        index.add(stint.uniqueid, stint.queue, stint.entered_at, stint)
    going_on: StintIndex[bool] = StintIndex()
    for uniqueid, queue, entered_at in unfinished:
        going_on.add(uniqueid, queue, entered_at, True)

    differences: list[Difference] = []
    counts = dict.fromkeys(("matched", "agreeing", "outcome", "timing", "transfer"), 0)
    missing_live = 0
    for stint in sorted(logged, key=lambda s: s.entered_at):
        pair = index.take(stint.uniqueid, stint.queue, stint.entered_at)
        if pair is None:
            if inside(stint):
                missing_live += 1
                differences.append(Difference(stint.uniqueid, stint.queue, stint.entered_at,
                                              MISSING_LIVE, "-", stint.outcome))
            continue
        if not (inside(stint) or inside(pair)):
            continue
        counts["matched"] += 1
        found: list[tuple[str, str, str]] = []
        if pair.outcome != stint.outcome:
            counts["outcome"] += 1
            found.append(("outcome", pair.outcome, stint.outcome))
        else:
            timings = _timings(pair, stint, tolerance)
            counts["timing"] += bool(timings)
            found += timings
        if pair.transferred != stint.transferred:
            counts["transfer"] += 1
            found.append(("transferred", str(pair.transferred), str(stint.transferred)))
        counts["agreeing"] += not found
        differences += [Difference(stint.uniqueid, stint.queue, stint.entered_at, *f)
                        for f in found]

    missing_queue_log = not_comparable = 0
    for stint in sorted(index.remaining(), key=lambda s: s.entered_at):
        if not inside(stint):
            continue
        if going_on.find(stint.uniqueid, stint.queue, stint.entered_at):
            not_comparable += 1
            continue
        missing_queue_log += 1
        differences.append(Difference(stint.uniqueid, stint.queue, stint.entered_at,
                                      MISSING_QUEUE_LOG, stint.outcome, "-"))
    return Agreement(
        window_start=window.start,
        window_end=window.end,
        tolerance_s=tolerance,
        queue_log_calls=counts["matched"] + missing_live,
        live_calls=counts["matched"] + missing_queue_log + not_comparable,
        matched=counts["matched"],
        agreeing=counts["agreeing"],
        missing_live=missing_live,
        missing_queue_log=missing_queue_log,
        outcome_mismatches=counts["outcome"],
        timing_mismatches=counts["timing"],
        transfer_mismatches=counts["transfer"],
        not_comparable=not_comparable,
        differences=tuple(sorted(differences, key=lambda d: (d.entered_at, d.uniqueid))),
    )
