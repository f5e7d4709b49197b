"""Facts read back from SQLite: rows of ``calls`` and ``agent_states`` as the tracker made them.

Reports and the board's start-up priming turn rows back into :class:`CallRecord` and
:class:`AgentInterval` values, so that every KPI is computed by the same definitions from
the same types, whether the facts came from the tracker a moment ago or from the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from collector.crosscheck import Stint
from collector.facts import (
    AcwSource,
    AgentInterval,
    AgentState,
    CallRecord,
    EndReason,
    Fact,
    Outcome,
    Phase,
    TransferKind,
    WaitingCaller,
)

LIVE_SOURCES = ("live", "replay")
"""The ``source`` of calls the live collector stored (``queuepulse run``, ``replay``)."""
_CALL_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))
_INTERVAL_FIELDS = tuple(f.name for f in dataclasses.fields(AgentInterval))


def call_from_row(row: Mapping[str, Any]) -> CallRecord:
    """The call record a ``calls`` row holds."""
    # a database of an older queuepulse lacks the newer columns: their defaults then
    values = {name: row[name] for name in _CALL_FIELDS if name in row}
    values["outcome"] = Outcome(values["outcome"])
    values["acw_source"] = AcwSource(values["acw_source"] or AcwSource.NONE)
    values["end_reason"] = EndReason(values["end_reason"]) if values["end_reason"] else None
    values["phase"] = Phase(values.get("phase") or Phase.DONE)
    kind = values.get("transfer_kind")
    values["transfer_kind"] = TransferKind(kind) if kind else None
    values["gap_s"] = values.get("gap_s") or 0.0
    values["hold_count"] = values["hold_count"] or 0
    values["ring_attempts"] = values["ring_attempts"] or 0
    values["ring_noanswer"] = values["ring_noanswer"] or 0
    values["transferred"] = values["transferred"] or 0
    values["caller_num"] = values["caller_num"] or ""
    values["caller_name"] = values["caller_name"] or ""
    values["linkedid"] = values["linkedid"] or values["uniqueid"]
    return CallRecord(**values)


def interval_from_row(row: Mapping[str, Any]) -> AgentInterval:
    """The agent state interval an ``agent_states`` row holds."""
    values = {name: row[name] for name in _INTERVAL_FIELDS}
    values["state"] = AgentState(values["state"])
    return AgentInterval(**values)


def read_calls(db: Database, start: float, end: float) -> list[CallRecord]:
    """Calls that entered, or finished their after-call work, in ``[start, end)``."""
    # both conditions are indexed (idx_calls_handled_at is on that very expression)
    rows = db.query(
        "SELECT * FROM calls WHERE (entered_at >= :start AND entered_at < :end) "
        "OR (ended_at + coalesce(acw_s, 0) >= :start AND ended_at + coalesce(acw_s, 0) < :end) "
        "ORDER BY entered_at",
        {"start": start, "end": end},
    )
    return [call_from_row(row) for row in rows]


def read_intervals(db: Database, start: float, end: float,
                   longest_s: float | None = None) -> list[AgentInterval]:
    """Agent state intervals overlapping ``[start, end)``.

    ``longest_s``, when given, is at least as long as any stored interval
    (:func:`longest_interval`): the search then starts that long before ``start`` rather
    than at the first interval ever stored.
    """
    since = "" if longest_s is None else "AND started_at >= :start - :longest "
    rows = db.query(
        f"SELECT * FROM agent_states WHERE started_at < :end {since}"
        "AND (ended_at IS NULL OR ended_at > :start) ORDER BY started_at",
        {"start": start, "end": end, "longest": longest_s},
    )
    return [interval_from_row(row) for row in rows]


def longest_interval(db: Database) -> float:
    """How long the longest stored agent interval lasted (0 with none)."""
    (longest,) = db.execute("SELECT max(ended_at - started_at) FROM agent_states").fetchone()
    return float(longest or 0.0)


def facts_span(db: Database) -> tuple[float, float] | None:
    """The first and the last moment the stored calls and agent intervals speak of."""
    (first_call, last_call), (first_state, last_state) = (db.execute(
        "SELECT min(entered_at), max(max(entered_at), coalesce(max(ended_at + "
        "coalesce(acw_s, 0)), 0)) FROM calls").fetchone(), db.execute(
        "SELECT min(started_at), max(max(started_at), coalesce(max(ended_at), 0)) "
        "FROM agent_states").fetchone())
    firsts = [t for t in (first_call, first_state) if t is not None]
    lasts = [t for t in (last_call, last_state) if t is not None]
    return (min(firsts), max(lasts)) if firsts else None


def read_facts(db: Database, start: float, end: float) -> list[Fact]:
    """The calls and agent intervals of ``[start, end)`` (as :func:`read_calls` and
    :func:`read_intervals` find them): what primes a fresh KPI board."""
    return [*read_calls(db, start, end), *read_intervals(db, start, end)]


@dataclass(frozen=True, slots=True)
class Holdings:
    """What a database holds: how many calls, of which queues, entering when."""

    calls: int
    queues: tuple[str, ...]
    first_at: float | None
    last_at: float | None


def holdings(db: Database) -> Holdings:
    """What the database's ``calls`` table holds."""
    count, first, last = db.execute(
        "SELECT count(*), min(entered_at), max(entered_at) FROM calls").fetchone()
    queues = tuple(row[0] for row in db.execute(
        "SELECT DISTINCT queue FROM calls ORDER BY queue").fetchall())
    return Holdings(count, queues, first, last)


def live_stints(db: Database, start: float, end: float) -> list[Stint]:
    """The stints the live collector stored that entered by ``end`` and were still there
    at ``start``, as :func:`collector.crosscheck.compare` takes them."""
    marks = ", ".join("?" * len(LIVE_SOURCES))
    return [_live_stint(row) for row in db.query(
        "SELECT uniqueid, queue, entered_at, outcome, agent, wait_s, talk_s, hold_s, "
        f"transferred FROM calls WHERE source IN ({marks}) AND entered_at <= ? "
        "AND coalesce(ended_at, entered_at) >= ?",
        [*LIVE_SOURCES, end, start])]


def _live_stint(row: Mapping[str, Any]) -> Stint:
    talk, hold = row["talk_s"], row["hold_s"]
    connected = None if talk is None else talk + (hold or 0.0)
    return Stint(row["uniqueid"], row["queue"], row["entered_at"], row["outcome"],
                 row["agent"], row["wait_s"], connected, bool(row["transferred"]))


def newest_moment(db: Database) -> float | None:
    """The latest moment the file knows of: a call's end, an agent state's end, an event."""
    queries = ["SELECT max(max(entered_at), coalesce(max(ended_at), 0)) FROM calls",
               "SELECT max(ended_at) FROM agent_states"]
    if "events" in db.table_names():
        queries.append("SELECT max(coalesce(timestamp, received_at)) FROM events")
    found = [row[0] for q in queries for row in db.execute(q).fetchall() if row[0] is not None]
    return max(found, default=None)


@dataclass(frozen=True, slots=True)
class LeftOpen:
    """What a collector that did not stop cleanly (killed, a power cut) left open: the
    callers waiting and the answered calls whose record is not final, and the last moment
    the file knows of (``None``: an empty file)."""

    stints: list[CallRecord | WaitingCaller]
    last_moment: float | None


def left_open(db: Database) -> LeftOpen:
    """What the live collector's last run left open, to follow on
    (:mod:`collector.tracker.resumed`)."""
    stints: list[CallRecord | WaitingCaller] = [
        call_from_row(row) for row in db.query(
            "SELECT * FROM calls WHERE phase != 'done' AND source = 'live' ORDER BY entered_at")]
    stints += [WaitingCaller(row["uniqueid"], row["linkedid"] or row["uniqueid"], row["queue"],
                             row["caller_num"] or "", row["caller_name"] or "",
                             row["entered_at"], row["position_entered"])
               for row in db.query("SELECT * FROM waiting_callers ORDER BY entered_at")]
    return LeftOpen(stints, newest_moment(db))


def data_version(db: Database) -> int:
    """A number that changes whenever another connection commits to the file."""
    version: int = db.execute("PRAGMA data_version").fetchone()[0]
    return version
