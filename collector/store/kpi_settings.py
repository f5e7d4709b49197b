"""The KPI settings and the calendar the SQL views read: ``kpi_settings``,
``kpi_queue_settings`` and ``kpi_days``.

The views (``kpi_daily``, ``kpi_interval_15m`` ..., see docs/reports.md) are plain SQL,
so they take the thresholds and the PBX's local days from these tables. ``queuepulse
run`` writes them (:func:`write_kpi_settings`); the reading commands (``report``, ``top
--db``) read them back (:func:`read_kpi_settings`) and never write them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class StoredSettings:
    """The KPI settings as these tables hold them (see docs/schema.md).

    ``None`` stands for a column that a database from an older queuepulse lacks.
    """

    timezone: str
    service_level_s: int
    short_abandon_s: float
    repeat_window_s: float
    service_level_variant: str | None = None
    service_level_target: float | None = None
    agent_hourly: float | None = None
    trunk_per_minute: float | None = None
    queue_service_level_s: Mapping[str, int] = field(default_factory=dict)
    queue_service_level_target: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """A row of ``kpi_days``: a local day, its UTC bounds and its clock change, if any."""

    start: float
    end: float
    day: str
    utc_offset_s: int
    shift_at: float | None
    shift_s: int


Calendar = Callable[[str], Iterable[CalendarDay]]
"""The local days of a time zone (named as ``pbx.timezone`` names it)."""


def write_kpi_settings(db: Database, settings: StoredSettings, calendar: Calendar) -> None:
    """Store the thresholds and, if the time zone changed, ``calendar(timezone)``."""
    old = db.execute("SELECT timezone FROM kpi_settings WHERE id = 1").fetchone()
    with db.atomic():
        db.table("kpi_settings").upsert(
            {"id": 1, "timezone": settings.timezone, "service_level_s": settings.service_level_s,
             "short_abandon_s": settings.short_abandon_s,
             "repeat_window_s": settings.repeat_window_s,
             "service_level_variant": settings.service_level_variant,
             "service_level_target": settings.service_level_target,
             "agent_hourly": settings.agent_hourly,
             "trunk_per_minute": settings.trunk_per_minute},
            pk="id",
        )
        db.execute("DELETE FROM kpi_queue_settings")
        queues = sorted({*settings.queue_service_level_s, *settings.queue_service_level_target})
        db.table("kpi_queue_settings").insert_all(
            {"queue": queue, "service_level_s": settings.queue_service_level_s.get(queue),
             "service_level_target": settings.queue_service_level_target.get(queue)}
            for queue in queues
        )
        if old is None or old[0] != settings.timezone:
            db.execute("DELETE FROM kpi_days")
            db.table("kpi_days").insert_all(
                (dataclasses.asdict(day) for day in calendar(settings.timezone)),
                batch_size=2000)


def read_kpi_settings(db: Database) -> StoredSettings | None:
    """The settings ``queuepulse run`` last stored, or ``None`` where it stored none.
    Read-only; a database from an older queuepulse gives what it has."""
    if "kpi_settings" not in db.table_names():
        return None
    row = next(db.query("SELECT * FROM kpi_settings WHERE id = 1"), None)
    if row is None:
        return None
    per_queue = list(db.query("SELECT * FROM kpi_queue_settings"))
    return StoredSettings(
        timezone=str(row["timezone"]),
        service_level_s=row["service_level_s"],
        short_abandon_s=row["short_abandon_s"],
        repeat_window_s=row["repeat_window_s"],
        service_level_variant=row.get("service_level_variant"),
        service_level_target=row.get("service_level_target"),
        agent_hourly=row.get("agent_hourly"),
        trunk_per_minute=row.get("trunk_per_minute"),
        queue_service_level_s={r["queue"]: r["service_level_s"] for r in per_queue
                               if r["service_level_s"] is not None},
        queue_service_level_target={r["queue"]: r["service_level_target"] for r in per_queue
                                    if r.get("service_level_target") is not None},
    )
