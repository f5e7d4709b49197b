"""The benchmark's one output: a table of figure | measured | target | verdict.

Every measurement returns :class:`Figure` values; :func:`render` lines them up so that
what was measured and what it should be are read side by side. A figure without a target
is printed for reference (what the rest is compared with).
"""

from __future__ import annotations

import math
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
