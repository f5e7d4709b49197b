"""A report drawn as a chart: offered, answered and abandoned calls and service level per period.

Pure: :func:`chart_svg` turns a :class:`~kpi.report.Report` into one self-contained SVG
(bars for the call counts on the left axis, a line for the service level on the right),
and :func:`chart_html` wraps it in a page with the same figures as a table. Nothing is
computed here: every value is the report's. Each bar and point carries its series, period
and value as ``data-*`` attributes, so the figures can be read back from the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from collector.errors import UserError
from kpi.report import Report
from kpi.wallboard import percent

WIDTH, HEIGHT = 960, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 56, 48, 84
_MAX_LABELS = 16
SERIES_COLOURS = {
    "offered": "#9aa5b1",
    "answered": "#2e9d5b",
    "abandoned": "#d64545",
    "service-level": "#1f6fd1",
}
CHART_SUFFIXES = (".svg", ".html")


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One period's figures on the chart."""

    label: str
    offered: int
    answered: int
    abandoned: int
    service_level: float | None


def chart_points(report: Report) -> tuple[ChartPoint, ...]:
    """Each period's all-queues row (or, in a report of one queue, that queue's row)."""
    queue = None if any(row.queue is None for row in report.rows) else report.queues[0]
    return tuple(
        ChartPoint(row.period.name, row.kpis.offered, row.kpis.answered, row.kpis.abandoned,
                   row.kpis.service_level)
        for row in report.rows if row.queue == queue
    )


def chart_title(report: Report) -> str:
    """What the chart shows: queue, days and interval."""
    queue = report.queues[0] if len(report.queues) == 1 and not any(
        row.queue is None for row in report.rows) else "all queues"
    days = (report.first.isoformat() if report.first == report.last
            else f"{report.first.isoformat()} to {report.last.isoformat()}")
    per = f", per {report.interval}" if report.interval else ""
    return f"{queue}, {days}{per} ({report.timezone})"


def axis_step(largest: int, ticks: int = 4) -> int:
    """A round step (1, 2, 5, 10, 20, 25, 50, ...) such that ``ticks`` steps reach ``largest``."""
    need = max(1, math.ceil(largest / ticks))
    magnitude = 10 ** math.floor(math.log10(need))
    return next(int(m * magnitude) for m in (1.0, 2.0, 2.5, 5.0, 10.0)
                if m * magnitude >= need and (m * magnitude).is_integer())


def _short_labels(points: Sequence[ChartPoint]) -> list[str]:
    """Period labels without the date they all share (it is in the title)."""
    labels = [p.label for p in points]
    dates = {label.split(" ", 1)[0] for label in labels}
    if len(dates) == 1 and all(" " in label for label in labels):
        return [label.split(" ", 1)[1] for label in labels]
    return labels


def chart_svg(report: Report) -> str:
    """The report as an SVG chart: grouped bars of calls and a service-level line."""
    points = chart_points(report)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    step = axis_step(max((p.offered for p in points), default=0))
    top = 4 * step
    slot = plot_w / max(1, len(points))
    bar = slot * 0.8 / 3
    base = _TOP + plot_h

    def y_calls(value: float) -> float:
        return base - plot_h * value / top

    def y_level(ratio: float) -> float:
        return base - plot_h * ratio

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12" '
        'role="img">',
        f"<title>{escape(chart_title(report))}</title>",
        f'<text x="{_LEFT}" y="22" font-size="15" font-weight="bold">'
        f"{escape(chart_title(report))}</text>",
    ]
    for i in range(5):
        y = y_calls(step * i)
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" '
                   'stroke="#e3e7eb"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{step * i}</text>")
        out.append(f'<text x="{WIDTH - _RIGHT + 6}" y="{y + 4:.1f}" '
                   f'fill="{SERIES_COLOURS["service-level"]}">{i * 25}%</text>')
    out.append(f'<text x="14" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">calls</text>')
    out.append(f'<text x="{WIDTH - 12}" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(90 {WIDTH - 12} {_TOP + plot_h / 2:.1f})" '
               f'fill="{SERIES_COLOURS["service-level"]}">service level</text>')
    every = math.ceil(len(points) / _MAX_LABELS) or 1
    labels = _short_labels(points)
    line: list[list[str]] = [[]]
    for index, (point, label) in enumerate(zip(points, labels, strict=True)):
        left = _LEFT + slot * index + slot * 0.1
        for offset, series in enumerate(("offered", "answered", "abandoned")):
            count: int = getattr(point, series)
            y = y_calls(count)
            out.append(
                f'<rect class="{series}" data-period="{escape(point.label)}" '
                f'data-value="{count}" x="{left + offset * bar:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{base - y:.1f}" fill="{SERIES_COLOURS[series]}">'
                f"<title>{escape(point.label)}: {count} {series}</title></rect>"
            )
        centre = _LEFT + slot * (index + 0.5)
        if point.service_level is None:
            line.append([])
        else:
            y = y_level(point.service_level)
            line[-1].append(f"{centre:.1f},{y:.1f}")
            out.append(
                f'<circle class="service-level" data-period="{escape(point.label)}" '
                f'data-value="{point.service_level:.4f}" cx="{centre:.1f}" cy="{y:.1f}" r="3" '
                f'fill="{SERIES_COLOURS["service-level"]}"><title>{escape(point.label)}: '
                f"service level {percent(point.service_level)}</title></circle>"
            )
        if index % every == 0:
            out.append(f'<text x="{centre:.1f}" y="{base + 16}" text-anchor="end" '
                       f'transform="rotate(-40 {centre:.1f} {base + 16})">'
                       f"{escape(label)}</text>")
    for run in line:
        if len(run) > 1:
            out.append(f'<polyline points="{" ".join(run)}" fill="none" '
                       f'stroke="{SERIES_COLOURS["service-level"]}" stroke-width="2"/>')
    out.append(f'<line x1="{_LEFT}" y1="{base}" x2="{WIDTH - _RIGHT}" y2="{base}" '
               'stroke="#555"/>')
    for index, (series, colour) in enumerate(SERIES_COLOURS.items()):
        x = _LEFT + index * 130
        out.append(f'<rect x="{x}" y="{HEIGHT - 18}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 18}" y="{HEIGHT - 8}">{series.replace("-", " ")}</text>')
    out.append("</svg>")
    return "\n".join(out)


def chart_html(report: Report) -> str:
    """A page with the chart and its figures as a table."""
    rows = "\n".join(
        f"<tr><td>{escape(p.label)}</td><td>{p.offered}</td><td>{p.answered}</td>"
        f"<td>{p.abandoned}</td><td>{percent(p.service_level)}</td></tr>"
        for p in chart_points(report)
    )
    title = escape(chart_title(report))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>queuepulse: {title}</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-top:1.5em}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid "
        "#e3e7eb}td:first-child,th:first-child{text-align:left}</style>\n</head>\n<body>\n"
        f"{chart_svg(report)}\n"
        "<table>\n<tr><th>period</th><th>offered</th><th>answered</th><th>abandoned</th>"
        f"<th>service level</th></tr>\n{rows}\n</table>\n</body>\n</html>\n"
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
