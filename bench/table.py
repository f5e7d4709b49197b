"""The benchmark's one output: a table of figure | measured | runs | target | verdict.

Every measurement returns :class:`Figure` values; :func:`merged` makes one figure of the
same figure's runs (the median, and the lowest and highest run), and :func:`render` lines
them up so that what was measured and what it should be are read side by side. A figure
without a target is printed for reference (what the rest is compared with).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum


class Goal(StrEnum):
    """Which side of its limit a figure has to be on."""

    AT_LEAST = ">="
    AT_MOST = "<="
    BELOW = "<"


@dataclass(frozen=True, slots=True)
class Target:
    """The limit a figure is held to, e.g. ``Target(Goal.AT_MOST, 20.0)`` milliseconds.

    A relative limit names what it was derived from: ``basis`` (``panoramisk``) and that
    figure's value; the target and the verdict then show multiples of it.
    """

    goal: Goal
    limit: float
    basis: str = ""
    basis_value: float = 0.0

    def met_by(self, value: float) -> bool:
        """Whether ``value`` is on the right side of the limit."""
        if self.goal is Goal.AT_LEAST:
            return value >= self.limit
        if self.goal is Goal.AT_MOST:
            return value <= self.limit
        return value < self.limit


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number, its unit, and the target it is held to (if any).

    ``value`` is ``None`` when the measurement could not be made; ``note`` says why, or
    qualifies the number (sample size, what was left out).
    """

    name: str
    value: float | None
    unit: str
    target: Target | None = None
    note: str = ""
    spread: tuple[float, float] | None = None
    """The lowest and the highest run, when ``value`` is the median of several."""

    @property
    def met(self) -> bool | None:
        """True or false against the target (false when it could not be measured);
        ``None`` for reference figures."""
        if self.target is None:
            return None
        return self.value is not None and self.target.met_by(self.value)

    def verdict(self) -> str:
        """``PASS``/``FAIL`` with the measured share of the limit, or ``reference``."""
        target = self.target
        if self.value is None:
            return "not measured"
        if target is None:
            return "reference"
        word = "PASS" if self.met else "FAIL"
        if target.basis and target.basis_value > 0:
            return f"{word}  {self.value / target.basis_value:.2f}x {target.basis}"
        if target.limit > 0:
            return f"{word}  {self.value / target.limit:.2f} of target"
        return word


def merged(runs: Sequence[Sequence[Figure]]) -> list[Figure]:
    """One figure per name out of several runs of the same measurements: the median value
    (and the median target, for one relative to another figure), the lowest and highest
    run, and the note of the run nearest the median. A run that could not measure a
    figure makes it not measured."""
    names = list(dict.fromkeys(f.name for run in runs for f in run))
    found = []
    for name in names:
        same = [f for run in runs for f in run if f.name == name]
        values = [f.value for f in same if f.value is not None]
        if len(values) < len(runs):
            missing = len(runs) - len(values)
            notes = "; ".join(dict.fromkeys(f.note for f in same if f.note))
            found.append(replace(same[0], value=None, spread=None,
                                 note=f"{missing} of {len(runs)} runs not measured: {notes}"))
            continue
        middle = statistics.median(values)
        nearest = min(same, key=lambda f: abs((f.value or 0.0) - middle))
        targets = [f.target for f in same if f.target is not None]
        target = nearest.target if not targets else replace(
            targets[0], limit=statistics.median(t.limit for t in targets),
            basis_value=statistics.median(t.basis_value for t in targets))
        found.append(replace(nearest, value=middle, target=target,
                             spread=(min(values), max(values)) if len(runs) > 1 else None))
    return found


def number(value: float, unit: str) -> str:
    """A value written for reading: thousands separated, precision by size."""
    if math.isinf(value) or math.isnan(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def _target_text(figure: Figure) -> str:
    target = figure.target
    if target is None:
        return ""
    text = f"{target.goal.value} {number(target.limit, figure.unit)}"
    if target.basis and target.basis_value > 0:
        return f"{text} ({target.limit / target.basis_value:g}x {target.basis})"
    return text


def _spread(figure: Figure) -> str:
    if figure.spread is None:
        return ""
    low, high = figure.spread
    return f"{number(low, '')} - {number(high, '')}"


def render(figures: list[Figure]) -> str:
    """The table, one figure a row, notes indented under the row they qualify."""
    header = ("figure", "measured", "runs (low - high)", "target", "verdict")
    rows = [
        (
            f.name,
            "-" if f.value is None else number(f.value, f.unit),
            _spread(f),
            _target_text(f),
            f.verdict(),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip(),
        "-+-".join("-" * w for w in widths),
    ]
    for figure, row in zip(figures, rows, strict=True):
        cells = (row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2]),
                 row[3].ljust(widths[3]), row[4])
        lines.append(" | ".join(cells).rstrip())
        if figure.note:
            lines.append(f"    {figure.note}")
    return "\n".join(lines)


