"""The SQLite schema: a public interface, changed only by adding a named migration.

Each migration is recorded in the database by sqlite-utils, so a database made by an older
queuepulse is brought up to date when a newer one opens it. Never edit a migration that has
been released; add a new one. ``docs/schema.md`` documents every table and view.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

SCHEMA_VERSION = "2026-11-24"
migrations = Migrations("queuepulse")


@migrations(name="0001_calls_and_agent_states")
def _calls_and_agent_states(db: Database) -> None:
    db.table("calls").create(
        {
            "call_id": str,
            "uniqueid": str,
            "linkedid": str,
            "queue": str,
            "caller_num": str,
            "caller_name": str,
            "entered_at": float,
            "answered_at": float,
            "ended_at": float,
            "outcome": str,
            "agent": str,
            "agent_interface": str,
            "wait_s": float,
            "talk_s": float,
            "hold_s": float,
            "hold_count": int,
            "acw_s": float,
            "acw_source": str,
            "handle_s": float,
            "ring_attempts": int,
            "ring_noanswer": int,
            "transferred": int,
            "transfer_to": str,
            "end_reason": str,
            "position_entered": int,
            "position_left": int,
            "source": str,
        },
        pk="call_id",
        not_null={"uniqueid", "queue", "entered_at", "outcome"},
    )
    db.table("agent_states").create(
        {
            "interface": str,
            "started_at": float,
            "agent": str,
            "queue": str,
            "state": str,
            "reason": str,
            "ended_at": float,
            "source": str,
        },
        pk=("interface", "started_at"),
        not_null={"agent", "state"},
    )
    db.table("anomalies").create(
        {"id": int, "at": float, "kind": str, "uniqueid": str, "detail": str},
        pk="id",
    )
    db.table("calls").create_index(["entered_at"])
    db.table("calls").create_index(["queue", "entered_at"])
    db.table("calls").create_index(["caller_num", "entered_at"])
    db.table("calls").create_index(["agent", "entered_at"])
    db.table("agent_states").create_index(["agent", "started_at"])


@migrations(name="0002_events_queues_agents")
def _events_queues_agents(db: Database) -> None:
    db.table("events").create(
        {"id": int, "received_at": float, "timestamp": float, "event": str, "raw": str},
        pk="id",
        not_null={"received_at", "event", "raw"},
    )
    db.table("events").create_index(["received_at"])
    db.table("queues").create(
        {"name": str, "strategy": str, "service_level_s": int, "wrapuptime_s": float,
         "first_seen": float, "last_seen": float},
        pk="name",
    )
    db.table("agents").create(
        {"interface": str, "name": str, "first_seen": float, "last_seen": float},
        pk="interface",
    )
    db.table("calls").create_index(["uniqueid"])
    db.table("calls").create_index(["linkedid"])
    db.table("calls").create_index(["outcome", "entered_at"])
    db.table("agent_states").create_index(["started_at"])
    db.table("agent_states").create_index(["queue", "started_at"])
    db.table("anomalies").create_index(["at"])
    # 'localtime' is the time zone of whatever process runs the query (sqlite3, Datasette)
    db.create_view("calls_local", """
        SELECT *,
            datetime(entered_at, 'unixepoch', 'localtime') AS entered_local,
            datetime(answered_at, 'unixepoch', 'localtime') AS answered_local,
            datetime(ended_at, 'unixepoch', 'localtime') AS ended_local,
            date(entered_at, 'unixepoch', 'localtime') AS day_local,
            CAST(strftime('%H', entered_at, 'unixepoch', 'localtime') AS INTEGER) AS hour_local
        FROM calls
    """)
    db.create_view("agent_states_local", """
        SELECT *,
            datetime(started_at, 'unixepoch', 'localtime') AS started_local,
            datetime(ended_at, 'unixepoch', 'localtime') AS ended_local,
            date(started_at, 'unixepoch', 'localtime') AS day_local,
            ended_at - started_at AS duration_s
        FROM agent_states
    """)


def open_database(path: str) -> Database:
    """Open (creating if needed) a queuepulse database and bring its schema up to date."""
    db = Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    migrations.apply(db)
    return db
