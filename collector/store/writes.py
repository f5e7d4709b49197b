"""The SQL that writes the database: facts (used by replay, import and the live writer),
raw events, the queues and agents the PBX reports, and retention."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlite_utils import Database

from collector.facts import (
    CALL_COLUMNS,
    INTERVAL_COLUMNS,
    AgentInterval,
    Anomaly,
    CallRecord,
    Fact,
)
from collector.live import LiveAgent, LiveQueue

_DAY = 86400.0


class EventRow(NamedTuple):
    """One raw AMI frame the parser turned into an event (a row of ``events``).

    A named tuple, not a dataclass: one is built for every event the tracker uses, and
    its fields flatten straight into the multi-row INSERT.
    """

    received_at: float
    timestamp: float | None
    event: str
    raw: str


@dataclass(frozen=True, slots=True)
class Reference:
    """The queues and agents the PBX reported, to upsert into ``queues`` and ``agents``."""

    at: float
    queues: tuple[LiveQueue, ...]
    agents: tuple[LiveAgent, ...]


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


def insert_events(db: Database, events: Sequence[EventRow]) -> None:
    """Append raw event rows to ``events``, in order."""
    # one statement per row costs a round of SQLite's VM setup and a GIL hand-over each;
    # a few hundred rows per statement stay well under SQLite's 32,766 parameters
    for start in range(0, len(events), _EVENTS_PER_INSERT):
        chunk = events[start : start + _EVENTS_PER_INSERT]
        values = list(itertools.chain.from_iterable(chunk))
        db.conn.execute(
            _INSERT_EVENTS if len(chunk) == _EVENTS_PER_INSERT else _insert_events_sql(len(chunk)),
            values,
        )


def _insert_events_sql(rows: int) -> str:
    return ("INSERT INTO events (received_at, timestamp, event, raw) VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * rows))


_EVENTS_PER_INSERT = 200
_INSERT_EVENTS = _insert_events_sql(_EVENTS_PER_INSERT)


def supersede_unknown(db: Database, calls: Sequence[CallRecord]) -> None:
    """Delete ``unknown`` rows that a complete record of the same stint replaces.

    A caller still waiting when queuepulse stopped is stored as ``unknown``; after a
    restart the QueueStatus snapshot brings it back with its entry time rounded to the
    second, so its final record has another ``call_id``. Same uniqueid and queue, entry
    within 1.5 s: the same stint, counted once.
    """
    for call in calls:
        db.execute(
            "DELETE FROM calls WHERE uniqueid = ? AND queue = ? AND outcome = 'unknown' "
            "AND call_id != ? AND abs(entered_at - ?) < 1.5",
            [call.uniqueid, call.queue, call.call_id, call.entered_at],
        )


def prune(db: Database, now: float, retention_days: int, events_retention_days: int) -> int:
    """Delete rows older than the retention periods (0 keeps forever); return how many."""
    deleted = 0
    with db.atomic():
        if retention_days > 0:
            cutoff = now - retention_days * _DAY
            for table, column in (("calls", "entered_at"), ("agent_states", "started_at"),
                                  ("anomalies", "at")):
                deleted += db.execute(
                    f"DELETE FROM {table} WHERE {column} < ?", [cutoff]
                ).rowcount
        if events_retention_days > 0:
            cutoff = now - events_retention_days * _DAY
            deleted += db.execute("DELETE FROM events WHERE received_at < ?", [cutoff]).rowcount
    return deleted


def write_reference(db: Database, reference: Reference) -> None:
    """Upsert the queues and agents the PBX reported; their first sighting is kept."""
    for q in reference.queues:
        db.execute(
            "INSERT INTO queues (name, strategy, service_level_s, wrapuptime_s, first_seen, "
            "last_seen) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "strategy = excluded.strategy, service_level_s = excluded.service_level_s, "
            "wrapuptime_s = excluded.wrapuptime_s, last_seen = excluded.last_seen",
            [q.name, q.strategy, q.service_level_s, q.wrapuptime_s, reference.at, reference.at],
        )
    for a in reference.agents:
        db.execute(
            "INSERT INTO agents (interface, name, first_seen, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (interface) DO UPDATE SET name = excluded.name, "
            "last_seen = excluded.last_seen",
            [a.interface, a.name, reference.at, reference.at],
        )
