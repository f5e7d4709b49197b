"""A report as people read it (rich tables) and as programs read it (JSON, CSV).

The tables come in two widths: by default the figures a supervisor asks for first, in
tables that fit 100 columns; ``wide`` adds every other figure. Durations are ``m:ss``
(``h:mm:ss`` from an hour on). The CSV rounds as :func:`kpi.present.formats.rounded` does, ratios
to 0.001 (0.1 %); JSON keeps every figure as computed.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from kpi.callbacks import Callback
from kpi.definitions import CallKpis, other_outcomes
from kpi.occupancy import AgentKpis, PauseTime
from kpi.present.formats import NO_DATA, duration, percent, rounded, short_labels, sl_style
from kpi.present.report import AgentQueueRow, AgentRow, QueueRow, Report

CSV_RATIO_DIGITS = 3
"""Ratios in the CSV: 0.001, a tenth of a percent."""

Cell = Callable[[QueueRow], str | Text]

COMPACT_WIDTH = 100
"""The widest a table of the default report may be."""
_UNBOUNDED = 10_000


def _count(field: str) -> Cell:
    return lambda row: str(getattr(row.kpis, field))


def _time(field: str) -> Cell:
    return lambda row: duration(getattr(row.kpis, field))


def _share(field: str) -> Cell:
    return lambda row: percent(getattr(row.kpis, field), 1)


def _service_level(row: QueueRow) -> Text:
    level = row.kpis.service_level
    return Text(percent(level, 1), style=sl_style(level, row.service_level_target))


CALL_COLUMNS: dict[str, Cell] = {
    "offered": _count("offered"),
    "answered": _count("answered"),
    "abandoned": _count("abandoned"),
    "short": _count("short_abandoned"),
    "other": lambda row: str(other_outcomes(row.kpis)),
    "SL": _service_level,
    "ASA": _time("asa_s"),
    "p90 wait": _time("wait_p90_s"),
    "longest": _time("longest_wait_s"),
    "abn%": _share("abandon_rate"),
    "talk": _time("avg_talk_s"),
    "hold": _time("avg_hold_s"),
    "ACW": _time("avg_acw_s"),
    "AHT": _time("aht_s"),
    "transfer": _share("transfer_rate"),
    "FCR": _share("fcr"),
}
"""Every call column of the wide tables, in order."""
COMPACT_CALL_COLUMNS = ("offered", "answered", "abandoned", "other", "SL", "ASA", "AHT",
                        "abn%", "longest")

AGENT_COLUMNS: dict[str, Callable[[AgentRow], str]] = {
    "agent": lambda r: r.kpis.name,
    "handled": lambda r: str(r.kpis.handled),
    "talk": lambda r: duration(r.kpis.talk_s),
    "hold": lambda r: duration(r.kpis.hold_s),
    "ACW": lambda r: duration(r.kpis.acw_s),
    "AHT": lambda r: duration(r.kpis.aht_s),
    "RONA": lambda r: str(r.rona),
    "logged in": lambda r: duration(r.kpis.logged_in_s),
    "paused": lambda r: duration(r.kpis.paused_s),
    "occupancy": lambda r: percent(r.kpis.occupancy, 1),
    "pauses": lambda r: ", ".join(f"{p.reason} {duration(p.seconds)}"
                                  for p in named_pauses(r.kpis.pauses)),
}
"""Every column of the wide agents table, in order (talk, hold, ACW: totals; RONA: rings
let go unanswered)."""
COMPACT_AGENT_COLUMNS = ("agent", "handled", "AHT", "RONA", "logged in", "paused",
                         "occupancy", "pauses")
AGENT_QUEUE_COLUMNS: dict[str, Callable[[AgentQueueRow], str]] = {
    "agent": lambda r: r.kpis.name,
    "queue": lambda r: r.kpis.queue,
    "handled": lambda r: str(r.kpis.handled),
    "talk": lambda r: duration(r.kpis.talk_s),
    "hold": lambda r: duration(r.kpis.hold_s),
    "ACW": lambda r: duration(r.kpis.acw_s),
    "AHT": lambda r: duration(r.kpis.aht_s),
    "RONA": lambda r: str(r.kpis.rona),
}
"""Every column of the wide table of agents per queue, in order."""
COMPACT_AGENT_QUEUE_COLUMNS = ("agent", "queue", "handled", "AHT", "RONA")
_TEXT_COLUMNS = ("queue", "period", "agent", "pauses", "logged out", "caller", "name")


def named_pauses(pauses: Sequence[PauseTime]) -> list[PauseTime]:
    """The pause time of each named reason; a pause without a reason counts in the paused
    total only."""
    return [p for p in pauses if p.reason]


def _table(title: str, headings: Sequence[str]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=0, header_style="bold", title_justify="left")
    for heading in headings:
        text = heading in _TEXT_COLUMNS
        table.add_column(heading, justify="left" if text else "right", no_wrap=not text)
    return table


def _days(report: Report) -> str:
    if report.first == report.last:
        return report.first.isoformat()
    return f"{report.first.isoformat()} to {report.last.isoformat()}"


def report_tables(report: Report, wide: bool = False) -> Iterator[RenderableType]:
    """One table per queue (and all queues) with a row per period; then the agents.

    Without ``wide``, the compact columns (:data:`COMPACT_CALL_COLUMNS`,
    :data:`COMPACT_AGENT_COLUMNS`).
    """
    columns = tuple(CALL_COLUMNS) if wide else COMPACT_CALL_COLUMNS
    where = f"{_days(report)} ({report.timezone})"
    if report.interval is None:
        table = _table(f"Queues, {where}", ("queue", *columns))
        for row in report.rows:
            table.add_row(row.queue or "all queues", *(CALL_COLUMNS[c](row) for c in columns),
                          style="bold" if row.queue is None else None)
        yield table
    else:
        by_queue: dict[str | None, list[QueueRow]] = {q: [] for q in (*report.queues, None)}
        for row in report.rows:
            if row.kpis.offered or row.kpis.handled:
                by_queue[row.queue].append(row)
        for queue, rows in by_queue.items():
            if not rows:
                continue
            table = _table(f"{queue or 'All queues'} per {report.interval}, {where}",
                           ("period", *columns))
            labels = short_labels([row.period.name for row in rows])
            for label, row in zip(labels, rows, strict=True):
                table.add_row(label, *(CALL_COLUMNS[c](row) for c in columns))
            yield table
    if any(row.kpis.logged_in_s or row.kpis.handled for row in report.center):
        yield _center_table(report, where)
    if report.agents:
        yield _agents_table(report.agents, report.interval is not None, wide, where)
    if report.agent_queues:
        yield _agent_queue_table(report.agent_queues, report.interval is not None, wide, where)
    if report.sessions:
        yield _sessions_table(report, where)
    if report.callbacks:
        yield from _callback_tables(report, where)


def _center_table(report: Report, where: str) -> Table:
    table = _table(f"All agents, {where}", ("period", "agents", "logged in", "paused", "busy",
                                             "occupancy", "cost/call"))
    rows = [row for row in report.center if row.kpis.logged_in_s or row.kpis.handled]
    for label, row in zip(short_labels([r.period.name for r in rows]), rows, strict=True):
        k = row.kpis
        table.add_row(label, str(k.agents), duration(k.logged_in_s), duration(k.paused_s),
                      duration(k.busy_s), percent(k.occupancy, 1),
                      NO_DATA if k.cost_per_call is None else f"{k.cost_per_call:.2f}")
    return table


def _agents_table(rows: tuple[AgentRow, ...], per_period: bool, wide: bool,
                  where: str) -> Table:
    columns = tuple(AGENT_COLUMNS) if wide else COMPACT_AGENT_COLUMNS
    table = _table(f"Agents, {where}", ("period", *columns) if per_period else columns)
    labels = short_labels([row.period.name for row in rows])
    for label, row in zip(labels, rows, strict=True):
        cells = [AGENT_COLUMNS[c](row) for c in columns]
        table.add_row(*([label, *cells] if per_period else cells))
    return table


def _agent_queue_table(rows: tuple[AgentQueueRow, ...], per_period: bool, wide: bool,
                       where: str) -> Table:
    columns = tuple(AGENT_QUEUE_COLUMNS) if wide else COMPACT_AGENT_QUEUE_COLUMNS
    table = _table(f"Agents per queue, {where}", ("period", *columns) if per_period
                   else columns)
    labels = short_labels([row.period.name for row in rows])
    for label, row in zip(labels, rows, strict=True):
        cells = [AGENT_QUEUE_COLUMNS[c](row) for c in columns]
        table.add_row(*([label, *cells] if per_period else cells))
    return table


def _moments(report: Report) -> Callable[[float], str]:
    """A moment in the report's time zone: the time of day on a report of one day (the
    title names it), else with the date."""
    tz = ZoneInfo(report.timezone)

    def moment(at: float) -> str:
        shown = dt.datetime.fromtimestamp(at, tz)
        if report.first == report.last and shown.date() == report.first:
            return f"{shown:%H:%M:%S}"
        return f"{shown:%Y-%m-%d %H:%M:%S}"

    return moment


def _callback_tables(report: Report, where: str) -> Iterator[Table]:
    """Per queue, what became of the callers who gave up; then those not reached."""
    table = _table(f"Abandoned callers, {where}", ("queue", "gave up", "called again",
                                                    "called back", "reached", "not reached",
                                                    "to reach"))
    by_queue: dict[str | None, list[Callback]] = {}
    for callback in report.callbacks:
        by_queue.setdefault(callback.queue, []).append(callback)
    by_queue[None] = list(report.callbacks)
    for queue, rows in by_queue.items():
        reached = [r.time_to_reach_s for r in rows if r.time_to_reach_s is not None]
        table.add_row(queue or "all queues", str(len(rows)),
                      str(sum(r.called_again_at is not None for r in rows)),
                      str(sum(r.called_back_at is not None for r in rows)),
                      str(len(reached)), str(len(rows) - len(reached)),
                      duration(sum(reached) / len(reached)) if reached else NO_DATA,
                      style="bold" if queue is None else None)
    yield table
    waiting = sorted((r for r in report.callbacks if r.reached_at is None),
                     key=lambda r: r.abandoned_at)
    if not waiting:
        return
    moment = _moments(report)
    table = _table(f"Not reached, {where}", ("gave up", "queue", "caller", "name", "waited",
                                             "called back"))
    for row in waiting:
        table.add_row(moment(row.abandoned_at), row.queue, row.caller_num, row.caller_name,
                      duration(row.wait_s),
                      NO_DATA if row.called_back_at is None else moment(row.called_back_at))
    yield table


def _sessions_table(report: Report, where: str) -> Table:
    """Each login session: when the agent logged in and out (local time), and how long;
    a session whose logout was not seen lasted at least as long as it was followed (+)."""
    moment = _moments(report)
    table = _table(f"Login sessions, {where}", ("agent", "logged in", "logged out", "for"))
    for session in report.sessions:
        ended = session.logged_out_at is not None
        table.add_row(session.name, moment(session.logged_in_at),
                      moment(session.logged_out_at) if session.logged_out_at else "not seen",
                      duration(session.duration_s) + ("" if ended else "+"))
    return table


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, for JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json(value: Any, level: int) -> str:
    """``value`` as JSON indented by two spaces a level, nested ``level`` levels deep."""
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * level)


def write_json(report: Report, out: TextIO) -> None:
    """The whole report as JSON, every field of every row, as ``json.dumps(indent=2)``
    writes it, a row at a time (a year of hourly rows is never one string)."""
    first = True
    out.write("{")
    for field in dataclasses.fields(report):
        value = getattr(report, field.name)
        out.write(f'{"" if first else ","}\n  {json.dumps(field.name)}: ')
        first = False
        if isinstance(value, tuple) and value:
            out.write("[")
            for index, item in enumerate(value):
                out.write(f'{"," if index else ""}\n    {_json(_plain(item), 2)}')
            out.write("\n  ]")
        else:
            out.write(_json(value.isoformat() if isinstance(value, dt.date)
                            else _plain(value), 1))
    out.write("\n}\n")


def _csv_value(name: str, value: object) -> object:
    """A figure as the CSV writes it: rounded, and empty for no data."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and not name.endswith(("_s", "_minutes")):
        return int(value)  # period bounds, and ratios of exactly 0 or 1
    return rounded(name, value, CSV_RATIO_DIGITS)


def report_csv(report: Report, agents: bool = False) -> str:
    """One CSV row per period and queue with every call KPI; or per period and agent."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if agents:
        fields = [f.name for f in dataclasses.fields(AgentKpis) if f.name != "pauses"]
        writer.writerow(["period", "period_start", "period_end", *fields, "rona", "pauses"])
        for agent in report.agents:
            pauses = ";".join(f"{p.reason}={_csv_value('_s', p.seconds)}"
                              for p in named_pauses(agent.kpis.pauses))
            writer.writerow([agent.period.name, _csv_value("period_start", agent.period.start),
                             _csv_value("period_end", agent.period.end),
                             *(_csv_value(f, getattr(agent.kpis, f)) for f in fields),
                             agent.rona, pauses])
        return out.getvalue()
    fields = [f.name for f in dataclasses.fields(CallKpis)]
    writer.writerow(["period", "period_start", "period_end", "queue", *fields,
                     "service_level_target"])
    for row in report.rows:
        writer.writerow([row.period.name, _csv_value("period_start", row.period.start),
                         _csv_value("period_end", row.period.end), row.queue or "",
                         *(_csv_value(f, getattr(row.kpis, f)) for f in fields),
                         _csv_value("service_level_target", row.service_level_target)])
    return out.getvalue()


def print_tables(tables: Iterable[RenderableType], wide: bool) -> None:
    """Print each table as wide as its cells need: never wider than 100 columns (or the
    terminal) unless ``wide``, where nothing is cut and a terminal wraps what is longer."""
    terminal = Console()
    for index, table in enumerate(tables):
        if index:
            terminal.print()
        if wide:
            width = Measurement.get(terminal, terminal.options.update_width(_UNBOUNDED),
                                    table).maximum
        else:
            # a table is as wide as its cells need, at most the console's width
            width = min(terminal.width, COMPACT_WIDTH) if terminal.is_terminal else COMPACT_WIDTH
        # cells are plain text: a name with brackets is not markup, and no cell an emoji
        Console(width=width, markup=False, emoji=False, highlight=False).print(table)
