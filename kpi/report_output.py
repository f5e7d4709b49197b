"""A report as people read it (rich tables) and as programs read it (JSON, CSV)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from kpi.definitions import CallKpis
from kpi.occupancy import AgentKpis
from kpi.report import AgentRow, QueueRow, Report

Column = tuple[str, Callable[[CallKpis], str]]
NO_DATA = "-"


def _percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


CALL_COLUMNS: tuple[Column, ...] = (
    ("offered", lambda k: str(k.offered)),
    ("answered", lambda k: str(k.answered)),
    ("abandoned", lambda k: str(k.abandoned)),
    ("short", lambda k: str(k.short_abandoned)),
    ("other", lambda k: str(k.timed_out + k.exit_key + k.exit_empty + k.unknown)),
    ("SL", lambda k: _percent(k.service_level)),
    ("ASA s", lambda k: _seconds(k.asa_s)),
    ("p90 wait", lambda k: _seconds(k.wait_p90_s)),
    ("abandon", lambda k: _percent(k.abandon_rate)),
    ("talk s", lambda k: _seconds(k.avg_talk_s)),
    ("hold s", lambda k: _seconds(k.avg_hold_s)),
    ("ACW s", lambda k: _seconds(k.avg_acw_s)),
    ("AHT s", lambda k: _seconds(k.aht_s)),
    ("transfer", lambda k: _percent(k.transfer_rate)),
    ("FCR", lambda k: _percent(k.fcr)),
)


def _agent_cells(kpis: AgentKpis) -> list[str]:
    pauses = ", ".join(f"{p.reason or '(none)'} {_duration(p.seconds)}" for p in kpis.pauses)
    return [kpis.name, str(kpis.handled), _duration(kpis.talk_s), _duration(kpis.hold_s),
            _duration(kpis.acw_s), _seconds(kpis.aht_s), _duration(kpis.logged_in_s),
            _duration(kpis.paused_s), _percent(kpis.occupancy), pauses]


def report_tables(report: Report) -> Iterator[RenderableType]:
    """One table per queue (and all queues) with a row per period; then the agents."""
    by_queue: dict[str | None, list[QueueRow]] = {}
    for row in report.rows:
        by_queue.setdefault(row.queue, []).append(row)
    per_period = report.interval is not None
    if not per_period:
        table = Table(title=f"Queues, {report.rows[0].period.name} ({report.timezone})"
                      if report.rows else "Queues")
        table.add_column("queue")
        _add_columns(table)
        for row in report.rows:
            table.add_row(row.queue or "all queues", *(cell(row.kpis) for _, cell in
                                                       CALL_COLUMNS))
        yield table
    else:
        for queue, rows in by_queue.items():
            table = Table(title=f"{queue or 'All queues'} per {report.interval} "
                          f"({report.timezone})")
            table.add_column("period")
            _add_columns(table)
            for row in rows:
                if row.kpis.offered or row.kpis.handled:
                    table.add_row(row.period.name, *(cell(row.kpis) for _, cell in CALL_COLUMNS))
            yield table
    if any(row.kpis.logged_in_s or row.kpis.handled for row in report.center):
        yield _center_table(report)
    if report.agents:
        yield _agents_table(report.agents, per_period)


def _center_table(report: Report) -> Table:
    table = Table(title="All agents")
    for name in ("period", "agents", "logged in", "paused", "busy", "occupancy",
                 "cost/call"):
        table.add_column(name, justify="left" if name == "period" else "right")
    for row in report.center:
        k = row.kpis
        if k.logged_in_s or k.handled:
            table.add_row(row.period.name, str(k.agents), _duration(k.logged_in_s),
                          _duration(k.paused_s), _duration(k.busy_s), _percent(k.occupancy),
                          NO_DATA if k.cost_per_call is None else f"{k.cost_per_call:.2f}")
    return table


def _add_columns(table: Table) -> None:
    for name, _ in CALL_COLUMNS:
        table.add_column(name, justify="right")


def _agents_table(rows: tuple[AgentRow, ...], per_period: bool) -> Table:
    table = Table(title="Agents")
    if per_period:
        table.add_column("period")
    for name in ("agent", "handled", "talk", "hold", "ACW", "AHT s", "logged in", "paused",
                 "occupancy", "pauses"):
        table.add_column(name, justify="left" if name in ("agent", "pauses") else "right")
    for row in rows:
        cells = _agent_cells(row.kpis)
        table.add_row(*([row.period.name, *cells] if per_period else cells))
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


def report_json(report: Report) -> str:
    """The whole report as JSON: every field of every row."""
    plain = _plain(report)
    plain["first"], plain["last"] = report.first.isoformat(), report.last.isoformat()
    return json.dumps(plain, ensure_ascii=False, indent=2)


def report_csv(report: Report, agents: bool = False) -> str:
    """One CSV row per period and queue with every call KPI; or per period and agent."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if agents:
        fields = [f.name for f in dataclasses.fields(AgentKpis) if f.name != "pauses"]
        writer.writerow(["period", "period_start", "period_end", *fields, "pauses"])
        for agent in report.agents:
            pauses = ";".join(f"{p.reason}={p.seconds:.1f}" for p in agent.kpis.pauses)
            writer.writerow([agent.period.name, agent.period.start, agent.period.end,
                             *(getattr(agent.kpis, f) for f in fields), pauses])
        return out.getvalue()
    fields = [f.name for f in dataclasses.fields(CallKpis)]
    writer.writerow(["period", "period_start", "period_end", "queue", *fields])
    for row in report.rows:
        writer.writerow([row.period.name, row.period.start, row.period.end, row.queue or "",
                         *("" if (v := getattr(row.kpis, f)) is None else v for f in fields)])
    return out.getvalue()
