"""Writing facts to the SQLite database: one function, used by replay and the live writer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from collector.facts import AgentInterval, Anomaly, CallRecord, Fact


def write_facts(db: Database, facts: Iterable[Fact], source: str) -> int:
    """Store facts in one transaction; return how many were written.

    Calls and intervals are upserted on their keys, so writing the same facts twice (a
    replay run again, a batch retried after a full disk) stores them once.
    """
    calls: list[dict[str, object]] = []
    intervals: list[dict[str, object]] = []
    anomalies: list[dict[str, object]] = []
    for fact in facts:
        if isinstance(fact, CallRecord):
            calls.append({**fact.as_row(), "source": source})
        elif isinstance(fact, AgentInterval):
            intervals.append({**fact.as_row(), "source": source})
        elif isinstance(fact, Anomaly):
            anomalies.append({"at": fact.at, "kind": fact.kind, "uniqueid": fact.uniqueid,
                              "detail": fact.detail})
    with db.atomic():
        if calls:
            db.table("calls").upsert_all(calls, pk="call_id")
        if intervals:
            db.table("agent_states").upsert_all(intervals, pk=("interface", "started_at"))
        if anomalies:
            db.table("anomalies").insert_all(anomalies)
    return len(calls) + len(intervals) + len(anomalies)
