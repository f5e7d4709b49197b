"""The benchmark's one output: a table of figure | measured | target | verdict.

Every measurement returns :class:`Figure` values; :func:`render` lines them up so that
what was measured and what it should be are read side by side. A figure without a target
is printed for reference (what the rest is compared with).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
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

    @property
    def met(self) -> bool | None:
        """True or false against the target; ``None`` for reference figures and gaps."""
        if self.target is None or self.value is None:
            return None
        return self.target.met_by(self.value)

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


def render(figures: list[Figure]) -> str:
    """The table, one figure a row, notes indented under the row they qualify."""
    header = ("figure", "measured", "target", "verdict")
    rows = [
        (
            f.name,
            "-" if f.value is None else number(f.value, f.unit),
            _target_text(f),
            f.verdict(),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip(),
        "-+-".join("-" * w for w in widths),
    ]
    for figure, row in zip(figures, rows, strict=True):
        cells = (row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                 row[3])
        lines.append(" | ".join(cells).rstrip())
        if figure.note:
            lines.append(f"    {figure.note}")
    return "\n".join(lines)


def median_of(runs: Sequence[Sequence[Figure]]) -> list[Figure]:
    """The figures of repeated runs of one measurement, each the median of its runs with
    their spread in the note; a relative target is rebuilt on the median of its basis.

    Runs give the same figures in the same order (the first run's names are kept).
    """
    if len(runs) == 1:
        return list(runs[0])
    merged: list[Figure] = []
    for index, first in enumerate(runs[0]):
        same = [run[index] for run in runs if index < len(run) and run[index].name == first.name]
        values = [f.value for f in same if f.value is not None]
        each = ", ".join(number(v, first.unit) for v in sorted(values))
        spread = (f"median of {len(runs)} runs: {each}" if values
                  else f"not measured in {len(runs)} runs")
        target = first.target
        if target is not None and target.basis:
            bases = [f.target.basis_value for f in same if f.target is not None]
            basis = statistics.median(bases)
            factor = target.limit / target.basis_value if target.basis_value else 0.0
            target = Target(target.goal, factor * basis, target.basis, basis)
        note = "; ".join(n for n in (spread, first.note) if n)
        value = statistics.median(values) if values else None
        merged.append(Figure(first.name, value, first.unit, target, note))
    return merged
