"""The SQL that writes the database: facts (used by replay, import and the live writer),
raw events, the queues and agents the PBX reports, and retention.

Every writer stores calls through :func:`store_calls`, so one rule decides what a second
record of a stored stint does to it, whoever writes it (:func:`collector.overlap.replaces`).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

from sqlite_utils import Database

from collector.facts import (
    CALL_COLUMNS,
    INTERVAL_COLUMNS,
    AgentInterval,
    Anomaly,
    CallRecord,
    Dial,
    Fact,
    Phase,
    RingNoAnswer,
    WaitingCaller,
)
from collector.live import LiveAgent, LiveQueue
from collector.overlap import Completeness, Span, StintIndex, completeness, replaces
from collector.store.kpi_tables import mark_pending
from collector.store.reads import LIVE_SOURCES

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
_DELETE_CALL = "DELETE FROM calls WHERE call_id = ?"
_STORED_CALLS = ", ".join(CALL_COLUMNS)
_UNIQUEIDS_PER_QUERY = 500
_COLUMN = {name: index for index, name in enumerate(CALL_COLUMNS)}
_STINT = itemgetter(_COLUMN["uniqueid"], _COLUMN["queue"], _COLUMN["entered_at"])
_CALL_ID = _COLUMN["call_id"]
_KNOWN = itemgetter(_COLUMN["outcome"], _COLUMN["ended_at"], _COLUMN["acw_s"],
                    _COLUMN["phase"], _COLUMN["end_reason"])
_TIMINGS = itemgetter(*(_COLUMN[name] for name in (
    "answered_at", "ended_at", "wait_s", "talk_s", "hold_s", "acw_s", "handle_s")))
_UPSERT_INTERVAL = _upsert("agent_states", INTERVAL_COLUMNS, ("interface", "started_at"))
_INSERT_ANOMALY = "INSERT INTO anomalies (at, kind, uniqueid, detail) VALUES (?, ?, ?, ?)"
_INSERT_RONA = ("INSERT OR REPLACE INTO ring_no_answers (at, queue, uniqueid, interface, agent, "
                "source) VALUES (?, ?, ?, ?, ?, ?)")
_INSERT_DIAL = ("INSERT OR REPLACE INTO dials (uniqueid, linkedid, caller_num, number, "
                "started_at, answered_at, status, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_PUT_WAITING = (
    "INSERT OR REPLACE INTO waiting_callers (uniqueid, queue, linkedid, caller_num, "
    "caller_name, entered_at, position_entered) VALUES (?, ?, ?, ?, ?, ?, ?)")
_NOT_WAITING = "DELETE FROM waiting_callers WHERE uniqueid = ? AND queue = ?"


def write_facts(db: Database, facts: Sequence[Fact], source: str) -> None:
    """Store facts in one transaction, noting the time they speak of as pending for the
    KPI tables (:func:`~collector.store.kpi_tables.mark_pending`).

    Calls go through :func:`store_calls`; intervals are upserted on their key, so writing
    the same facts twice (a replay run again, a batch retried after a full disk) stores
    them once. One prepared statement per table keeps this cheap enough for the live
    writer's hot path.
    """
    calls: list[tuple[object, ...]] = []
    intervals: list[tuple[object, ...]] = []
    anomalies: list[tuple[object, ...]] = []
    others: list[tuple[str, tuple[object, ...]]] = []
    # in order: a caller who joined and left within one batch is waiting no more
    waiting: dict[tuple[str, str], tuple[object, ...] | None] = {}
    for fact in facts:
        if isinstance(fact, CallRecord):
            calls.append(fact.as_values())
            waiting[(fact.uniqueid, fact.queue)] = None
        elif isinstance(fact, AgentInterval):
            intervals.append((*fact.as_values(), source))
        elif isinstance(fact, Anomaly):
            anomalies.append((fact.at, fact.kind, fact.uniqueid, fact.detail))
        elif isinstance(fact, RingNoAnswer):
            others.append((_INSERT_RONA, (fact.at, fact.queue, fact.uniqueid, fact.interface,
                                          fact.agent, source)))
        elif isinstance(fact, Dial):
            others.append((_INSERT_DIAL, (fact.uniqueid, fact.linkedid, fact.caller_num,
                                          fact.number, fact.started_at, fact.answered_at,
                                          fact.status, source)))
        elif isinstance(fact, WaitingCaller):
            waiting[(fact.uniqueid, fact.queue)] = (
                fact.uniqueid, fact.queue, fact.linkedid, fact.caller_num, fact.caller_name,
                fact.entered_at, fact.position_entered)
    with db.atomic():
        if calls:
            store_calls(db, calls, source)
        if intervals:
            db.conn.executemany(_UPSERT_INTERVAL, intervals)
        if anomalies:
            db.conn.executemany(_INSERT_ANOMALY, anomalies)
        for statement, values in others:
            db.conn.execute(statement, values)
        if waiting:
            db.conn.executemany(_NOT_WAITING, [k for k, v in waiting.items() if v is None])
            db.conn.executemany(_PUT_WAITING, [v for v in waiting.values() if v is not None])
        written = spanned(facts)
        if written is not None:
            mark_pending(db, written.start, written.end)


@dataclass(frozen=True, slots=True)
class CallsStored:
    """What :func:`store_calls` did with its rows: stints it added, and stored stints it
    replaced or kept, by the stored row's ``source``."""

    added: int
    replaced: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Stored:
    values: tuple[object, ...]
    source: str
    in_database: bool

    def known(self) -> Completeness:
        """What the row knows of its stint (worked out only for a stint met twice)."""
        return _known(self.values, self.source)


def _stint(values: tuple[object, ...]) -> tuple[str, str, float]:
    """A row's stint: uniqueid, queue, entry time."""
    stint: tuple[str, str, float] = _STINT(values)
    return stint


def _known(values: tuple[object, ...], source: str) -> Completeness:
    outcome, ended_at, acw_s, phase, end_reason = _KNOWN(values)
    return completeness(outcome, ended_at, acw_s, _TIMINGS(values),
                        observed_live=source in LIVE_SOURCES, phase=phase or Phase.DONE,
                        end_reason=end_reason)


def _stored_stints(db: Database, uniqueids: Sequence[object]) -> StintIndex[_Stored]:
    stored: StintIndex[_Stored] = StintIndex()
    for start in range(0, len(uniqueids), _UNIQUEIDS_PER_QUERY):
        chunk = uniqueids[start : start + _UNIQUEIDS_PER_QUERY]
        for *values, source in db.execute(
            f"SELECT {_STORED_CALLS}, source FROM calls "
            f"WHERE uniqueid IN ({', '.join('?' * len(chunk))})", chunk,
        ).fetchall():
            row = tuple(values)
            stored.add(*_stint(row), _Stored(row, source or "", True))
    return stored


def store_calls(db: Database, rows: Sequence[tuple[object, ...]], source: str) -> CallsStored:
    """Store call rows from ``source`` (``live``, ``replay``, ``queue_log``), each stint once.

    ``rows`` hold a call's values in :data:`~collector.facts.CALL_COLUMNS` order. A row of
    a stint the database (or an earlier row) already holds (:mod:`collector.overlap`)
    takes its place when it knows at least as much (:func:`~collector.overlap.replaces`),
    and is left out otherwise; a stored row equal to the new one is kept as it is.
    """
    stored = _stored_stints(db, list({_stint(row)[0] for row in rows}))
    upserts: dict[object, tuple[object, ...]] = {}
    deletes: list[tuple[object]] = []
    added = 0
    replaced: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for row in rows:
        new = _Stored(row, source, False)
        old = stored.take(*_stint(row))
        if old is not None:
            if old.values == row or not replaces(new.known(), old.known()):
                kept[old.source] += 1
                stored.add(*_stint(old.values), old)
                continue
            replaced[old.source] += 1
            old_id = old.values[_CALL_ID]
            if old.in_database and old_id != row[_CALL_ID]:
                deletes.append((old_id,))
            upserts.pop(old_id, None)
        else:
            added += 1
        upserts[row[_CALL_ID]] = (*row, source)
        stored.add(*_stint(row), new)
    if deletes:
        db.conn.executemany(_DELETE_CALL, deletes)
    if upserts:
        db.conn.executemany(_UPSERT_CALL, list(upserts.values()))
    return CallsStored(added, replaced, kept)


def spanned(facts: Iterable[Fact], within: Span | None = None) -> Span | None:
    """The stretch of time ``facts`` speak of, joined with ``within``: a call from its
    entry to the end of its after-call work, an interval from its start to its end, a
    dial at its start."""
    times = [within.start, within.end] if within is not None else []
    for fact in facts:
        if isinstance(fact, CallRecord):
            times += [fact.entered_at, (fact.ended_at or fact.entered_at) + (fact.acw_s or 0.0)]
        elif isinstance(fact, AgentInterval):
            times += [fact.started_at, fact.ended_at or fact.started_at]
        elif isinstance(fact, Dial):
            times += [fact.started_at, fact.started_at]
    return Span(min(times), max(times)) if times else None


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


def prune(db: Database, now: float, retention_days: int, events_retention_days: int) -> int:
    """Delete rows older than the retention periods (0 keeps forever); return how many."""
    deleted = 0
    with db.atomic():
        if retention_days > 0:
            cutoff = now - retention_days * _DAY
            for table, column in (("calls", "entered_at"), ("agent_states", "started_at"),
                                  ("anomalies", "at"), ("ring_no_answers", "at"),
                                  ("dials", "started_at")):
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
