"""The SQLite schema: a public interface, changed only by adding a named migration.

Each migration is recorded in the database by sqlite-utils, so a database made by an older
queuepulse is brought up to date when a newer one opens it for writing
(:func:`collector.store.opening.open_database`). A released migration is frozen: it runs
literal SQL and calls nothing whose output could change later, and it is never edited
(``tests/test_migrations.py`` holds each to what it made when released); a change is a
new migration. ``docs/schema.md`` documents every table and view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("queuepulse")


def _run(db: Database, statements: Iterable[str]) -> None:
    for statement in statements:
        db.execute(statement)


def _views_0003() -> dict[str, str]:
    """The views 0003 made (and 0004 made again), by name: the SQL as released, kept in
    ``kpi_views_0003.sql`` so that applying the migrations in order makes what each one
    made then (``tests/test_migrations.py`` holds them to that record)."""
    text = resources.files("collector.store").joinpath("kpi_views_0003.sql").read_text(
        encoding="utf-8")
    parts = re.split(r"^-- (KPI_[A-Z0-9_]+)\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@migrations(name="0001_calls_and_agent_states")
def _calls_and_agent_states(db: Database) -> None:
    _run(db, (
        """CREATE TABLE "calls" (
   "call_id" TEXT PRIMARY KEY, "uniqueid" TEXT NOT NULL, "linkedid" TEXT,
   "queue" TEXT NOT NULL, "caller_num" TEXT, "caller_name" TEXT,
   "entered_at" REAL NOT NULL, "answered_at" REAL, "ended_at" REAL, "outcome" TEXT NOT NULL,
   "agent" TEXT, "agent_interface" TEXT, "wait_s" REAL, "talk_s" REAL, "hold_s" REAL,
   "hold_count" INTEGER, "acw_s" REAL, "acw_source" TEXT, "handle_s" REAL,
   "ring_attempts" INTEGER, "ring_noanswer" INTEGER, "transferred" INTEGER,
   "transfer_to" TEXT, "end_reason" TEXT, "position_entered" INTEGER,
   "position_left" INTEGER, "source" TEXT
)""",
        """CREATE TABLE "agent_states" (
   "interface" TEXT, "started_at" REAL, "agent" TEXT NOT NULL, "queue" TEXT,
   "state" TEXT NOT NULL, "reason" TEXT, "ended_at" REAL, "source" TEXT,
   PRIMARY KEY ("interface", "started_at")
)""",
        """CREATE TABLE "anomalies" (
   "id" INTEGER PRIMARY KEY, "at" REAL, "kind" TEXT, "uniqueid" TEXT, "detail" TEXT
)""",
        'CREATE INDEX "idx_calls_entered_at" ON "calls" ("entered_at")',
        'CREATE INDEX "idx_calls_queue_entered_at" ON "calls" ("queue", "entered_at")',
        'CREATE INDEX "idx_calls_caller_num_entered_at" ON "calls" ("caller_num", "entered_at")',
        'CREATE INDEX "idx_calls_agent_entered_at" ON "calls" ("agent", "entered_at")',
        'CREATE INDEX "idx_agent_states_agent_started_at" ON "agent_states" ("agent", '
        '"started_at")',
    ))


@migrations(name="0002_events_queues_agents")
def _events_queues_agents(db: Database) -> None:
    _run(db, (
        """CREATE TABLE "events" (
   "id" INTEGER PRIMARY KEY, "received_at" REAL NOT NULL, "timestamp" REAL,
   "event" TEXT NOT NULL, "raw" TEXT NOT NULL
)""",
        'CREATE INDEX "idx_events_received_at" ON "events" ("received_at")',
        """CREATE TABLE "queues" (
   "name" TEXT PRIMARY KEY, "strategy" TEXT, "service_level_s" INTEGER,
   "wrapuptime_s" REAL, "first_seen" REAL, "last_seen" REAL
)""",
        """CREATE TABLE "agents" (
   "interface" TEXT PRIMARY KEY, "name" TEXT, "first_seen" REAL, "last_seen" REAL
)""",
        'CREATE INDEX "idx_calls_uniqueid" ON "calls" ("uniqueid")',
        'CREATE INDEX "idx_calls_linkedid" ON "calls" ("linkedid")',
        'CREATE INDEX "idx_calls_outcome_entered_at" ON "calls" ("outcome", "entered_at")',
        'CREATE INDEX "idx_agent_states_started_at" ON "agent_states" ("started_at")',
        'CREATE INDEX "idx_agent_states_queue_started_at" ON "agent_states" ("queue", '
        '"started_at")',
        'CREATE INDEX "idx_anomalies_at" ON "anomalies" ("at")',
        # 'localtime' is the time zone of whatever process runs the query (sqlite3, Datasette)
        """CREATE VIEW "calls_local" AS
        SELECT *,
            datetime(entered_at, 'unixepoch', 'localtime') AS entered_local,
            datetime(answered_at, 'unixepoch', 'localtime') AS answered_local,
            datetime(ended_at, 'unixepoch', 'localtime') AS ended_local,
            date(entered_at, 'unixepoch', 'localtime') AS day_local,
            CAST(strftime('%H', entered_at, 'unixepoch', 'localtime') AS INTEGER) AS hour_local
        FROM calls""",
        """CREATE VIEW "agent_states_local" AS
        SELECT *,
            datetime(started_at, 'unixepoch', 'localtime') AS started_local,
            datetime(ended_at, 'unixepoch', 'localtime') AS ended_local,
            date(started_at, 'unixepoch', 'localtime') AS day_local,
            ended_at - started_at AS duration_s
        FROM agent_states""",
    ))


@migrations(name="0003_kpi_views")
def _kpi_views(db: Database) -> None:
    # the thresholds and the PBX's calendar the views use; queuepulse run stores the
    # configured ones (collector.store.kpi_settings); until then, the defaults in UTC
    db.execute("""
        CREATE TABLE kpi_settings (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            timezone TEXT NOT NULL,
            service_level_s INTEGER NOT NULL,
            short_abandon_s REAL NOT NULL,
            repeat_window_s REAL NOT NULL
        )""")
    db.execute("INSERT INTO kpi_settings VALUES (1, 'UTC', 20, 5.0, 86400.0)")
    db.execute("""
        CREATE TABLE kpi_queue_settings (queue TEXT PRIMARY KEY, service_level_s INTEGER)""")
    db.execute("""
        CREATE TABLE kpi_days (
            start REAL PRIMARY KEY,
            end REAL NOT NULL,
            day TEXT NOT NULL,
            utc_offset_s INTEGER NOT NULL,
            shift_at REAL,
            shift_s INTEGER NOT NULL
        )""")
    db.execute("""
        INSERT INTO kpi_days
        WITH RECURSIVE days(day) AS (
            SELECT '2000-01-01' UNION ALL SELECT date(day, '+1 day') FROM days
            WHERE day < '2079-12-31'
        )
        SELECT CAST(strftime('%s', day) AS REAL), CAST(strftime('%s', day, '+1 day') AS REAL),
            day, 0, NULL, 0
        FROM days""")
    _run(db, tuple(_views_0003().values()))


@migrations(name="0004_hold_rate_over_observed_hold")
def _hold_rate_over_observed_hold(db: Database) -> None:
    # calls imported from queue_log have no observed hold and must not count as unheld
    views = _views_0003()
    for name in ("kpi_daily", "kpi_interval_15m", "kpi_interval_30m", "kpi_interval_60m"):
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(views[f"KPI_{name.removeprefix('kpi_').upper()}"])


@migrations(name="0005_kpi_settings_variant_targets_and_costs")
def _kpi_settings_variant_targets_and_costs(db: Database) -> None:
    # a report reads back the settings the daemon stored: all of them, not only the views'
    for column in ("service_level_variant TEXT NOT NULL DEFAULT 'answered'",
                   "service_level_target REAL NOT NULL DEFAULT 0.8",
                   "agent_hourly REAL NOT NULL DEFAULT 0.0",
                   "trunk_per_minute REAL NOT NULL DEFAULT 0.0"):
        db.execute(f"ALTER TABLE kpi_settings ADD COLUMN {column}")
    db.execute("ALTER TABLE kpi_queue_settings ADD COLUMN service_level_target REAL")


@migrations(name="0006_kpi_tables_from_python")
def _kpi_tables_from_python(db: Database) -> None:
    # the KPIs are defined once, in Python: the views that restated them in SQL give way to
    # tables written from Python (collector.store.kpi_tables creates them and records them
    # in kpi_tables), and the calendar the views joined on goes; the settings become one
    # row each, so that a new one needs no migration
    _run(db, (
        "DROP VIEW kpi_daily",
        "DROP VIEW kpi_interval_15m",
        "DROP VIEW kpi_interval_30m",
        "DROP VIEW kpi_interval_60m",
        "DROP VIEW kpi_agent_daily",
        "DROP VIEW kpi_calls",
        "DROP TABLE kpi_days",
        "ALTER TABLE kpi_settings RENAME TO kpi_settings_0005",
        "CREATE TABLE kpi_settings (name TEXT NOT NULL, queue TEXT, value NOT NULL)",
        """INSERT INTO kpi_settings (name, queue, value)
        SELECT 'timezone', NULL, timezone FROM kpi_settings_0005
        UNION ALL SELECT 'service_level_s', NULL, service_level_s FROM kpi_settings_0005
        UNION ALL SELECT 'short_abandon_s', NULL, short_abandon_s FROM kpi_settings_0005
        UNION ALL SELECT 'repeat_window_s', NULL, repeat_window_s FROM kpi_settings_0005
        UNION ALL SELECT 'service_level_variant', NULL, service_level_variant
            FROM kpi_settings_0005
        UNION ALL SELECT 'service_level_target', NULL, service_level_target
            FROM kpi_settings_0005
        UNION ALL SELECT 'agent_hourly', NULL, agent_hourly FROM kpi_settings_0005
        UNION ALL SELECT 'trunk_per_minute', NULL, trunk_per_minute FROM kpi_settings_0005
        UNION ALL SELECT 'service_level_s', queue, service_level_s FROM kpi_queue_settings
            WHERE service_level_s IS NOT NULL
        UNION ALL SELECT 'service_level_target', queue, service_level_target
            FROM kpi_queue_settings WHERE service_level_target IS NOT NULL""",
        "DROP TABLE kpi_settings_0005",
        "DROP TABLE kpi_queue_settings",
        "CREATE TABLE kpi_tables (name TEXT PRIMARY KEY, columns TEXT NOT NULL, "
        "computed_with TEXT)",
        # a day's KPIs read the calls whose after-call work ended that day
        "CREATE INDEX idx_calls_handled_at ON calls (ended_at + coalesce(acw_s, 0))",
    ))


@migrations(name="0007_ring_no_answers_and_dials")
def _ring_no_answers_and_dials(db: Database) -> None:
    # the members who let a caller ring out (coaching), and the calls dialled outside
    # queues (whether an abandoned caller was called back)
    _run(db, (
        """CREATE TABLE "ring_no_answers" (
   "at" REAL NOT NULL, "queue" TEXT NOT NULL, "uniqueid" TEXT NOT NULL,
   "interface" TEXT NOT NULL, "agent" TEXT NOT NULL, "source" TEXT,
   PRIMARY KEY ("uniqueid", "interface", "at")
)""",
        'CREATE INDEX "idx_ring_no_answers_at" ON "ring_no_answers" ("at")',
        """CREATE TABLE "dials" (
   "uniqueid" TEXT NOT NULL, "linkedid" TEXT, "caller_num" TEXT, "number" TEXT NOT NULL,
   "started_at" REAL NOT NULL, "answered_at" REAL, "status" TEXT NOT NULL, "source" TEXT,
   PRIMARY KEY ("uniqueid", "started_at", "number")
)""",
        'CREATE INDEX "idx_dials_started_at" ON "dials" ("started_at")',
    ))


@migrations(name="0008_long_agent_states_by_end")
def _long_agent_states_by_end(db: Database) -> None:
    # the intervals overlapping a span of time, found without reading history: those that
    # start less than a day before it by idx_agent_states_started_at, the few longer ones
    # by their end here
    db.execute("CREATE INDEX idx_agent_states_long_ended_at ON agent_states (ended_at) "
               "WHERE ended_at - started_at > 86400")


@migrations(name="0009_kpi_pending")
def _kpi_pending(db: Database) -> None:
    # what facts were written since the KPI tables were computed for their days: every
    # writer adds a row in the transaction of its facts, the tables' keeper deletes it
    # once it computed the days again, and a report reads the tables only for days no row
    # speaks of; whatever was stored before is computed again once
    _run(db, (
        "CREATE TABLE kpi_pending (id INTEGER PRIMARY KEY, start REAL NOT NULL, "
        "end REAL NOT NULL)",
        """INSERT INTO kpi_pending (start, end)
        SELECT min(first), max(last) FROM (
            SELECT min(entered_at) AS first,
                max(coalesce(ended_at, entered_at) + coalesce(acw_s, 0)) AS last FROM calls
            UNION ALL
            SELECT min(started_at), max(coalesce(ended_at, started_at)) FROM agent_states)
        HAVING min(first) IS NOT NULL""",
    ))


@migrations(name="0010_call_phases_and_waiting_callers")
def _call_phases_and_waiting_callers(db: Database) -> None:
    # a stint's record is stored when its outcome is known and revised as the call goes
    # on: phase says how far it has got; callers still waiting are kept apart, so that a
    # collector killed and started again knows who was waiting
    _run(db, (
        "ALTER TABLE calls ADD COLUMN phase TEXT NOT NULL DEFAULT 'done'",
        "ALTER TABLE calls ADD COLUMN caller_hold_s REAL",
        "ALTER TABLE calls ADD COLUMN transfer_kind TEXT",
        "ALTER TABLE calls ADD COLUMN transfer_party TEXT",
        "ALTER TABLE calls ADD COLUMN gap_s REAL",
        'CREATE INDEX "idx_calls_phase" ON "calls" ("phase") WHERE phase != \'done\'',
        """CREATE TABLE "waiting_callers" (
   "uniqueid" TEXT NOT NULL, "queue" TEXT NOT NULL, "linkedid" TEXT, "caller_num" TEXT,
   "caller_name" TEXT, "entered_at" REAL NOT NULL, "position_entered" INTEGER,
   PRIMARY KEY ("uniqueid", "queue")
)""",
    ))


def known_migrations() -> list[str]:
    """The names of this version's migrations, in the order they apply."""
    return [m.name for m in migrations.pending(Database(memory=True))]
