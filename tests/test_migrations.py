"""Released migrations are frozen: each one makes exactly the schema it made when released.

``tests/data/migrations.sql`` records, migration by migration, what applying it to the
database the earlier ones made changes: the SQL of every object it creates or alters,
the objects it drops, and the rows it leaves in the tables it fills. An edit to a
released migration (or to anything it calls) changes that and fails here.

A new migration adds its section at the end: print the record with
``python -m tests.test_migrations`` and append the new migration's part, never
rewriting the sections above it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from collector.store.schema import known_migrations, migrations
from kpi.settings import KpiSettings
from queuepulse.kpi_settings import stored_kpi_settings

RECORD = Path(__file__).resolve().parent / "data" / "migrations.sql"
_MIGRATIONS_TABLE = "_sqlite_migrations"


def _objects(db: Database) -> dict[str, tuple[str, str]]:
    """Every schema object but SQLite's and the migrations' own: name to (type, SQL)."""
    return {name: (kind, sql) for kind, name, sql in db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "AND tbl_name != ? AND sql IS NOT NULL", [_MIGRATIONS_TABLE]).fetchall()}


def _contents(db: Database, tables: list[str]) -> dict[str, str]:
    """Each table's row count and a digest of its rows, in key order."""
    found = {}
    for table in tables:
        rows = db.execute(f"SELECT * FROM [{table}] ORDER BY 1, 2").fetchall()
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
        found[table] = f"{len(rows)} rows, sha256 {digest}"
    return found


def recorded() -> str:
    """What each migration does to the schema the earlier ones made, as the record has it."""
    db = Database(sqlite3.connect(":memory:"))
    names = known_migrations()
    before: dict[str, tuple[str, str]] = {}
    rows_before: dict[str, str] = {}
    parts = []
    for index, name in enumerate(names):
        migrations.apply(db, stop_before=names[index + 1:])
        after = _objects(db)
        tables = sorted(n for n, (kind, _) in after.items() if kind == "table")
        rows_after = _contents(db, tables)
        lines = [f"-- {name}"]
        for object_name in sorted(after, key=lambda n: (after[n][0] != "table", n)):
            if before.get(object_name) != after[object_name]:
                lines.append(" ".join(after[object_name][1].split()) + ";")
        lines += [f"-- dropped {before[n][0]} {n}" for n in sorted(before.keys() - after.keys())]
        lines += [f"-- rows of {table}: {rows_after[table]}" for table in tables
                  if rows_after[table] != rows_before.get(table) and not (
                      table not in rows_before and rows_after[table].startswith("0 rows"))]
        parts.append("\n".join(lines))
        before, rows_before = after, rows_after
    return "\n\n".join(parts) + "\n"


def test_every_released_migration_makes_the_schema_it_made_when_released() -> None:
    record = RECORD.read_text(encoding="utf-8")
    now = recorded()
    # a new migration may follow the record; what the record holds must stay as it is
    assert now[: len(record)] == record


def test_every_migration_is_in_the_record() -> None:
    sections = [line[3:] for line in RECORD.read_text(encoding="utf-8").splitlines()
                if line.startswith("-- 0")]
    assert sections == known_migrations()


def test_the_settings_stored_before_0006_are_kept_one_row_each() -> None:
    db = Database(sqlite3.connect(":memory:"))
    migrations.apply(db, stop_before="0006_kpi_tables_from_python")
    db.execute("UPDATE kpi_settings SET timezone = 'America/Chicago', service_level_s = 12, "
               "service_level_variant = 'offered', agent_hourly = 30")
    db.execute("INSERT INTO kpi_queue_settings VALUES ('support', 45, 0.7), ('sales', NULL, 0.9)")
    before = stored_kpi_settings(db)
    migrations.apply(db)
    assert stored_kpi_settings(db) == before
    assert before == (KpiSettings(service_level_s=12, service_level_variant="offered",
                                  agent_hourly=30.0, queue_service_level_s={"support": 45},
                                  queue_service_level_target={"support": 0.7, "sales": 0.9}),
                      "America/Chicago")


if __name__ == "__main__":
    print(recorded(), end="")
