"""The KPI settings a command computes with: from the configuration, or the ones stored
in the database.

The definitions take a :class:`~kpi.definitions.KpiSettings`; the configuration file and
the database's ``kpi_settings`` table (:mod:`collector.store.kpi_settings`) hold the same
settings in shapes of their own, and this module converts between them. ``queuepulse
run`` (and ``rebuild-kpis --config``) store the configured settings with
:func:`store_kpi_settings`; the KPI tables are computed with the stored ones, and the
reading commands (``report``, ``top --db``) take them back with
:func:`kpi_settings_to_read` unless given a configuration.

A stored setting is a :class:`~kpi.definitions.KpiSettings` field by name; a field
``queue_NAME`` (a mapping by queue) is stored as the setting ``NAME`` of each queue. So a
new setting needs no migration, only a field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from collector.errors import UserError
from collector.store.kpi_settings import Setting, read_kpi_settings, write_kpi_settings
from kpi.settings import KpiSettings
from queuepulse.config import Config

_PER_QUEUE = "queue_"
_TIMEZONE = "timezone"


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
        callback_window_s=config.kpi.callback_window_h * 3600.0,
        agent_hourly=config.kpi.cost.agent_hourly,
        trunk_per_minute=config.kpi.cost.trunk_per_minute,
    )


def settings_rows(settings: KpiSettings, timezone: str) -> tuple[Setting, ...]:
    """The settings as the database stores them, one row each."""
    rows = [Setting(_TIMEZONE, None, timezone)]
    for f in dataclasses.fields(KpiSettings):
        value = getattr(settings, f.name)
        if isinstance(value, Mapping):
            name = f.name.removeprefix(_PER_QUEUE)
            rows += [Setting(name, queue, value[queue]) for queue in sorted(value)]
        else:
            rows.append(Setting(f.name, None, value))
    return tuple(rows)


def settings_text(settings: KpiSettings, timezone: str) -> str:
    """The settings as one line of JSON: what the KPI tables record they were computed with."""
    return json.dumps([[row.name, row.queue, row.value]
                       for row in settings_rows(settings, timezone)])


def settings_from_rows(rows: Sequence[Setting]) -> tuple[KpiSettings, str]:
    """The settings and time zone stored rows give; defaults for those not stored, and
    rows this version does not know left out."""
    fields = {f.name: f for f in dataclasses.fields(KpiSettings)}
    values: dict[str, Any] = {}
    timezone = "UTC"
    for row in rows:
        if row.queue is None and row.name == _TIMEZONE:
            timezone = str(row.value)
        elif row.queue is None and row.name in fields:
            values[row.name] = row.value
        elif row.queue is not None and _PER_QUEUE + row.name in fields:
            values.setdefault(_PER_QUEUE + row.name, {})[row.queue] = row.value
    return dataclasses.replace(KpiSettings(), **values), timezone


def store_kpi_settings(db: Database, settings: KpiSettings, timezone: str) -> None:
    """Store the settings in the database, in place of the ones stored before."""
    write_kpi_settings(db, settings_rows(settings, timezone))


def stored_kpi_settings(db: Database) -> tuple[KpiSettings, str]:
    """The settings and time zone stored in the database (the defaults in UTC, where none
    were). Read-only; a database from an older queuepulse gives what it has."""
    settings, timezone = settings_from_rows(read_kpi_settings(db))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(f"the database's time zone {timezone!r} is unknown on this "
                        "machine. Give --config with pbx.timezone, or install tzdata.") from error
    return settings, timezone


def kpi_settings_to_read(db: Database, config: Config | None) -> tuple[KpiSettings, str]:
    """The settings and time zone a reading command computes with: the configuration's
    when one is given, else the ones stored in the database."""
    if config is None:
        return stored_kpi_settings(db)
    return settings_from_config(config), config.pbx.timezone
