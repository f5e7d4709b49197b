"""The calls AMI did not show the live collector whole, as Asterisk's queue_log tells them.

Pure: queue_log lines, the live collector's call records and the stretches of time it
did not follow the AMI stream in, out come the calls to store from queue_log
(:class:`Backfilled`). The stretches are the time before the daemon's first connection and
each lost connection or Asterisk restart, until it follows the stream again.

* A call the live collector closed as ``unknown`` (it did not see the end) whose end
  queue_log tells is **completed** (:func:`completed`): the record keeps what the live
  collector observed and takes from queue_log what it did not.
* A call whose time touches a stretch the live collector did not follow, and of which it
  holds no record, is **added** as queue_log tells it.
* Every other queue_log call was seen whole on AMI and changes nothing.

The lines go through the translation ``import-queue-log`` uses
(:class:`~collector.queue_log_import.QueueLogImporter`, with the tracker's rules). A
queue_log call whose stint the live tracker still follows waits until the tracker has
finished it: only its record tells whether anything is missing. Records are paired as
the store pairs them (:class:`~collector.overlap.StintIndex`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from collector.facts import CallRecord, Fact, Outcome, span
from collector.overlap import Span, StintIndex
from collector.queue_log import QueueLogLine
from collector.queue_log_import import ImportedCall, QueueLogImporter
from collector.tracker import TrackerConfig

SLACK_S = 10.0
"""How far a stretch not followed reaches on each side: queue_log's times are whole
seconds, and the collector's clock and the PBX's may differ by some seconds."""
HORIZON_S = 6 * 3600.0
"""How long a live record is remembered (by queue_log's time): longer than a queue_log
call takes to follow its live record."""

Following = Iterable[tuple[str, str, float]]
"""The stints the live tracker follows now: uniqueid, queue and entry time of each."""


@dataclass(frozen=True, slots=True)
class _Remembered:
    """A stint the live collector stored: its ``unknown`` record, or ``None`` when it saw
    the stint end (or it was backfilled already)."""

    uniqueid: str
    queue: str
    entered_at: float
    unfinished: CallRecord | None


@dataclass(frozen=True, slots=True)
class Backfilled:
    """A call to store from queue_log: ``call``, completing the live record ``completes``
    (``None``: a call the live collector has no record of)."""

    call: ImportedCall
    completes: CallRecord | None


@dataclass(slots=True)
class BackfillStats:
    """What the backfill decided, call by call."""

    added: int = 0
    completed: int = 0
    seen_live: int = 0
    """queue_log calls the live collector saw end: nothing to do."""


def _end(record: CallRecord) -> float:
    return record.ended_at if record.ended_at is not None else record.entered_at


def _moved(at: float | None, by: float) -> float | None:
    return None if at is None else at + by


def completed(live: CallRecord, logged: ImportedCall) -> ImportedCall:
    """The live record ``live`` (outcome ``unknown``) completed by queue_log's record of
    the same stint.

    What the live collector observed stays: the stint's identity and entry to the
    microsecond, the caller, and, when it saw the answer, the answer, the agent, the
    rings and the position the caller left the waiting list from. The rest is
    queue_log's: the outcome and how the call ended, talk (which includes any hold: hold
    after the live collector lost the call is not known, so ``hold_s`` is NULL) and
    after-call work. queue_log's durations are laid from the live entry, or from the live
    answer when there was one.
    """
    record = logged.record
    saw_answer = live.answered_at is not None and record.answered_at is not None
    shift = live.entered_at - record.entered_at
    answered_at = live.answered_at if saw_answer else _moved(record.answered_at, shift)
    if record.ended_at is not None and record.answered_at is not None:
        ended_at = _moved(answered_at, record.ended_at - record.answered_at)
    else:
        ended_at = _moved(record.ended_at, shift)
    before_answer = live if saw_answer else record
    unobserved = logged.unobserved - {"caller_num", "caller_name"}
    if saw_answer:
        unobserved -= {"ring_attempts"}
    return ImportedCall(replace(
        record,
        uniqueid=live.uniqueid,
        linkedid=live.linkedid,
        caller_num=live.caller_num,
        caller_name=live.caller_name,
        entered_at=live.entered_at,
        answered_at=answered_at,
        ended_at=ended_at,
        wait_s=span(live.entered_at, answered_at if answered_at is not None else ended_at),
        agent=before_answer.agent,
        agent_interface=before_answer.agent_interface,
        ring_attempts=before_answer.ring_attempts,
        ring_noanswer=before_answer.ring_noanswer,
        position_left=before_answer.position_left,
        position_entered=live.position_entered or record.position_entered,
    ), unobserved)


class QueueLogBackfill:
    """Decides which queue_log calls to store beside the live collector's records.

    It starts not following anything: until :meth:`resumed`, every queue_log call is one
    the live collector may have missed.
    """

    def __init__(self, config: TrackerConfig) -> None:
        self.stats = BackfillStats()
        self._importer = QueueLogImporter(config)
        self._unfollowed: list[Span] = []
        self._unfollowed_since: float | None = float("-inf")
        self._live: StintIndex[_Remembered] = StintIndex()
        self._remembered = 0
        self._kept = 0
        self._waiting: list[ImportedCall] = []
        self._latest = float("-inf")

    @property
    def waiting(self) -> int:
        """queue_log calls waiting for the live tracker to finish their stint."""
        return len(self._waiting)

    # -- what the live collector did ------------------------------------------------

    def lost(self, at: float) -> None:
        """The live collector stopped following the stream at ``at`` (its last event)."""
        if self._unfollowed_since is None:
            self._unfollowed_since = at

    def resumed(self, at: float) -> None:
        """The live collector follows the stream again from ``at``."""
        if self._unfollowed_since is not None:
            self._unfollowed.append(Span(self._unfollowed_since, at))
            self._unfollowed_since = None

    def observed(self, facts: Iterable[Fact]) -> None:
        """Call records the live collector stored (this run's, or an earlier run's)."""
        for fact in facts:
            if isinstance(fact, CallRecord):
                self._remember(fact.uniqueid, fact.queue, fact.entered_at,
                               fact if fact.outcome is Outcome.UNKNOWN else None)
                self._latest = max(self._latest, fact.entered_at)
        self._forget_old()

    # -- what queue_log tells ----------------------------------------------------------

    def feed(self, lines: Iterable[QueueLogLine]) -> None:
        """queue_log lines, in the file's order."""
        feed = self._importer.feed
        for line in lines:
            self._keep(feed(line))
            self._latest = max(self._latest, line.at)
        self._forget_old()

    def advance(self, at: float) -> None:
        """No queue_log line dated before ``at`` is still to come."""
        self._keep(self._importer.advance(at))

    def due(self, following: Callable[[], Following], seen_until: float) -> list[Backfilled]:
        """The calls to store now: of the queue_log calls read, those that the live
        collector missed or could not finish, once it is done with them.

        It is done with a call when it does not follow its stint (``following()`` tells
        which it follows) and has seen the stream past the call's end (``seen_until``, its
        latest event; infinite once it will see nothing more), or while it does not follow
        the stream at all: queue_log may be read before the stream shows the same moment.
        """
        if not self._waiting:
            return []
        open_stints: StintIndex[bool] = StintIndex()
        for uniqueid, queue, entered_at in following():
            open_stints.add(uniqueid, queue, entered_at, True)
        streaming = self._unfollowed_since is None
        out: list[Backfilled] = []
        still: list[ImportedCall] = []
        for call in self._waiting:
            record = call.record
            if (streaming and _end(record) + SLACK_S > seen_until) or open_stints.find(
                    record.uniqueid, record.queue, record.entered_at):
                still.append(call)
            elif (decided := self._decide(call)) is not None:
                out.append(decided)
        self._waiting = still
        return out

    def _keep(self, facts: Iterable[object]) -> None:
        self._waiting += [f for f in facts if isinstance(f, ImportedCall)]

    def _decide(self, call: ImportedCall) -> Backfilled | None:
        record = call.record
        known = self._live.find(record.uniqueid, record.queue, record.entered_at)
        if known is not None and known.unfinished is None:
            self.stats.seen_live += 1
            return None
        if known is not None and known.unfinished is not None:
            if record.outcome is Outcome.UNKNOWN:
                return None  # queue_log did not see the end either
            live = known.unfinished
            self._remember(live.uniqueid, live.queue, live.entered_at, None)
            self.stats.completed += 1
            return Backfilled(completed(live, call), live)
        if not self._unfollowed_during(record):
            return None
        self._remember(record.uniqueid, record.queue, record.entered_at, None)
        self.stats.added += 1
        return Backfilled(call, None)

    def _unfollowed_during(self, record: CallRecord) -> bool:
        """Whether the call's time touches a stretch the live collector did not follow."""
        start, end = record.entered_at - SLACK_S, _end(record) + SLACK_S
        if self._unfollowed_since is not None and end >= self._unfollowed_since:
            return True
        return any(s.start <= end and start <= s.end for s in self._unfollowed)

    def _remember(self, uniqueid: str, queue: str, entered_at: float,
                  unfinished: CallRecord | None) -> None:
        self._live.take(uniqueid, queue, entered_at)
        self._live.add(uniqueid, queue, entered_at,
                       _Remembered(uniqueid, queue, entered_at, unfinished))
        self._remembered += 1

    def _forget_old(self) -> None:
        """Forget what is older than the horizon (by the latest time seen), now and then:
        a pass over all of it once the index has doubled since the last."""
        if self._remembered < max(4096, 2 * self._kept):
            return
        before = self._latest - HORIZON_S
        kept: StintIndex[_Remembered] = StintIndex()
        for item in self._live.remaining():
            if item.entered_at >= before:
                kept.add(item.uniqueid, item.queue, item.entered_at, item)
        self._live = kept
        self._remembered = self._kept = len(kept.remaining())
        self._unfollowed = [s for s in self._unfollowed if s.end >= before]
