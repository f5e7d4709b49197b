"""A report drawn as a chart: calls and service level per period, a panel per queue.

Pure: :func:`chart_svg` turns a :class:`~kpi.present.report.Report` into one self-contained SVG
and :func:`chart_html` wraps it in a page with the same figures as a table. The first
panel is all queues together, then one per queue (a report of one queue has its panel
alone); each has bars for the offered, answered and abandoned calls on its left axis, a
line for the service level and a dashed line for the queue's target on its right axis.
The time axis spans the periods with calls, widened to whole hours, not the whole range.

Nothing is computed here: every value is the report's. Each bar and point carries its
series, queue, period and value as ``data-*`` attributes, each tick its instant
(``data-at``), so the figures can be read back from the file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from collector.errors import UserError
from kpi.present.formats import percent, short_labels
from kpi.present.report import QueueRow, Report
from kpi.windows import Window

WIDTH = 960
_LEFT, _RIGHT = 56, 56
_HEADER, _LEGEND = 40, 36
_PANEL_TITLE, _PLOT, _TICK_LABELS = 28, 170, 52
PANEL_HEIGHT = _PANEL_TITLE + _PLOT + _TICK_LABELS
_LABEL_SPACE = {False: 46.0, True: 84.0}
"""Room one tick label needs on the axis, for a time of day and for a date and time."""
SERIES_COLOURS = {
    "offered": "#9aa5b1",
    "answered": "#2e9d5b",
    "abandoned": "#d64545",
    "service-level": "#1f6fd1",
}
TARGET_COLOUR = "#e08a00"
CHART_SUFFIXES = (".svg", ".html")
_BARS = ("offered", "answered", "abandoned")
_BAR_MAX = 40.0
_HALO = 'paint-order="stroke" stroke="white" stroke-width="4"'
"""Keeps a label readable where it crosses a bar or a line."""


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One period's figures on a panel."""

    label: str
    offered: int
    answered: int
    abandoned: int
    service_level: float | None


@dataclass(frozen=True, slots=True)
class ChartPanel:
    """One queue's (``queue`` ``None``: all queues') figures over the drawn periods."""

    queue: str | None
    service_level_target: float
    points: tuple[ChartPoint, ...]

    @property
    def name(self) -> str:
        """The queue as the panel's title names it."""
        return "all queues" if self.queue is None else self.queue


def _has_calls(row: QueueRow) -> bool:
    return bool(row.kpis.offered or row.kpis.handled)


def _on_the_hour(at: float, tz: ZoneInfo) -> bool:
    local = dt.datetime.fromtimestamp(at, tz)
    return local.minute == 0 and local.second == 0


def drawn_periods(report: Report) -> tuple[Window, ...]:
    """The report's periods from the first to the last with calls, widened to whole hours
    (every period, when none has calls)."""
    periods = list(dict.fromkeys(row.period for row in report.rows))
    busy = {row.period for row in report.rows if _has_calls(row)}
    active = [index for index, period in enumerate(periods) if period in busy]
    if not active:
        return tuple(periods)
    tz = ZoneInfo(report.timezone)
    first, last = active[0], active[-1]
    while first > 0 and not _on_the_hour(periods[first].start, tz):
        first -= 1
    while last < len(periods) - 1 and not _on_the_hour(periods[last].end, tz):
        last += 1
    return tuple(periods[first:last + 1])


def chart_panels(report: Report) -> tuple[ChartPanel, ...]:
    """All queues first (when the report has them), then each queue, over the drawn periods."""
    drawn = set(drawn_periods(report))
    queues: list[str | None] = list(report.queues)
    if any(row.queue is None for row in report.rows):
        queues.insert(0, None)
    panels = []
    for queue in queues:
        rows = [row for row in report.rows if row.queue == queue and row.period in drawn]
        if rows:
            panels.append(ChartPanel(queue, rows[0].service_level_target, tuple(
                ChartPoint(row.period.name, row.kpis.offered, row.kpis.answered,
                           row.kpis.abandoned, row.kpis.service_level) for row in rows)))
    return tuple(panels)


def chart_title(report: Report) -> str:
    """What the chart shows: the queue (when it shows one), days and interval."""
    one = len(report.queues) == 1 and not any(row.queue is None for row in report.rows)
    what = f"{report.queues[0]}: calls" if one else "Calls"
    days = (report.first.isoformat() if report.first == report.last
            else f"{report.first.isoformat()} to {report.last.isoformat()}")
    per = f", per {report.interval}" if report.interval else ""
    return f"{what} and service level, {days}{per} ({report.timezone})"


def axis_step(largest: int, ticks: int = 4) -> int:
    """A round step (1, 2, 5, 10, 20, 25, 50, ...) such that ``ticks`` steps reach ``largest``."""
    need = max(1, math.ceil(largest / ticks))
    magnitude = 10 ** math.floor(math.log10(need))
    return next(int(m * magnitude) for m in (1.0, 2.0, 2.5, 5.0, 10.0)
                if m * magnitude >= need and (m * magnitude).is_integer())


@dataclass(frozen=True, slots=True)
class _Axis:
    """The time axis every panel shares: a slot per period, a tick at each boundary."""

    periods: tuple[Window, ...]
    boundary_labels: tuple[str, ...] | None
    """A label per boundary (for times of day); ``None``: a label per period (days)."""
    slot_labels: tuple[str, ...]
    every: int

    @property
    def slot(self) -> float:
        return (WIDTH - _LEFT - _RIGHT) / max(1, len(self.periods))

    def x(self, index: float) -> float:
        return _LEFT + self.slot * index


def _axis(report: Report, periods: tuple[Window, ...]) -> _Axis:
    tz = ZoneInfo(report.timezone)
    slot_labels = tuple(short_labels([p.name for p in periods]))
    if report.interval is None or report.interval == "1d" or not periods:
        longest = max((len(label) for label in slot_labels), default=1)
        room = max(_LABEL_SPACE[False], 8.0 * longest)
        return _Axis(periods, None, slot_labels, _thinning(len(periods), room))
    starts = [dt.datetime.fromtimestamp(p.start, tz) for p in periods]
    several_days = len({s.date() for s in starts}) > 1
    end = dt.datetime.fromtimestamp(periods[-1].end, tz)
    labels = [f"{s:%m-%d %H:%M}" if several_days else f"{s:%H:%M}" for s in starts]
    labels.append(f"{end:%m-%d %H:%M}" if several_days
                  else "24:00" if end.date() != starts[-1].date() else f"{end:%H:%M}")
    return _Axis(periods, tuple(labels), slot_labels,
                 _thinning(len(periods), _LABEL_SPACE[several_days]))


def _thinning(count: int, room: float) -> int:
    """Label every n-th tick so that labels of ``room`` pixels do not overlap."""
    slot = (WIDTH - _LEFT - _RIGHT) / max(1, count)
    return max(1, math.ceil(room / slot))


def _panel(panel: ChartPanel, axis: _Axis, top: float) -> list[str]:
    """One panel's SVG elements, drawn from ``top`` down."""
    name = escape(panel.name)
    base = top + _PANEL_TITLE + _PLOT
    step = axis_step(max((p.offered for p in panel.points), default=0))

    def y_calls(value: float) -> float:
        return base - _PLOT * value / (4 * step)

    def y_level(ratio: float) -> float:
        return base - _PLOT * ratio

    out = [f'<g class="panel" data-queue="{name}">',
           f'<text x="{_LEFT}" y="{top + 18:.1f}" font-size="14" font-weight="bold">'
           f"{name}</text>"]
    for i in range(5):
        y = y_calls(step * i)
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" '
                   'stroke="#e3e7eb"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{step * i}</text>')
        out.append(f'<text x="{WIDTH - _RIGHT + 6}" y="{y + 4:.1f}" '
                   f'fill="{SERIES_COLOURS["service-level"]}">{i * 25}%</text>')
    middle = base - _PLOT / 2
    out.append(f'<text x="14" y="{middle:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {middle:.1f})">calls</text>')
    bar = min(_BAR_MAX, axis.slot * 0.8 / len(_BARS))
    inset = (axis.slot - bar * len(_BARS)) / 2
    line: list[list[str]] = [[]]
    for index, point in enumerate(panel.points):
        period = escape(point.label)
        for offset, series in enumerate(_BARS):
            count: int = getattr(point, series)
            y = y_calls(count)
            out.append(
                f'<rect class="{series}" data-queue="{name}" data-period="{period}" '
                f'data-value="{count}" x="{axis.x(index) + inset + offset * bar:.1f}" '
                f'y="{y:.1f}" width="{bar:.1f}" height="{base - y:.1f}" '
                f'fill="{SERIES_COLOURS[series]}"><title>{name} {period}: {count} {series}'
                "</title></rect>")
        if point.service_level is None:
            line.append([])
            continue
        centre, y = axis.x(index + 0.5), y_level(point.service_level)
        line[-1].append(f"{centre:.1f},{y:.1f}")
        out.append(
            f'<circle class="service-level" data-queue="{name}" data-period="{period}" '
            f'data-value="{point.service_level:.4f}" cx="{centre:.1f}" cy="{y:.1f}" r="3" '
            f'fill="{SERIES_COLOURS["service-level"]}"><title>{name} {period}: service level '
            f"{percent(point.service_level, 1)}</title></circle>")
    for run in line:
        if len(run) > 1:
            out.append(f'<polyline points="{" ".join(run)}" fill="none" '
                       f'stroke="{SERIES_COLOURS["service-level"]}" stroke-width="2"/>')
    target = y_level(panel.service_level_target)
    out.append(f'<line class="sl-target" data-queue="{name}" '
               f'data-value="{panel.service_level_target:.4f}" x1="{_LEFT}" y1="{target:.1f}" '
               f'x2="{WIDTH - _RIGHT}" y2="{target:.1f}" stroke="{TARGET_COLOUR}" '
               'stroke-width="1.5" stroke-dasharray="6 4"/>')
    out.append(f'<text x="{WIDTH - _RIGHT - 4}" y="{target - 4:.1f}" text-anchor="end" '
               f'fill="{TARGET_COLOUR}" {_HALO}>target {percent(panel.service_level_target)}'
               "</text>")
    out.append(f'<line x1="{_LEFT}" y1="{base}" x2="{WIDTH - _RIGHT}" y2="{base}" '
               'stroke="#555"/>')
    out += _ticks(axis, base)
    out.append("</g>")
    return out


def _ticks(axis: _Axis, base: float) -> list[str]:
    """The tick marks at the period boundaries, and their labels."""
    out = []
    boundaries = [p.start for p in axis.periods] + [axis.periods[-1].end] if axis.periods else []
    for index, at in enumerate(boundaries):
        x = axis.x(index)
        out.append(f'<line class="tick" data-at="{at:.0f}" x1="{x:.1f}" y1="{base}" '
                   f'x2="{x:.1f}" y2="{base + 5}" stroke="#555"/>')
        last = index == len(boundaries) - 1
        if axis.boundary_labels is not None and (index % axis.every == 0 or last):
            if last and index % axis.every and index % axis.every < axis.every / 2:
                continue  # too close to the label before it
            out.append(f'<text x="{x:.1f}" y="{base + 19}" text-anchor="middle">'
                       f"{escape(axis.boundary_labels[index])}</text>")
    if axis.boundary_labels is None:
        for index, label in enumerate(axis.slot_labels):
            if index % axis.every == 0:
                out.append(f'<text x="{axis.x(index + 0.5):.1f}" y="{base + 19}" '
                           f'text-anchor="middle">{escape(label)}</text>')
    return out


def _legend(y: float) -> list[str]:
    out = []
    entries = [*((s, c) for s, c in SERIES_COLOURS.items()), ("target", TARGET_COLOUR)]
    for index, (series, colour) in enumerate(entries):
        x = _LEFT + index * 130
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 18}" y="{y + 10}">{series.replace("-", " ")}</text>')
    return out


def chart_svg(report: Report) -> str:
    """The report as an SVG chart: a panel per queue and one for all queues."""
    panels = chart_panels(report)
    axis = _axis(report, drawn_periods(report))
    height = _HEADER + PANEL_HEIGHT * len(panels) + _LEGEND
    title = escape(chart_title(report))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12" role="img">',
        f"<title>{title}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{_LEFT}" y="26" font-size="16" font-weight="bold">{title}</text>',
    ]
    for index, panel in enumerate(panels):
        out += _panel(panel, axis, _HEADER + index * PANEL_HEIGHT)
    out += _legend(height - _LEGEND + 8)
    out.append("</svg>")
    return "\n".join(out)


def _figures_table(panels: Sequence[ChartPanel]) -> str:
    rows = "\n".join(
        f"<tr><td>{escape(panel.name)}</td><td>{escape(p.label)}</td><td>{p.offered}</td>"
        f"<td>{p.answered}</td><td>{p.abandoned}</td><td>{percent(p.service_level, 1)}</td>"
        f"<td>{percent(panel.service_level_target)}</td></tr>"
        for panel in panels for p in panel.points if p.offered or p.answered or p.abandoned
    )
    return ("<table>\n<tr><th>queue</th><th>period</th><th>offered</th><th>answered</th>"
            "<th>abandoned</th><th>service level</th><th>target</th></tr>\n"
            f"{rows}\n</table>")


def chart_html(report: Report) -> str:
    """A page with the chart and, as a table, its figures of the periods with calls."""
    title = escape(chart_title(report))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>queuepulse: {title}</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-top:1.5em}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid "
        "#e3e7eb}td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}</style>\n</head>\n"
        f"<body>\n{chart_svg(report)}\n{_figures_table(chart_panels(report))}\n"
        "</body>\n</html>\n"
    )


def write_chart(report: Report, path: Path) -> None:
    """Write the chart to ``path``: SVG for ``.svg``, a page for ``.html``."""
    suffix = path.suffix.lower()
    if suffix not in CHART_SUFFIXES:
        raise UserError(f"cannot draw a chart as {path.name}: queuepulse writes .svg or .html "
                        "(no extra packages needed; any browser shows both and can save a PNG).")
    text = chart_svg(report) if suffix == ".svg" else chart_html(report)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror}). Check the directory.") from error
