"""The KPI settings a command computes with: from the configuration, or the ones
``queuepulse run`` stored in the database.

The definitions take a :class:`~kpi.definitions.KpiSettings`; the configuration file and
the database's ``kpi_settings`` tables (:mod:`collector.store.kpi_settings`) hold the same
thresholds in shapes of their own. This module converts between them, and makes the
calendar of local days the SQL views join on. ``queuepulse run`` stores the configured
settings with :func:`store_kpi_settings`; the reading commands (``report``, ``top --db``)
take them back with :func:`kpi_settings_to_read` unless given a configuration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from collector.errors import UserError
from collector.store.kpi_settings import (
    CalendarDay,
    StoredSettings,
    read_kpi_settings,
    write_kpi_settings,
)
from kpi.definitions import KpiSettings
from kpi.windows import day_window
from queuepulse.config import Config

CALENDAR_FIRST = dt.date(2000, 1, 1)
CALENDAR_LAST = dt.date(2079, 12, 31)


def settings_from_config(config: Config) -> KpiSettings:
    """The KPI settings a configuration gives."""
    return KpiSettings(
        service_level_s=config.kpi.service_level_s,
        queue_service_level_s={
            name: queue.service_level_s
            for name, queue in config.queues.items()
            if queue.service_level_s is not None
        },
        service_level_target=config.kpi.service_level_target / 100.0,
        queue_service_level_target={
            name: queue.service_level_target / 100.0
            for name, queue in config.queues.items()
            if queue.service_level_target is not None
        },
        service_level_variant=config.kpi.service_level_variant,
        short_abandon_s=config.kpi.short_abandon_s,
        repeat_window_s=config.kpi.repeat_window_h * 3600.0,
        agent_hourly=config.kpi.cost.agent_hourly,
        trunk_per_minute=config.kpi.cost.trunk_per_minute,
    )


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


def calendar(timezone: str, first: dt.date = CALENDAR_FIRST,
             last: dt.date = CALENDAR_LAST) -> Iterator[CalendarDay]:
    """The ``kpi_days`` rows: each local day, its UTC bounds and its clock change, if any."""
    tz = ZoneInfo(timezone)
    day = first
    while day <= last:
        window = day_window(day, tz)
        shift_at, shift_s = _shift(window.start, window.end, tz)
        yield CalendarDay(start=window.start, end=window.end, day=day.isoformat(),
                          utc_offset_s=_offset(window.start, tz), shift_at=shift_at,
                          shift_s=shift_s)
        day += dt.timedelta(days=1)


def store_kpi_settings(db: Database, settings: KpiSettings, timezone: str) -> None:
    """Store the thresholds and, if the time zone changed, the calendar the views use."""
    write_kpi_settings(db, StoredSettings(
        timezone=timezone,
        service_level_s=settings.service_level_s,
        short_abandon_s=settings.short_abandon_s,
        repeat_window_s=settings.repeat_window_s,
        service_level_variant=settings.service_level_variant,
        service_level_target=settings.service_level_target,
        agent_hourly=settings.agent_hourly,
        trunk_per_minute=settings.trunk_per_minute,
        queue_service_level_s=settings.queue_service_level_s,
        queue_service_level_target=settings.queue_service_level_target,
    ), calendar)


def stored_kpi_settings(db: Database) -> tuple[KpiSettings, str]:
    """The settings and time zone ``queuepulse run`` last stored (the defaults in UTC, where
    it stored none). Read-only; a database from an older queuepulse gives what it has."""
    defaults = KpiSettings()
    stored = read_kpi_settings(db)
    if stored is None:
        return defaults, "UTC"
    try:
        ZoneInfo(stored.timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(f"the database's time zone {stored.timezone!r} is unknown on this "
                        "machine. Give --config with pbx.timezone, or install tzdata.") from error
    return KpiSettings(
        service_level_s=stored.service_level_s,
        queue_service_level_s=dict(stored.queue_service_level_s),
        service_level_variant=(stored.service_level_variant
                               or defaults.service_level_variant),
        short_abandon_s=stored.short_abandon_s,
        repeat_window_s=stored.repeat_window_s,
        service_level_target=(defaults.service_level_target
                              if stored.service_level_target is None
                              else stored.service_level_target),
        queue_service_level_target=dict(stored.queue_service_level_target),
        agent_hourly=defaults.agent_hourly if stored.agent_hourly is None else stored.agent_hourly,
        trunk_per_minute=(defaults.trunk_per_minute if stored.trunk_per_minute is None
                          else stored.trunk_per_minute),
    ), stored.timezone


def kpi_settings_to_read(db: Database, config: Config | None) -> tuple[KpiSettings, str]:
    """The settings and time zone a reading command computes with: the configuration's
    when one is given, else the ones stored in the database."""
    if config is None:
        return stored_kpi_settings(db)
    return settings_from_config(config), config.pbx.timezone
