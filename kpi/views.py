"""What the KPI views in SQLite need from the configuration: thresholds and the calendar.

The views (``kpi_daily``, ``kpi_interval_15m`` ..., see docs/reports.md) are plain SQL,
so they read the thresholds from ``kpi_settings``/``kpi_queue_settings`` and the PBX's
local days from ``kpi_days``. ``queuepulse run`` stores the configured values with
:func:`store_kpi_settings`; the reading commands (``report``, ``top --db``) take them back
with :func:`stored_kpi_settings` unless given a configuration, and never write them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from collector.errors import UserError
from kpi.definitions import KpiSettings, settings_from_config
from kpi.windows import day_window
from queuepulse.config import Config

CALENDAR_FIRST = dt.date(2000, 1, 1)
CALENDAR_LAST = dt.date(2079, 12, 31)


def _offset(at: float, tz: ZoneInfo) -> int:
    offset = dt.datetime.fromtimestamp(at, tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _shift(start: float, end: float, tz: ZoneInfo) -> tuple[float | None, int]:
    """The instant within ``[start, end)`` the UTC offset changes, and by how much."""
    before, after = _offset(start, tz), _offset(end - 1, tz)
    if before == after:
        return None, 0
    low, high = start, end - 1
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if _offset(middle, tz) == before else (low, middle)
    return high, after - before


def calendar(tz: ZoneInfo, first: dt.date = CALENDAR_FIRST,
             last: dt.date = CALENDAR_LAST) -> Iterator[dict[str, object]]:
    """The ``kpi_days`` rows: each local day, its UTC bounds and its clock change, if any."""
    day = first
    while day <= last:
        window = day_window(day, tz)
        shift_at, shift_s = _shift(window.start, window.end, tz)
        yield {"start": window.start, "end": window.end, "day": day.isoformat(),
               "utc_offset_s": _offset(window.start, tz), "shift_at": shift_at,
               "shift_s": shift_s}
        day += dt.timedelta(days=1)


def store_kpi_settings(db: Database, settings: KpiSettings, timezone: str) -> None:
    """Store the thresholds and, if the time zone changed, the calendar the views use."""
    old = db.execute("SELECT timezone FROM kpi_settings WHERE id = 1").fetchone()
    with db.atomic():
        db.table("kpi_settings").upsert(
            {"id": 1, "timezone": timezone, "service_level_s": settings.service_level_s,
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
        if old is None or old[0] != timezone:
            db.execute("DELETE FROM kpi_days")
            db.table("kpi_days").insert_all(calendar(ZoneInfo(timezone)), batch_size=2000)


def stored_kpi_settings(db: Database) -> tuple[KpiSettings, str]:
    """The settings and time zone ``queuepulse run`` last stored (the defaults in UTC, where
    it stored none). Read-only; a database from an older queuepulse gives what it has."""
    defaults = KpiSettings()
    if "kpi_settings" not in db.table_names():
        return defaults, "UTC"
    row = next(db.query("SELECT * FROM kpi_settings WHERE id = 1"), None)
    if row is None:
        return defaults, "UTC"
    per_queue = list(db.query("SELECT * FROM kpi_queue_settings"))
    timezone = str(row["timezone"])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(f"the database's time zone {timezone!r} is unknown on this machine. "
                        "Give --config with pbx.timezone, or install tzdata.") from error
    return KpiSettings(
        service_level_s=row["service_level_s"],
        queue_service_level_s={r["queue"]: r["service_level_s"] for r in per_queue
                               if r["service_level_s"] is not None},
        service_level_variant=row.get("service_level_variant",
                                      defaults.service_level_variant),
        short_abandon_s=row["short_abandon_s"],
        repeat_window_s=row["repeat_window_s"],
        service_level_target=row.get("service_level_target",
                                     defaults.service_level_target),
        queue_service_level_target={r["queue"]: r["service_level_target"] for r in per_queue
                                    if r.get("service_level_target") is not None},
        agent_hourly=row.get("agent_hourly", defaults.agent_hourly),
        trunk_per_minute=row.get("trunk_per_minute", defaults.trunk_per_minute),
    ), timezone


def kpi_settings_to_read(db: Database, config: Config | None) -> tuple[KpiSettings, str]:
    """The settings and time zone a reading command computes with: the configuration's
    when one is given, else the ones stored in the database."""
    if config is None:
        return stored_kpi_settings(db)
    return settings_from_config(config), config.pbx.timezone
