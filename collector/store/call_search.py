"""Finding stored calls: the call-detail search behind ``queuepulse calls``.

Every filter is optional and they add up (AND). A number matches the calls whose caller
number ends with it, so that ``0000002``, ``5550000002`` and ``+15550000002`` all find
``+15550000002``; an agent matches its name or its member interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from collector.facts import CallRecord, Outcome
from collector.store.reads import call_from_values, select_calls


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls to find: those that entered a queue in ``[start, end)`` and match every
    filter given; at most ``limit`` of them (0: all), the earliest first."""

    start: float
    end: float
    number: str | None = None
    queue: str | None = None
    agent: str | None = None
    outcome: Outcome | None = None
    limit: int = 0


def _like_suffix(number: str) -> str:
    """A LIKE pattern for the numbers ending with ``number``, its wildcards escaped."""
    escaped = number.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}"


def search_calls(db: Database, where: CallFilter) -> list[CallRecord]:
    """The calls :class:`CallFilter` describes, in the order they entered their queue."""
    clauses = ["entered_at >= :start", "entered_at < :end"]
    params: dict[str, object] = {"start": where.start, "end": where.end}
    if where.number:
        clauses.append("caller_num LIKE :number ESCAPE '\\'")
        params["number"] = _like_suffix(where.number)
    if where.queue is not None:
        clauses.append("queue = :queue")
        params["queue"] = where.queue
    if where.agent is not None:
        clauses.append("(agent = :agent OR agent_interface = :agent)")
        params["agent"] = where.agent
    if where.outcome is not None:
        clauses.append("outcome = :outcome")
        params["outcome"] = where.outcome.value
    limit = " LIMIT :limit" if where.limit > 0 else ""
    params["limit"] = where.limit
    rows = db.execute(f"{select_calls(db)} WHERE {' AND '.join(clauses)} "
                      f"ORDER BY entered_at, queue{limit}", params)
    return [call_from_values(row) for row in rows]
