"""Facts read back from SQLite: rows of ``calls`` and ``agent_states`` as the tracker made them.

Reports and the board's start-up priming turn rows back into :class:`CallRecord` and
:class:`AgentInterval` values, so that every KPI is computed by the same definitions from
the same types, whether the facts came from the tracker a moment ago or from the file.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from sqlite_utils import Database

from collector.crosscheck import Stint
from collector.facts import (
    INTERVAL_COLUMNS,
    AcwSource,
    AgentInterval,
    AgentState,
    CallRecord,
    Dial,
    EndReason,
    Fact,
    Outcome,
    Phase,
    RingNoAnswer,
    TransferKind,
    WaitingCaller,
)

COMPLETED_SOURCE = "live+queue_log"
"""The ``source`` of a live call whose end the daemon took from ``pbx.queue_log``."""
LIVE_SOURCES = ("live", "replay", COMPLETED_SOURCE)
"""The ``source`` of calls the live collector stored (``queuepulse run``, ``replay``),
those it completed from queue_log included."""

LONG_INTERVAL_S = 86400
"""Agent intervals longer than this are also indexed by their end (migration 0008's
partial index ``idx_agent_states_long_ended_at``, whose condition holds this very number):
an interval overlapping a span of time then either starts less than this before it or
is one of the few long ones."""

_CALL_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))
_HANDLED = "ended_at + coalesce(acw_s, 0)"
"""When a call's after-call work ended, as ``idx_calls_handled_at`` indexes it."""
_INTERVALS = f"SELECT {', '.join(INTERVAL_COLUMNS)} FROM agent_states"
_OUTCOMES = {o.value: o for o in Outcome}
_ACW_SOURCES = {s.value: s for s in AcwSource} | {None: AcwSource.NONE, "": AcwSource.NONE}
_END_REASONS = {r.value: r for r in EndReason} | {None: None, "": None}
_STATES = {s.value: s for s in AgentState}
# a database of an older queuepulse lacks the newer columns: read as NULL, their defaults
_PHASES = {p.value: p for p in Phase} | {None: Phase.DONE, "": Phase.DONE}
_TRANSFER_KINDS = {k.value: k for k in TransferKind} | {None: None, "": None}


def select_calls(db: Database) -> str:
    """The start of a query whose rows :func:`call_from_values` reads (NULL for the
    columns a database of an older queuepulse lacks)."""
    present = {column.name for column in db["calls"].columns}
    return "SELECT " + ", ".join(name if name in present else f"NULL AS {name}"
                                 for name in _CALL_FIELDS) + " FROM calls"


def call_from_values(values: Sequence[Any]) -> CallRecord:
    """The call record of a row :func:`select_calls` read, its columns in
    :class:`CallRecord`'s order."""
    (uniqueid, linkedid, queue, caller_num, caller_name, entered_at, answered_at, ended_at,
     outcome, agent, agent_interface, wait_s, talk_s, hold_s, hold_count, acw_s, acw_source,
     handle_s, ring_attempts, ring_noanswer, transferred, transfer_to, end_reason,
     position_entered, position_left, phase, caller_hold_s, transfer_kind, transfer_party,
     gap_s) = values
    return CallRecord(uniqueid, linkedid or uniqueid, queue, caller_num or "", caller_name or "",
                      entered_at, answered_at, ended_at, _OUTCOMES[outcome], agent,
                      agent_interface, wait_s, talk_s, hold_s, hold_count or 0, acw_s,
                      _ACW_SOURCES[acw_source], handle_s, ring_attempts or 0,
                      ring_noanswer or 0, transferred or 0, transfer_to,
                      _END_REASONS[end_reason], position_entered, position_left,
                      _PHASES[phase], caller_hold_s, _TRANSFER_KINDS[transfer_kind],
                      transfer_party, gap_s or 0.0)


def _interval(values: Sequence[Any]) -> AgentInterval:
    agent, interface, queue, state, reason, started_at, ended_at = values
    return AgentInterval(agent, interface, queue, _STATES[state], reason, started_at, ended_at)


def calls_entered(db: Database, start: float, end: float) -> Iterator[CallRecord]:
    """The calls that entered a queue in ``[start, end)``, in order of entry, read as they
    are used (a year of calls is never all in memory)."""
    rows = db.execute(f"{select_calls(db)} WHERE entered_at >= ? AND entered_at < ? "
                      "ORDER BY entered_at", [start, end])
    return map(call_from_values, rows)


class CallerEntry(NamedTuple):
    """Who entered a queue when, on which call: what tells whether a caller called again
    (a named tuple: a day of them is read for every day a report covers)."""

    caller_num: str
    entered_at: float
    linkedid: str


def caller_entries(db: Database, start: float, end: float) -> Iterator[CallerEntry]:
    """The callers of the calls that entered a queue in ``[start, end)``, in order of entry."""
    rows = db.execute("SELECT coalesce(caller_num, ''), entered_at, "
                      "coalesce(nullif(linkedid, ''), uniqueid) FROM calls "
                      "WHERE entered_at >= ? AND entered_at < ? ORDER BY entered_at", [start, end])
    return map(CallerEntry._make, rows)


def calls_handled(db: Database, start: float, end: float) -> list[CallRecord]:
    """The calls whose after-call work ended in ``[start, end)`` but that entered before
    ``start``, in order of entry (with :func:`calls_entered`: every call a KPI of the
    span can count)."""
    rows = db.execute(f"{select_calls(db)} WHERE {_HANDLED} >= ? AND {_HANDLED} < ? "
                      "AND entered_at < ?",
                      [start, end, start]).fetchall()
    return sorted(map(call_from_values, rows), key=attrgetter("entered_at"))


def read_calls(db: Database, start: float, end: float) -> list[CallRecord]:
    """Calls that entered, or finished their after-call work, in ``[start, end)``, in order
    of entry."""
    # a call is handled after it entered: one handled in the span entered in it or before
    return [*calls_handled(db, start, end), *calls_entered(db, start, end)]


def intervals_overlapping(db: Database, start: float, end: float) -> Iterator[AgentInterval]:
    """Agent state intervals overlapping ``[start, end)``, in order of start, read as they
    are used.

    Only intervals whose end was observed: one still open (the stream stopped) has no
    known overlap, and adds nothing to any figure (:func:`kpi.occupancy.overlap`). Both
    searches are bounded by the span, however long the history (``EXPLAIN QUERY PLAN``
    in ``tests/test_reads.py``).
    """
    long_ago = start - LONG_INTERVAL_S
    # "+started_at": not by start, which would read all history before
    long = sorted(db.execute(f"{_INTERVALS} WHERE ended_at - started_at > {LONG_INTERVAL_S} "
                             "AND ended_at > ? AND +started_at < ? AND +started_at < ?",
                             [start, long_ago, end]), key=itemgetter(5))
    rows = db.execute(f"{_INTERVALS} WHERE started_at >= ? AND started_at < ? AND ended_at > ? "
                      "ORDER BY started_at", [long_ago, end, start])
    return map(_interval, itertools.chain(long, rows))


def read_ring_no_answers(db: Database, start: float, end: float) -> list[RingNoAnswer]:
    """The rings members let go unanswered in ``[start, end)``, in time order (none in
    a database older than the table)."""
    if "ring_no_answers" not in db.table_names():
        return []
    return [RingNoAnswer(row["at"], row["queue"], row["uniqueid"], row["interface"],
                         row["agent"])
            for row in db.query("SELECT * FROM ring_no_answers WHERE at >= ? AND at < ? "
                                "ORDER BY at", [start, end])]


def read_dials(db: Database, start: float, end: float) -> list[Dial]:
    """The dials outside queues that started in ``[start, end)``, in time order (none in
    a database older than the table)."""
    if "dials" not in db.table_names():
        return []
    return [Dial(row["uniqueid"], row["linkedid"] or "", row["caller_num"] or "",
                 row["number"], row["started_at"], row["answered_at"], row["status"])
            for row in db.query("SELECT * FROM dials WHERE started_at >= ? AND started_at < ? "
                                "ORDER BY started_at", [start, end])]


def read_intervals(db: Database, start: float, end: float) -> list[AgentInterval]:
    """:func:`intervals_overlapping` as a list."""
    return list(intervals_overlapping(db, start, end))


def _max(db: Database, query: str, *args: object) -> float | None:
    row = db.execute(query, args).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def _last_moment(db: Database) -> float | None:
    """The latest moment the stored calls and agent intervals speak of: an entry, the end
    of a call's after-call work, the start or the end of an interval.

    Each part is one step down an index: an interval that ends last either started at
    most :data:`LONG_INTERVAL_S` before it ended, so after the latest start less that, or
    is a long one.
    """
    found = [_max(db, "SELECT max(entered_at) FROM calls"),
             _max(db, f"SELECT max({_HANDLED}) FROM calls")]
    last_start = _max(db, "SELECT max(started_at) FROM agent_states")
    if last_start is not None:
        found += [last_start,
                  _max(db, "SELECT max(ended_at) FROM agent_states WHERE started_at >= ? "
                       "AND started_at <= ?", last_start - LONG_INTERVAL_S, last_start),
                  _max(db, "SELECT max(ended_at) FROM agent_states "
                       f"WHERE ended_at - started_at > {LONG_INTERVAL_S}")]
    return max((t for t in found if t is not None), default=None)


def facts_span(db: Database) -> tuple[float, float] | None:
    """The first and the last moment the stored calls and agent intervals speak of."""
    firsts = [t for t in (_max(db, "SELECT min(entered_at) FROM calls"),
                          _max(db, "SELECT min(started_at) FROM agent_states"))
              if t is not None]
    last = _last_moment(db)
    return (min(firsts), last) if firsts and last is not None else None


def read_facts(db: Database, start: float, end: float) -> list[Fact]:
    """The calls, agent intervals and dials of ``[start, end)`` (as :func:`read_calls`,
    :func:`read_intervals` and :func:`read_dials` find them): what primes a fresh KPI
    board."""
    return [*read_calls(db, start, end), *read_intervals(db, start, end),
            *read_dials(db, start, end)]


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


def has_queue(db: Database, queue: str) -> bool:
    """Whether the database holds calls of ``queue``."""
    return db.execute("SELECT 1 FROM calls WHERE queue = ? LIMIT 1", [queue]).fetchone() is not None


def live_stints(db: Database, start: float, end: float) -> list[Stint]:
    """The stints the live collector stored that entered by ``end`` and were still there
    at ``start``, as :func:`collector.crosscheck.compare` takes them; not the callers
    ``joinempty`` turned away, which never entered the queue (queue_log logs no line of
    them)."""
    marks = ", ".join("?" * len(LIVE_SOURCES))
    return [_live_stint(row) for row in db.query(
        "SELECT uniqueid, queue, entered_at, outcome, agent, wait_s, talk_s, hold_s, "
        f"transferred FROM calls WHERE source IN ({marks}) AND entered_at <= ? "
        "AND coalesce(ended_at, entered_at) >= ? AND outcome != ?",
        [*LIVE_SOURCES, end, start, Outcome.TURNED_AWAY])]


def _live_stint(row: Mapping[str, Any]) -> Stint:
    talk, hold = row["talk_s"], row["hold_s"]
    connected = None if talk is None else talk + (hold or 0.0)
    return Stint(row["uniqueid"], row["queue"], row["entered_at"], row["outcome"],
                 row["agent"], row["wait_s"], connected, bool(row["transferred"]))


def newest_moment(db: Database) -> float | None:
    """The latest moment the file knows of: a call's end, an agent state's end, the last
    event stored."""
    found = [_last_moment(db)]
    if "events" in db.table_names():
        found.append(_max(db, "SELECT coalesce(timestamp, received_at) FROM events "
                          "WHERE id = (SELECT max(id) FROM events)"))
    return max((t for t in found if t is not None), default=None)


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
        call_from_values(row) for row in db.execute(
            f"{select_calls(db)} WHERE phase != 'done' AND source = 'live' ORDER BY entered_at")]
    stints += [WaitingCaller(row["uniqueid"], row["linkedid"] or row["uniqueid"], row["queue"],
                             row["caller_num"] or "", row["caller_name"] or "",
                             row["entered_at"], row["position_entered"])
               for row in db.query("SELECT * FROM waiting_callers ORDER BY entered_at")]
    return LeftOpen(stints, newest_moment(db))


def data_version(db: Database) -> int:
    """A number that changes whenever another connection commits to the file."""
    version: int = db.execute("PRAGMA data_version").fetchone()[0]
    return version
