"""The KPI tables' storage: derived data, written from Python, rebuilt at will.

The KPI tables (``kpi_daily``, ``kpi_interval_15m`` ..., see ``docs/schema.md``) hold
what :mod:`kpi.tables` computes from ``calls`` and ``agent_states``. Being derived, they
are not made by migrations: :func:`prepare_tables` creates each with the columns it is
given, and drops and creates again one whose columns changed (a new KPI), empty, to be
rebuilt. ``kpi_tables`` records each table's columns and the settings its rows were
computed with, and ``kpi_pending`` the stretches of time whose facts were written since
(:func:`mark_pending`). This module knows tables, columns and rows, not KPIs.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlite_utils import Database


class DerivedTable(Protocol):
    """What the store knows of a table of rows computed from the facts: its name, its
    columns (name and SQLite type) and the column holding when a row's period starts
    (:class:`kpi.tables.KpiTable` is one)."""

    @property
    def name(self) -> str:
        """The table's name."""

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """Its columns, in order: name and SQLite type."""

    @property
    def start(self) -> str:
        """The column holding when a row's period starts."""


def _columns_text(table: DerivedTable) -> str:
    return json.dumps([list(column) for column in table.columns])


def prepare_tables(db: Database, tables: Sequence[DerivedTable]) -> tuple[str, ...]:
    """Make sure each table exists with its columns; return those created now (empty, and
    recorded as not computed with any settings)."""
    recorded = dict(db.execute("SELECT name, columns FROM kpi_tables").fetchall())
    existing = set(db.table_names())
    created = []
    with db.atomic():
        for table in tables:
            columns = _columns_text(table)
            if recorded.get(table.name) == columns and table.name in existing:
                continue
            db.execute(f'DROP TABLE IF EXISTS "{table.name}"')
            db.execute(f'CREATE TABLE "{table.name}" ('
                       + ", ".join(f'"{name}" {kind}' for name, kind in table.columns) + ")")
            db.execute(f'CREATE INDEX "idx_{table.name}_{table.start}" '
                       f'ON "{table.name}" ("{table.start}")')
            db.execute("INSERT INTO kpi_tables (name, columns, computed_with) VALUES (?, ?, NULL) "
                       "ON CONFLICT (name) DO UPDATE SET columns = excluded.columns, "
                       "computed_with = NULL", [table.name, columns])
            created.append(table.name)
    return tuple(created)


def computed_with(db: Database, tables: Sequence[DerivedTable]) -> set[str | None]:
    """The settings the tables' rows were computed with (``None``: not computed yet);
    one value when they all agree."""
    names = [table.name for table in tables]
    found = dict(db.execute(
        f"SELECT name, computed_with FROM kpi_tables WHERE name IN ({', '.join('?' * len(names))})",
        names).fetchall())
    return {found.get(name) for name in names}


def mark_computed(db: Database, tables: Sequence[DerivedTable], settings: str,
                  days: Sequence[tuple[float, float]]) -> None:
    """Record that the tables' rows were all computed with ``settings``: those of the
    periods starting within ``days`` (each day's UTC bounds), in one transaction. Any
    other row goes: it was computed with other settings, or for the days of another time
    zone."""
    bounds = sorted(days)
    with db.atomic():
        for table in tables:
            starts = [start for (start,) in db.execute(
                f'SELECT DISTINCT "{table.start}" FROM "{table.name}"').fetchall()]
            others = [(start,) for start in starts if not _within(start, bounds)]
            db.conn.executemany(f'DELETE FROM "{table.name}" WHERE "{table.start}" = ?',
                                others)
        db.conn.executemany("UPDATE kpi_tables SET computed_with = ? WHERE name = ?",
                            [(settings, table.name) for table in tables])


def _within(at: float, bounds: Sequence[tuple[float, float]]) -> bool:
    """Whether ``at`` falls within one of ``bounds`` (sorted, disjoint)."""
    index = bisect.bisect_right(bounds, (at, math.inf)) - 1
    return index >= 0 and bounds[index][0] <= at < bounds[index][1]


def replace_rows(db: Database, table: DerivedTable, start: float, end: float,
                 rows: Sequence[Sequence[object]]) -> None:
    """Replace the table's rows whose period starts in ``[start, end)`` with ``rows``
    (values in the order of its columns), in one transaction."""
    names = ", ".join(f'"{name}"' for name, _ in table.columns)
    marks = ", ".join("?" * len(table.columns))
    with db.atomic():
        db.execute(f'DELETE FROM "{table.name}" WHERE "{table.start}" >= ? '
                   f'AND "{table.start}" < ?', [start, end])
        db.conn.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def up_to_date(db: Database, tables: Sequence[DerivedTable], settings: str) -> bool:
    """Whether every table exists with its columns and was computed with ``settings``
    (read only: a reader may trust the rows of the days no pending write speaks of)."""
    existing = set(db.table_names())
    if not {"kpi_tables", "kpi_pending"} <= existing:
        return False
    recorded = {name: (columns, computed) for name, columns, computed in db.execute(
        "SELECT name, columns, computed_with FROM kpi_tables").fetchall()}
    return all(table.name in existing
               and recorded.get(table.name) == (_columns_text(table), settings)
               for table in tables)


def read_rows(db: Database, table: DerivedTable, start: float,
              end: float) -> list[tuple[object, ...]]:
    """The table's rows whose period starts in ``[start, end)``, values in the order of its
    columns, by start."""
    names = ", ".join(f'"{name}"' for name, _ in table.columns)
    return db.execute(f'SELECT {names} FROM "{table.name}" WHERE "{table.start}" >= ? '
                      f'AND "{table.start}" < ? ORDER BY "{table.start}"',
                      [start, end]).fetchall()


def mark_pending(db: Database, start: float, end: float) -> None:
    """Note, in the transaction writing them, that facts speaking of ``[start, end]`` were
    written: the KPI rows of the days they touch are out of date until computed again."""
    db.execute("INSERT INTO kpi_pending (start, end) VALUES (?, ?)", [start, end])


@dataclass(frozen=True, slots=True)
class Pending:
    """The stretches of time written since the KPI tables were computed for them, and
    the last note's number (what :func:`clear_pending` takes once they are)."""

    last: int
    spans: tuple[tuple[float, float], ...]


def pending(db: Database) -> Pending:
    """What was written since the KPI tables were computed for it."""
    rows = db.execute("SELECT id, start, end FROM kpi_pending ORDER BY id").fetchall()
    return Pending(rows[-1][0] if rows else 0, tuple((start, end) for _, start, end in rows))


def clear_pending(db: Database, last: int) -> None:
    """Forget the notes up to number ``last``: their days were computed since."""
    db.execute("DELETE FROM kpi_pending WHERE id <= ?", [last])
