"""The call tracker: normalized events in, call records and agent intervals out.

Pure: no I/O, no clock, no logging. Time is whatever the events say; the tracker's "now"
is the latest event time it has seen, and rules that wait for time to pass (after-call
work, the moment after a caller left the waiting list) are deadlines that come due when a
later event, or a :class:`~collector.events.Tick` from the shell, shows that time has
passed.

Each event goes to the handler of its type (a ``match`` over the :data:`Event` union);
the handler routes it to the machines it concerns (:mod:`collector.states`) and keeps the
books; then the agents it touched are derived once (:mod:`collector.agents`).
"""

from __future__ import annotations

from typing import assert_never

from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    DialEnd,
    DialStart,
    Event,
    Hangup,
    HoldChange,
    MemberUpdate,
    PbxBooted,
    PbxShutdown,
    QueueApp,
    QueueEntry,
    QueueParams,
    QueueStatusVar,
    SnapshotEnd,
    StintResumed,
    StreamGap,
    Tick,
    Transfer,
)
from collector.facts import Anomaly, Fact
from collector.live import LiveCall, LiveView
from collector.states import REFUSAL_KINDS, AcwDue, GapDue, HoldState, SettleDue
from collector.tracker import acw, answering, callers, dials, hold, members, pbx, resumed
from collector.tracker.books import Books, TrackerConfig


class Tracker:
    """Folds normalized events into call records and agent state intervals.

    With ``revisions`` off, a stint's record is put out only once it is final (not at the
    answer and again at the call's end), and a caller who begins to wait puts out no
    :class:`~collector.facts.WaitingCaller`: for a reader that keeps only final records
    (the queue_log import), which would build them to throw them away. The rules, and so
    every final record and interval, are the same.
    """

    def __init__(self, config: TrackerConfig | None = None, *, revisions: bool = True) -> None:
        self.config = config or TrackerConfig()
        self._books = Books(self.config, revisions)

    @property
    def books(self) -> Books:
        """Everything the tracker holds, its machines' states included: to read, never to
        change (tests and diagnostics)."""
        return self._books

    @property
    def now(self) -> float:
        """The latest event time seen."""
        return self._books.now

    def feed(self, event: Event) -> list[Fact]:
        """Apply one event; return the facts it completed, in order."""
        books = self._books
        # what came due in a gap was not seen to come due: the gap is marked first
        until = event.since if isinstance(event, StreamGap) else event.at
        deadlines = books.deadlines
        facts = self._expire(until) if deadlines and deadlines[0][0] <= until else []
        books.now = max(books.now, until)
        applied = self._apply(event)
        books.now = max(books.now, event.at)
        if books.unconfirmed and not _refused(applied):
            _alive(books, event)
        facts += applied
        if books.roster.touched:
            facts += books.roster.derive_touched()
        return facts

    def finish(self, at: float) -> list[Fact]:
        """The stream has ended at ``at``: close everything, with what was observed."""
        books = self._books
        facts = self._expire(at)
        books.now = max(books.now, at)
        # intervals first: what agents did after the last event was not seen
        facts += books.roster.close_all()
        facts += pbx.close_everything(books)
        facts += books.roster.derive_touched()
        return facts

    def restarted(self, at: float) -> list[Fact]:
        """Asterisk started again at ``at`` (a queue_log QUEUESTART) and how the calls it
        had open ended was not seen: close them with what was observed."""
        books = self._books
        facts = self._expire(at)
        books.now = max(books.now, at)
        facts += pbx.restarted(books, at)
        facts += books.roster.derive_touched()
        return facts

    def live(self) -> LiveView:
        """What is going on right now, for KPIs and wallboards."""
        books = self._books
        calls = tuple(
            LiveCall(
                uniqueid=s.uniqueid,
                queue=s.queue,
                caller_num=s.caller_num,
                caller_name=s.caller_name,
                entered_at=s.entered_at,
                answered_at=s.answered_at,
                agent=s.agent,
                on_hold=s.hold is not None and s.hold.state is HoldState.HELD,
            )
            for s in books.stints.values()
        )
        configured = {q: members.live_queue(self.config, q) for q in sorted(self.config.wrapuptime)}
        queues = {**configured, **books.queues}
        return LiveView(books.now, calls, books.roster.live(), tuple(queues.values()))

    def _expire(self, until: float) -> list[Fact]:
        """Apply the deadlines that came due by ``until``, each at its own time."""
        books = self._books
        facts: list[Fact] = []
        while (due := books.due_until(until)) is not None:
            match due:
                case SettleDue():
                    facts += callers.settle(books, books.stints[due.uniqueid], due.at)
                case AcwDue():
                    facts += acw.due(books, due)
                case GapDue():
                    facts += pbx.unconfirmed(books, due)
                case _:
                    assert_never(due)
            facts += books.roster.derive_touched()
        return facts

    def _apply(self, event: Event) -> list[Fact]:
        b = self._books
        # the most frequent events first: a class pattern is an isinstance check
        match event:
            case Hangup():
                return callers.hangup(b, event)
            case MemberUpdate():
                return members.member(b, event)
            case AgentCalled():
                return answering.called(b, event)
            case AgentRingNoAnswer() | AgentDump():
                return answering.ring_ended(b, event)
            case CallerJoin():
                return callers.join(b, event)
            case CallerLeave():
                return callers.leave(b, event)
            case AgentConnect():
                return answering.connect(b, event)
            case AgentComplete():
                return answering.complete(b, event)
            case CallerAbandon():
                return callers.abandon(b, event)
            case QueueStatusVar():
                return callers.exit_status(b, event)
            case QueueApp():
                return callers.entering(b, event)
            case HoldChange():
                return hold.hold(b, event)
            case Transfer():
                return hold.transfer(b, event)
            case DialStart():
                return dials.start(b, event)
            case DialEnd():
                return dials.end(b, event)
            case QueueParams():
                return members.queue_params(b, event)
            case QueueEntry():
                return members.queue_entry(b, event)
            case SnapshotEnd():
                return members.snapshot_end(b, event)
            case PbxBooted():
                return pbx.booted(b, event)
            case PbxShutdown():
                return pbx.shutdown(b, event)
            case StreamGap():
                return pbx.gap(b, event)
            case StintResumed():
                return resumed.resumed(b, event)
            case Tick():
                return []
            case _:
                assert_never(event)


def _refused(facts: list[Fact]) -> bool:
    """Whether a machine refused the event: then it shows nothing, not even a sign of life."""
    return any(isinstance(f, Anomaly) and f.kind in REFUSAL_KINDS for f in facts)


def _alive(books: Books, event: Event) -> None:
    """An event about a stint open at the last gap (its caller's channel, its agent's, its
    conversation) shows it went on after the gap."""
    if isinstance(event, StreamGap):
        return
    channel = getattr(event, "uniqueid", "")
    books.unconfirmed.discard(channel)
    books.unconfirmed.discard(books.by_channel.get(channel, ""))
    books.unconfirmed.discard(books.by_linkedid.get(getattr(event, "linkedid", ""), ""))
