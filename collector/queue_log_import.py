"""queue_log lines to call records and agent intervals, by the live tracker's own rules.

Pure: lines in, facts out; no file, database or clock. Each line is translated into the
normalized events the AMI parser would have produced for the same moment
(:mod:`collector.queue_log_events`), and those are fed to a
:class:`~collector.tracker.Tracker`, so after-call work, agent states and outcomes follow
exactly the rules the live collector follows (see ``docs/import.md``). What queue_log
could not observe is stored as NULL (:class:`ImportedCall`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from collector.events import Tick
from collector.facts import (
    CALL_COLUMNS,
    AgentInterval,
    Anomaly,
    CallRecord,
    Fact,
    Phase,
    outcome_known,
)
from collector.queue_log import QueueLogLine
from collector.queue_log_events import LineTranslator, SkippedLine
from collector.queue_log_shutdown import QUEUESTART, Released, ShutdownLookahead
from collector.tracker import Tracker, TrackerConfig

_COLUMN = {name: index for index, name in enumerate(CALL_COLUMNS)}

NEVER_ENTERED = "caller never entered the queue (JOINEMPTY, JOINUNAVAIL, FULL)"
UNKNOWN_EVENT = "unknown event"

# Lines that are understood but change nothing we store: the per-queue PAUSE/UNPAUSE lines
# that follow PAUSEALL/UNPAUSEALL carry the pause, the ABANDON after SYSCOMPAT the outcome.
INFORMATIONAL = frozenset({
    "PAUSEALL", "UNPAUSEALL", "CONFIGRELOAD", "DID", "SYSCOMPAT", "RINGCANCELED", "PENALTY",
    "RINGINUSE", "INFO", "OUTCALL", "AGENTCALLBACKLOGIN", "AGENTCALLBACKLOGOFF",
})


@dataclass(frozen=True, slots=True)
class ImportedCall:
    """A call record read from queue_log, with the columns queue_log could not observe.

    The record's values for those columns are placeholders (the tracker saw no hold, so
    its ``hold_s`` is 0 and its ``talk_s`` the whole calltime); :meth:`as_row` stores
    them as NULL.
    """

    record: CallRecord
    unobserved: frozenset[str]

    def as_values(self) -> tuple[object, ...]:
        """The record's ``calls`` row, in the order of
        :data:`~collector.facts.CALL_COLUMNS`, unobserved columns NULL."""
        values = list(self.record.as_values())
        for column in self.unobserved:
            values[_COLUMN[column]] = None
        return tuple(values)


ImportFact = ImportedCall | AgentInterval


def _ended(record: CallRecord) -> bool:
    """Whether the input told how the stint ended: a caller Asterisk dropped as it shut
    down did end, though its outcome is ``unknown``."""
    return record.ended_at is not None and outcome_known(record.outcome, record.end_reason)


@dataclass(slots=True)
class ImportStats:
    """What the import did with the lines it was given."""

    lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    informational: Counter[str] = field(default_factory=Counter)
    anomalies: Counter[str] = field(default_factory=Counter)
    first_at: float | None = None
    last_at: float | None = None
    unfinished: list[tuple[str, str, float]] = field(default_factory=list)
    open_intervals: int = 0
    restarts: int = 0

    @property
    def unfinished_calls(self) -> int:
        """Stints still going on where the input ends."""
        return len(self.unfinished)


class QueueLogImporter:
    """Folds queue_log lines, in time order, into call records and agent intervals.

    ``config`` is the tracker's; its ``agent_names`` join what queue_log logs as the
    agent to the agent's name (:class:`~collector.queue_log_events.LineTranslator`).
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.stats = ImportStats()
        self._tracker = Tracker(self.config, revisions=False)
        self._lines = LineTranslator(self.config.agent_names)
        self._shutdowns = ShutdownLookahead()

    def feed(self, line: QueueLogLine) -> list[ImportFact]:
        """Apply one line; return the facts it completed.

        The ends of calls logged in the latest second wait for the next line: a
        ``QUEUESTART`` after them says Asterisk logged them as it shut down
        (:mod:`collector.queue_log_shutdown`).
        """
        stats = self.stats
        stats.lines += 1
        if stats.first_at is None:
            stats.first_at = line.at
        if stats.last_at is None or line.at > stats.last_at:
            stats.last_at = line.at
        if line.event == QUEUESTART:
            released, stopped_at = self._shutdowns.restart(line.at)
            facts = self._apply(released)
            return facts + self._restart(line.at if stopped_at is None else stopped_at)
        return self._apply(self._shutdowns.push(line))

    def advance(self, at: float) -> list[ImportFact]:
        """No line dated before ``at`` is still to come: decide what waits for time to pass
        (after-call work, how a caller who left ended), as the live tracker's ticks do;
        time stops short of the lines still waiting for the next."""
        facts = self._apply(self._shutdowns.expire(at))
        held_since = self._shutdowns.held_since
        until = at if held_since is None else min(at, held_since)
        return facts + self._imported(self._tracker.feed(Tick(until)))

    def finish(self) -> list[ImportFact]:
        """The input has ended: what is complete, without what was still going on.

        Calls still waiting or talking and agent intervals still open have no end in the
        input; they are counted, not stored: the next piece of the log completes them.
        """
        facts = self._apply(self._shutdowns.flush())
        facts += self._imported(self._tracker.finish(self.stats.last_at or 0.0), final=True)
        self._lines.forget_stints()
        return facts

    def _apply(self, released: list[Released]) -> list[ImportFact]:
        facts: list[ImportFact] = []
        for line, shutdown in released:
            facts += self._line(line, shutdown)
        return facts

    def _line(self, line: QueueLogLine, shutdown: bool) -> list[ImportFact]:
        try:
            events = self._lines.events(line, shutdown)
        except SkippedLine as skipped:
            self.stats.skipped[skipped.reason] += 1
            return []
        if events is None:
            self._unhandled(line)
            return []
        facts: list[ImportFact] = []
        feed = self._tracker.feed
        for event in events:
            done = feed(event)
            if done:
                facts.extend(self._imported(done))
        return facts

    def _unhandled(self, line: QueueLogLine) -> None:
        if line.event in INFORMATIONAL:
            self.stats.informational[line.event] += 1
        elif line.event in ("JOINEMPTY", "JOINUNAVAIL", "FULL"):
            self.stats.skipped[NEVER_ENTERED] += 1
        else:
            self.stats.skipped[f"{UNKNOWN_EVENT} ({line.event[:40]})"] += 1

    def _restart(self, at: float) -> list[ImportFact]:
        """Asterisk started again after stopping at ``at`` (the moment its shutdown logged
        the calls' ends, else the QUEUESTART's): calls it was handling then died unseen;
        agents' states before their first line after the restart are not known."""
        self.stats.restarts += 1
        facts = self._imported(self._tracker.restarted(at))
        facts += self._imported(self._tracker.finish(at), final=True)
        self._tracker = Tracker(self.config, revisions=False)
        self._lines = LineTranslator(self.config.agent_names)
        return facts

    def _imported(self, facts: list[Fact], final: bool = False) -> list[ImportFact]:
        out: list[ImportFact] = []
        for fact in facts:
            if isinstance(fact, AgentInterval):
                if fact.ended_at is None:
                    self.stats.open_intervals += 1
                else:
                    out.append(fact)
            elif isinstance(fact, CallRecord):
                # the history is stored once a stint's record is final
                if fact.phase is not Phase.DONE:
                    continue
                key = (fact.uniqueid, fact.queue, fact.entered_at)
                unobserved = self._lines.unobserved(key)
                if final and not _ended(fact):
                    self.stats.unfinished.append(key)
                    continue
                out.append(ImportedCall(fact, unobserved))
            elif isinstance(fact, Anomaly):
                self.stats.anomalies[fact.kind] += 1
        return out
