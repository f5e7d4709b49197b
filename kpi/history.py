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
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from collector.facts import (
    AcwSource,
    AgentInterval,
    AgentState,
    CallRecord,
    EndReason,
    Fact,
    Outcome,
)
from kpi.windows import earliest_live_start, local_date

_CALL_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))
_INTERVAL_FIELDS = tuple(f.name for f in dataclasses.fields(AgentInterval))
_QUEUES_NAMED = 12
"""Queues named in a message about what a database holds; more are counted."""


def call_from_row(row: Mapping[str, Any]) -> CallRecord:
    """The call record a ``calls`` row holds."""
    values = {name: row[name] for name in _CALL_FIELDS}
    values["outcome"] = Outcome(values["outcome"])
    values["acw_source"] = AcwSource(values["acw_source"] or AcwSource.NONE)
    values["end_reason"] = EndReason(values["end_reason"]) if values["end_reason"] else None
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
    rows = db.query(
        "SELECT * FROM calls WHERE (entered_at >= :start AND entered_at < :end) "
        "OR (ended_at + coalesce(acw_s, 0) >= :start AND ended_at < :end) "
        "ORDER BY entered_at",
        {"start": start, "end": end},
    )
    return [call_from_row(row) for row in rows]


def read_intervals(db: Database, start: float, end: float) -> list[AgentInterval]:
    """Agent state intervals overlapping ``[start, end)``."""
    rows = db.query(
        "SELECT * FROM agent_states WHERE started_at < :end "
        "AND (ended_at IS NULL OR ended_at > :start) ORDER BY started_at",
        {"start": start, "end": end},
    )
    return [interval_from_row(row) for row in rows]


def facts_of_live_windows(db: Database, at: float, timezone: ZoneInfo) -> list[Fact]:
    """The stored facts the live windows still see at ``at``: what primes a fresh board."""
    start = earliest_live_start(at, timezone)
    return [*read_calls(db, start, at), *read_intervals(db, start, at)]


@dataclass(frozen=True, slots=True)
class Holdings:
    """What a database holds: how many calls, of which queues, entering when."""

    calls: int
    queues: tuple[str, ...]
    first_at: float | None
    last_at: float | None

    def describe(self, timezone: ZoneInfo) -> str:
        """The holdings in words, days local to ``timezone`` (for an error message)."""
        if self.first_at is None or self.last_at is None:
            return "it holds no calls yet"
        first, last = local_date(self.first_at, timezone), local_date(self.last_at, timezone)
        days = f"on {first}" if first == last else f"from {first} to {last}"
        shown = ", ".join(self.queues[:_QUEUES_NAMED])
        if len(self.queues) > _QUEUES_NAMED:
            shown += f" and {len(self.queues) - _QUEUES_NAMED} more"
        return f"it holds {self.calls:,} calls of the queues {shown} {days} ({timezone.key})"


def holdings(db: Database) -> Holdings:
    """What the database's ``calls`` table holds."""
    count, first, last = db.execute(
        "SELECT count(*), min(entered_at), max(entered_at) FROM calls").fetchone()
    queues = tuple(row[0] for row in db.execute(
        "SELECT DISTINCT queue FROM calls ORDER BY queue").fetchall())
    return Holdings(count, queues, first, last)
