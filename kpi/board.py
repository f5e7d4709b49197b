"""The live KPI board: the facts of the live windows, and snapshots of every KPI.

Pure: the daemon hands it facts as the tracker produces them (and, at start, the facts of
today read back from SQLite), and asks for a snapshot given the tracker's live view; the
snapshot's time is the live view's. It remembers only what the live windows can still
see (since the earlier of local midnight and an hour ago) and computes each figure with
the same definitions the reports use.

It runs for months and holds a whole day, so it holds it compactly. Each queue's calls
are a :class:`~kpi.definitions.CallTable`: a call is classified once by the definitions
and kept as a row of numbers, never as a record (some 130 bytes a call all told, caches
included, where a slimmed record took 750). Beside the table the board keeps what tells
calls apart: the call's uniqueid (a call put again replaces its row), and its caller
number and linkedid, from which it works out, for the callers who called since the last
snapshot, whether they called again (:class:`~kpi.definitions.CallerIndex`). Numbers and
Asterisk's ids are kept as 64-bit integers (see :class:`_Codes`). Agent intervals older
than the hourly window are folded into time per agent and state
(:class:`~kpi.agent_times.AgentTimes`).

A window's figures are recomputed only when a call of its queue entered or left it, or
changed (a repeat caller counts as a change of the earlier call).
"""

from __future__ import annotations

import bisect
import math
import re
import sys
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from collector.facts import AgentInterval, CallRecord, Dial, Fact
from collector.live import LiveAgent, LiveView
from kpi.agent_times import AgentTimes
from kpi.alerts import Alert, AlertWatch, QueueNow
from kpi.callbacks import CallbacksPending, PendingCallbacks
from kpi.definitions import CallKpis, CallTable, table_kpis
from kpi.live_state import QueueLive, queue_live, queue_names
from kpi.occupancy import (
    AgentKpis,
    CenterKpis,
    HandledCalls,
    agents_kpis,
    center_kpis,
    handled_by_agent,
    open_intervals,
)
from kpi.repeat_callers import CallerIndex, caller_key
from kpi.settings import KpiSettings
from kpi.windows import LIVE_WINDOWS, Window, live_window


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """The KPIs of one queue (``queue`` ``None``: all queues) over one window, and the
    service level aimed at there."""

    queue: str | None
    window: Window
    calls: CallKpis
    center: CenterKpis | None
    service_level_target: float


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    """One agent's KPIs over one window."""

    window: Window
    kpis: AgentKpis


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """Every KPI, live queue state and agent state at ``at``."""

    at: float
    kpis: tuple[KpiSnapshot, ...]
    queues: tuple[QueueLive, ...]
    agents: tuple[LiveAgent, ...]
    agent_kpis: tuple[AgentSnapshot, ...]
    alerts: tuple[Alert, ...] = ()
    """Every alert rule of every queue, raised or not (none without an :class:`AlertWatch`)."""
    callbacks: tuple[CallbacksPending, ...] = ()
    """Per queue and for all queues: the callers who gave up today, not reached yet."""


_NUMBER = re.compile(r"\+?[0-9]{1,17}")
_ASTERISK_ID = re.compile(r"([1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,8})")
_SEQUENCE_BITS = 29
_NOBODY = 0
"""The code of a caller number that identifies nobody."""


class _Codes:
    """Text as 64-bit integers that are equal exactly when the texts are.

    A caller number of digits (``+`` in front or not) is read as a number with a leading
    1 (2 after a ``+``), so that leading zeros count; an Asterisk uniqueid or linkedid
    (``epoch.sequence``) packs both numbers; any other text is numbered, below zero.
    """

    def __init__(self) -> None:
        self._other: dict[str, int] = {}
        self._next = -1

    def number(self, number: str) -> int:
        """The code of a caller number (:data:`_NOBODY` when it identifies nobody)."""
        if caller_key(number) is None:
            return _NOBODY
        if _NUMBER.fullmatch(number):
            return int(f"2{number[1:]}" if number[0] == "+" else f"1{number}")
        return self._numbered(number)

    def asterisk_id(self, text: str) -> int:
        """The code of a uniqueid or linkedid."""
        match = _ASTERISK_ID.fullmatch(text)
        if match is not None:
            sequence = int(match[2])
            if sequence < 1 << _SEQUENCE_BITS:
                return int(match[1]) << _SEQUENCE_BITS | sequence
        return self._numbered(text)

    def _numbered(self, text: str) -> int:
        code = self._other.get(text)
        if code is None:
            code = self._other[text] = self._next
            self._next -= 1
        return code

    def keep(self, used: set[int]) -> None:
        """Forget the numbered texts whose codes are not in ``used``."""
        if self._other:
            self._other = {t: c for t, c in self._other.items() if c in used}


class _Queue:
    """One queue's calls: their KPI columns, and what tells them apart (row for row)."""

    def __init__(self, settings: KpiSettings) -> None:
        self.table = CallTable(settings)
        self.uniqueid = array("q")
        self.caller = array("q")
        self.linkedid = array("q")
        self.version = 0

    def _ids(self) -> tuple[array[int], ...]:
        return (self.uniqueid, self.caller, self.linkedid)

    def find(self, uniqueid: int, entered_at: float) -> int | None:
        """The row of the call with ``uniqueid`` that entered at ``entered_at``, as
        :attr:`CallRecord.call_id` tells calls apart (to the microsecond)."""
        entered = self.table.entered
        moment = f"{entered_at:.6f}"
        for row in range(bisect.bisect_left(entered, entered_at - 1e-6),
                         bisect.bisect_right(entered, entered_at + 1e-6)):
            if self.uniqueid[row] == uniqueid and f"{entered[row]:.6f}" == moment:
                return row
        return None

    def put(self, call: CallRecord, ids: tuple[int, int, int]) -> None:
        """Add ``call``, known by its codes ``ids`` (uniqueid, caller, linkedid)."""
        row = self.table.add(call)
        for column, value in zip(self._ids(), ids, strict=True):
            column.insert(row, value)
        self.version += 1

    def remove(self, row: int) -> None:
        """Drop the call in ``row``."""
        self.table.remove(row)
        for column in self._ids():
            del column[row]
        self.version += 1

    def forget_before(self, start: float) -> None:
        """Drop the calls no window starting at ``start`` or later picks up."""
        table = self.table
        first = bisect.bisect_left(table.entered, start)
        kept = [row for row in range(first) if table.handled[row] >= start]
        if len(kept) < first:
            table.keep(first, kept)
            for column in self._ids():
                column[:first] = array("q", [column[row] for row in kept])


@dataclass(frozen=True, slots=True)
class _Cached:
    """A window's KPIs, valid until a call leaves (``leaves``) or enters (``enters``) it."""

    version: int
    start: float
    leaves: float
    enters: float
    kpis: CallKpis
    handled: Mapping[str, HandledCalls]


class KpiBoard:
    """The facts of the live windows, and the KPIs computed from them."""

    def __init__(self, settings: KpiSettings, timezone: str = "UTC",
                 alerts: AlertWatch | None = None) -> None:
        self.settings = settings
        self.timezone = ZoneInfo(timezone)
        self.alerts = alerts
        """The alert rules evaluated on every snapshot, if any."""
        self.callbacks = PendingCallbacks(settings.callback_window_s)
        """The callers who gave up, until they are reached or their window is over."""
        self.changes = 0
        """Counts the batches of facts taken: at the same live view, a board whose count
        did not change gives the same snapshot."""
        self._call_version = 0
        self._queues: dict[str, _Queue] = {}
        self._codes = _Codes()
        self._called: set[int] = set()
        self._agents = AgentTimes()
        self._cache: dict[tuple[str | None, str], _Cached] = {}

    def add(self, facts: Iterable[Fact]) -> None:
        """Take the facts the tracker produced (or those read back from the database)."""
        self.changes += 1
        for fact in facts:
            if isinstance(fact, CallRecord):
                self._put(fact)
                self.callbacks.call(fact)
            elif isinstance(fact, Dial):
                self.callbacks.dial(fact)
            elif isinstance(fact, AgentInterval) and fact.ended_at is not None:
                self._agents.add(fact)

    def _put(self, call: CallRecord) -> None:
        """Keep ``call``, in place of an earlier version of it."""
        queue = self._queues.get(call.queue)
        if queue is None:
            queue = self._queues[sys.intern(call.queue)] = _Queue(self.settings)
        uniqueid = self._codes.asterisk_id(call.uniqueid)
        old = queue.find(uniqueid, call.entered_at)
        if old is not None:
            self._called.add(queue.caller[old])
            queue.remove(old)
        caller = self._codes.number(call.caller_num)
        queue.put(call, (uniqueid, caller, self._codes.asterisk_id(call.linkedid)))
        self._called.add(caller)
        self._call_version += 1

    def _settle_repeats(self) -> None:
        """Work out again whether the callers who called since the last time called again.

        A call makes its caller's earlier calls repeat calls, in any queue; only those
        callers' calls are looked at (one pass over the caller column of each queue).
        """
        self._called.discard(_NOBODY)
        if not self._called:
            return
        callers = CallerIndex()
        rows: list[tuple[_Queue, int]] = []
        for queue in self._queues.values():
            entered, linkedid = queue.table.entered, queue.linkedid
            for row, caller in enumerate(queue.caller):
                if caller in self._called:
                    callers.remember(caller, entered[row], linkedid[row])
                    rows.append((queue, row))
        within = self.settings.repeat_window_s
        for queue, row in rows:
            if not queue.table.answered(row):
                continue
            again = callers.again(queue.caller[row], queue.table.entered[row],
                                  queue.linkedid[row], within)
            if queue.table.set_again(row, again):
                queue.version += 1
                self._call_version += 1
        self._called.clear()

    def _forget(self, at: float) -> None:
        """Drop what no live window reaches at ``at`` any more, and fold the agent
        intervals only ``today`` reaches into its time per agent and state."""
        windows = [live_window(name, at, self.timezone) for name in LIVE_WINDOWS]
        day = next(w for w in windows if w.name == "today")
        rolling = min(w.start for w in windows if w.name != "today")
        earliest = min(day.start, rolling)
        for queue in self._queues.values():
            queue.forget_before(earliest)
        if day.start != self._agents.day.start:
            self._codes.keep({code for queue in self._queues.values()
                              for column in (queue.uniqueid, queue.linkedid, queue.caller)
                              for code in column if code < 0})
        self._agents.forget(day, rolling)

    def snapshot(self, live: LiveView) -> BoardSnapshot:
        """Every KPI of every queue and agent, and the live state, at the live view's time."""
        at = live.at
        self._forget(at)
        self._settle_repeats()
        windows = [live_window(name, at, self.timezone) for name in LIVE_WINDOWS]
        queues = sorted(set(queue_names(live)) | set(self._queues))
        still_open = open_intervals(live)
        kpis: list[KpiSnapshot] = []
        agents: list[AgentSnapshot] = []
        for window in windows:
            for queue in queues:
                kpis.append(KpiSnapshot(queue, window, self._calls(queue, window).kpis, None,
                                        self.settings.target(queue)))
            totals = self._calls(None, window)
            intervals = [*self._agents.closed(window), *still_open]
            per_agent = agents_kpis(totals.handled, intervals, window)
            center = center_kpis(per_agent, totals.kpis, self.settings)
            kpis.append(KpiSnapshot(None, window, totals.kpis, center,
                                    self.settings.target(None)))
            agents.extend(AgentSnapshot(window, a) for a in per_agent)
        lives = tuple(queue_live(live, q) for q in [*queues, None])
        return BoardSnapshot(
            at=at,
            kpis=tuple(kpis),
            queues=lives,
            agents=live.agents,
            agent_kpis=tuple(agents),
            alerts=() if self.alerts is None else self._alerts(self.alerts, live, lives, kpis),
            callbacks=self.callbacks.pending(at, self._agents.day.start),
        )

    @staticmethod
    def _alerts(watch: AlertWatch, live: LiveView, lives: tuple[QueueLive, ...],
                kpis: list[KpiSnapshot]) -> tuple[Alert, ...]:
        """The alert rules read from this snapshot's figures."""
        levels = {(k.queue, k.window.name): k.calls.service_level for k in kpis}
        return watch.update(live.at, (
            QueueNow(q, levels.get((q.queue, watch.rules(q.queue).service_level_window)),
                     [a for a in live.agents if any(m.queue == q.queue for m in a.memberships)])
            for q in lives if q.queue is not None))

    def _calls(self, queue: str | None, window: Window) -> _Cached:
        """A window's call KPIs (and, for all queues, the calls each agent handled),
        recomputed only when a call has entered, left or changed in the window."""
        cached = self._cache.get((queue, window.name))
        if queue is None:
            version, shelves = self._call_version, list(self._queues.values())
        else:
            shelf = self._queues.get(queue)
            version, shelves = (0, []) if shelf is None else (shelf.version, [shelf])
        if (cached is not None and cached.version == version
                and cached.start <= window.start <= cached.leaves
                and window.end <= cached.enters):
            return cached
        tables = [shelf.table for shelf in shelves]
        cached = _Cached(
            version=version,
            start=window.start,
            leaves=min((t.next_time(window.start) for t in tables), default=math.inf),
            enters=min((t.next_time(window.end) for t in tables), default=math.inf),
            kpis=table_kpis(tables, window, self.settings),
            handled=handled_by_agent(tables, window) if queue is None else {},
        )
        self._cache[(queue, window.name)] = cached
        return cached
