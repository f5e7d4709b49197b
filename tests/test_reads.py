"""Reading facts back costs the span of time asked for, not the history: every query the
reads run searches an index (``EXPLAIN QUERY PLAN``), and what they find is what a scan
of everything would find."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from collector.facts import AgentState, Fact
from collector.store.opening import open_database
from collector.store.reads import (
    caller_entries,
    calls_entered,
    calls_handled,
    facts_span,
    has_queue,
    intervals_overlapping,
    newest_moment,
    read_calls,
)
from collector.store.writes import write_facts
from tests.kpi_records import answered, interval, unanswered

DAY = 86400.0
START = 1.8e9
"""A midnight (UTC) some days into the stored history."""


class Recording(sqlite3.Connection):
    """A connection that notes every statement run on it, with its parameters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statements: list[tuple[str, Any]] = []

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.statements.append((sql, parameters))
        return super().execute(sql, parameters)


def history(days: int) -> list[Fact]:
    """A small call center's days: calls, their agents' intervals, a weekend off."""
    facts: list[Fact] = []
    for day in range(days):
        base = START + (day - days // 2) * DAY
        for n in range(20):
            at = base + 8 * 3600 + n * 600
            facts.append(answered(at, wait=5, talk=120, acw=10, num=f"555{n % 7:04d}"))
            facts.append(interval(AgentState.TALKING, at + 5, at + 125))
            facts.append(interval(AgentState.ACW, at + 125, at + 135))
            facts.append(interval(AgentState.AVAILABLE, at + 135, at + 600))
        facts.append(unanswered(base + 20 * 3600, wait=40, num="5559999"))
    return facts


@pytest.fixture
def stored(tmp_path: Path) -> Database:
    path = tmp_path / "history.sqlite"
    db = open_database(str(path))
    write_facts(db, history(12), source="replay")
    # three days away, and one whose end was never seen
    write_facts(db, [interval(AgentState.LOGGED_OUT, START - 2 * DAY, START + 3600,
                              agent="PJSIP/202"),
                     interval(AgentState.PAUSED, START - 3 * DAY, None, agent="PJSIP/203")],
                source="replay")
    db.close()
    return Database(sqlite3.connect(path, factory=Recording))


def plans(db: Database) -> list[str]:
    """The query plan of every statement the connection ran, one line each."""
    conn = db.conn
    assert isinstance(conn, Recording)
    found = []
    for sql, parameters in conn.statements:
        if sql.lstrip().upper().startswith("PRAGMA"):
            continue  # the table's columns (which a file of an older queuepulse may lack)
        steps = sqlite3.Connection.execute(conn, f"EXPLAIN QUERY PLAN {sql}",
                                           parameters).fetchall()
        found.append(" / ".join(step[3] for step in steps))
    return found


READS: dict[str, Callable[[Database], object]] = {
    "calls entered": lambda db: list(calls_entered(db, START, START + DAY)),
    "calls handled": lambda db: calls_handled(db, START, START + DAY),
    "callers": lambda db: list(caller_entries(db, START + DAY, START + 2 * DAY)),
    "intervals": lambda db: list(intervals_overlapping(db, START, START + DAY)),
    "span": facts_span,
    "newest": newest_moment,
    "queue": lambda db: has_queue(db, "support"),
}


BOUNDED = re.compile(
    r"SEARCH \w+ USING (COVERING )?INDEX (\w+ \((?P<key>\w+|<expr>)>\? AND (?P=key)<\?\)"
    r"|idx_agent_states_long_ended_at \(ended_at>\?\)"  # the few intervals over a day
    r"|\w+ \(queue=\?\)"
    r"|\w+)"  # a bare index: min() or max() read at one end of it
    r"|SEARCH \w+ USING INTEGER PRIMARY KEY \(rowid=\?\)"
    r"|SEARCH \w+")  # max(rowid): the end of a table


@pytest.mark.parametrize("read", READS)
def test_every_read_searches_an_index_between_bounds_never_the_history(
    read: str, stored: Database,
) -> None:
    assert isinstance(stored.conn, Recording)
    stored.conn.statements = []
    READS[read](stored)
    found = [plan for plan in plans(stored) if "sqlite_master" not in plan]
    assert found
    for plan in found:
        for step in plan.split(" / "):
            assert BOUNDED.fullmatch(step) or step.startswith("SCALAR SUBQUERY"), plan


def test_a_days_intervals_are_the_ones_overlapping_it_however_long_ago_they_began(
    stored: Database,
) -> None:
    everything = [dict(zip(("agent", "state", "started_at", "ended_at"), row, strict=True))
                  for row in stored.execute("SELECT agent, state, started_at, ended_at FROM "
                                            "agent_states").fetchall()]
    overlapping = sorted((r["agent"], r["started_at"]) for r in everything
                         if r["ended_at"] is not None and r["started_at"] < START + DAY
                         and r["ended_at"] > START)
    found = list(intervals_overlapping(stored, START, START + DAY))
    assert sorted((i.agent, i.started_at) for i in found) == overlapping
    assert ("202", START - 2 * DAY) in overlapping
    assert [i.started_at for i in found] == sorted(i.started_at for i in found)


def test_calls_read_for_a_span_are_those_entered_or_handled_in_it(stored: Database) -> None:
    calls = read_calls(stored, START, START + DAY)
    rows = stored.execute("SELECT uniqueid FROM calls WHERE (entered_at >= ? AND entered_at "
                          "< ?) OR (ended_at + coalesce(acw_s, 0) >= ? AND ended_at + "
                          "coalesce(acw_s, 0) < ?)", [START, START + DAY] * 2).fetchall()
    assert sorted(c.uniqueid for c in calls) == sorted(uid for (uid,) in rows)
    assert [c.entered_at for c in calls] == sorted(c.entered_at for c in calls)


def test_the_span_of_the_facts_reaches_the_last_end_of_a_long_interval(
    stored: Database,
) -> None:
    first, last = stored.execute(
        "SELECT min(t), max(t) FROM (SELECT entered_at AS t FROM calls UNION ALL "
        "SELECT ended_at + coalesce(acw_s, 0) FROM calls UNION ALL "
        "SELECT started_at FROM agent_states UNION ALL SELECT ended_at FROM agent_states)"
    ).fetchone()
    assert facts_span(stored) == (first, last)
