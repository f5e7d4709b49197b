"""Writing facts to the SQLite database: one function, used by replay and the live writer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from collector.facts import (
    CALL_COLUMNS,
    INTERVAL_COLUMNS,
    AgentInterval,
    Anomaly,
    CallRecord,
    Fact,
)


def _upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    names = ", ".join((*columns, "source"))
    marks = ", ".join("?" * (len(columns) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*columns, "source") if c not in key)
    return (f"INSERT INTO {table} ({names}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


_UPSERT_CALL = _upsert("calls", CALL_COLUMNS, ("call_id",))
_UPSERT_INTERVAL = _upsert("agent_states", INTERVAL_COLUMNS, ("interface", "started_at"))
_INSERT_ANOMALY = "INSERT INTO anomalies (at, kind, uniqueid, detail) VALUES (?, ?, ?, ?)"


def write_facts(db: Database, facts: Iterable[Fact], source: str) -> int:
    """Store facts in one transaction; return how many were written.

    Calls and intervals are upserted on their keys, so writing the same facts twice (a
    replay run again, a batch retried after a full disk) stores them once. One prepared
    statement per table keeps this cheap enough for the live writer's hot path.
    """
    calls: list[tuple[object, ...]] = []
    intervals: list[tuple[object, ...]] = []
    anomalies: list[tuple[object, ...]] = []
    for fact in facts:
        if isinstance(fact, CallRecord):
            calls.append((*fact.as_values(), source))
        elif isinstance(fact, AgentInterval):
            intervals.append((*fact.as_values(), source))
        elif isinstance(fact, Anomaly):
            anomalies.append((fact.at, fact.kind, fact.uniqueid, fact.detail))
    with db.atomic():
        if calls:
            db.conn.executemany(_UPSERT_CALL, calls)
        if intervals:
            db.conn.executemany(_UPSERT_INTERVAL, intervals)
        if anomalies:
            db.conn.executemany(_INSERT_ANOMALY, anomalies)
    return len(calls) + len(intervals) + len(anomalies)
