"""The KPI settings stored in the database (``kpi_settings``, see docs/schema.md).

``queuepulse run`` and ``rebuild-kpis --config`` store the configured settings; the KPI
tables are computed with them, and the reading commands (``report``, ``top --db``) use
them when given no configuration, and never write them. A row is one setting: its name,
the queue it is for (NULL: every queue) and its value, so a new setting needs no
migration. This module stores names and values; :mod:`queuepulse.kpi_settings` maps them
onto the KPI settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class Setting:
    """One stored setting: for one queue, or (``queue`` ``None``) for every queue."""

    name: str
    queue: str | None
    value: str | int | float


def write_kpi_settings(db: Database, settings: Sequence[Setting]) -> None:
    """Store ``settings`` in place of the ones stored before."""
    with db.atomic():
        db.execute("DELETE FROM kpi_settings")
        db.conn.executemany("INSERT INTO kpi_settings (name, queue, value) VALUES (?, ?, ?)",
                            [(s.name, s.queue, s.value) for s in settings])


def _older_settings(db: Database) -> tuple[Setting, ...]:
    """The settings as migrations 0003 to 0005 kept them: one row of columns, and a row
    of columns per queue."""
    found = [Setting(name, None, value)
             for row in db.query("SELECT * FROM kpi_settings WHERE id = 1")
             for name, value in row.items() if name != "id" and value is not None]
    if "kpi_queue_settings" in db.table_names():
        found += [Setting(name, row["queue"], value)
                  for row in db.query("SELECT * FROM kpi_queue_settings ORDER BY queue")
                  for name, value in row.items() if name != "queue" and value is not None]
    return tuple(found)


def read_kpi_settings(db: Database) -> tuple[Setting, ...]:
    """The settings stored (none: nothing stored). Read-only; a database from an older
    queuepulse gives what it has."""
    if "kpi_settings" not in db.table_names():
        return ()
    if "id" in db.table("kpi_settings").columns_dict:
        return _older_settings(db)
    return tuple(Setting(name, queue, value) for name, queue, value in db.execute(
        "SELECT name, queue, value FROM kpi_settings ORDER BY name, queue").fetchall())
