"""The calls AMI did not show the live collector whole, as Asterisk's queue_log tells them.

Pure: queue_log lines, the live collector's facts (its call records, and the
:class:`~collector.facts.Gap` facts of the stretches of PBX time its tracker did not see)
in, out come the calls to store from queue_log (:class:`Backfilled`).

* A call whose final live record lacks what a gap hid (:func:`unfinished`: how an
  unanswered stint ended, or an answered call's end, talk or after-call work) is
  **completed** from queue_log's record of it (:func:`completed`): the record keeps what
  the live collector observed and takes from queue_log only what it did not. A caller
  the PBX dropped by shutting down (``unknown``, ``end_reason`` ``pbx_restart``) is not
  unfinished: how it ended is known (queue_log logs it ``ABANDON``, which the import
  reads as the shutdown's when ``QUEUESTART`` follows).
* A call whose time touches a stretch the live collector did not follow, and of which it
  holds no record, is **added** as queue_log tells it.
* Every other queue_log call was seen whole on AMI and changes nothing.

The lines go through the translation ``import-queue-log`` uses
(:class:`~collector.queue_log_import.QueueLogImporter`, with the tracker's rules). A
queue_log call waits while the live tracker still follows its stint, or while its live
record is not final (``phase`` talking or wrapup): only the final record tells whether
anything is missing. Records are paired as the store pairs them
(:class:`~collector.overlap.StintIndex`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from collector.facts import CallRecord, Fact, Gap, Outcome, Phase, outcome_known, span
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
    """queue_log calls whose live record lacks nothing queue_log could tell."""


def _end(record: CallRecord) -> float:
    return record.ended_at if record.ended_at is not None else record.entered_at


def _moved(at: float | None, by: float) -> float | None:
    return None if at is None else at + by


def unfinished(live: CallRecord) -> bool:
    """Whether a final live record lacks what a gap (or the collector's stop) hid from it:
    how an unanswered stint ended (``unknown``, unless the PBX dropped the caller), or an
    answered call's end, talk or after-call work."""
    if not outcome_known(live.outcome, live.end_reason):
        return True
    if live.outcome is Outcome.ANSWERED:
        return None in (live.ended_at, live.talk_s, live.acw_s)
    return False


def completed(live: CallRecord, logged: ImportedCall) -> ImportedCall | None:
    """The final live record ``live`` (:func:`unfinished`) completed by queue_log's record
    of the same stint; ``None`` when queue_log tells nothing it lacks.

    What the live collector observed stays, ``gap_s`` with it. An answered call whose end
    it saw takes only queue_log's after-call work. Otherwise the stint's identity and
    entry to the microsecond and the caller stay, and, when it saw the answer, the answer,
    the agent, the rings and the position the caller left the waiting list from. The rest
    is queue_log's: the outcome and how the call ended, talk (which includes any hold: hold
    after the live collector lost the call is not known, so ``hold_s`` is NULL) and
    after-call work. queue_log's durations are laid from the live entry, or from the live
    answer when there was one.
    """
    record = logged.record
    if not outcome_known(record.outcome, record.end_reason):
        return None  # queue_log did not see the end either
    if live.outcome is Outcome.ANSWERED and None not in (live.ended_at, live.talk_s):
        return _with_acw(live, record)
    saw_answer = live.answered_at is not None and record.answered_at is not None
    shift = live.entered_at - record.entered_at
    answered_at = live.answered_at if saw_answer else _moved(record.answered_at, shift)
    if record.ended_at is not None and record.answered_at is not None:
        ended_at = _moved(answered_at, record.ended_at - record.answered_at)
    else:
        ended_at = _moved(record.ended_at, shift)
    before_answer = live if saw_answer else record
    unobserved = logged.unobserved - {"caller_num", "caller_name", "gap_s"}
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
        gap_s=live.gap_s,
    ), unobserved)


def _with_acw(live: CallRecord, record: CallRecord) -> ImportedCall | None:
    """An answered call the live collector saw end, with queue_log's after-call work."""
    if live.acw_s is not None or record.acw_s is None:
        return None
    # talk holds any hold a gap hid (hold_s NULL then): handle is talk, hold and ACW
    handle_s = sum(p for p in (live.talk_s, live.hold_s, record.acw_s) if p is not None)
    return ImportedCall(replace(live, acw_s=record.acw_s, acw_source=record.acw_source,
                                handle_s=handle_s), frozenset())


class QueueLogBackfill:
    """Decides which queue_log calls to store beside the live collector's records.

    It starts following: :meth:`lost` says from when it does not, and the tracker's next
    :class:`~collector.facts.Gap` fact (:meth:`observed`) how long that lasted.
    """

    def __init__(self, config: TrackerConfig) -> None:
        self.stats = BackfillStats()
        self._importer = QueueLogImporter(config)
        self._unfollowed: list[Span] = []
        self._unfollowed_since: float | None = None
        self._live: StintIndex[CallRecord] = StintIndex()
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
        """The live collector does not follow the stream since ``at`` (PBX time: its last
        event, or the last moment an earlier run stored), until its tracker's next
        :class:`~collector.facts.Gap` says how long it did not."""
        if self._unfollowed_since is None:
            self._unfollowed_since = at

    def observed(self, facts: Iterable[Fact]) -> None:
        """The live collector's facts (this run's, or the records an earlier run stored):
        its call records, each revision replacing the one before, and its gaps."""
        for fact in facts:
            if isinstance(fact, CallRecord):
                self._remember(fact)
                self._latest = max(self._latest, fact.entered_at)
            elif isinstance(fact, Gap):
                self._gap(fact)
        self._forget_old()

    def _gap(self, gap: Gap) -> None:
        since = gap.since
        if self._unfollowed_since is not None:
            since = min(since, self._unfollowed_since)
            self._unfollowed_since = None
        self._unfollowed.append(Span(since, gap.until))

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
        which it follows), its record of it is final, and it has seen the stream past the
        call's end (``seen_until``, its latest event; infinite once it will see nothing
        more), or while it does not follow the stream at all: queue_log may be read before
        the stream shows the same moment.
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
            stint = (record.uniqueid, record.queue, record.entered_at)
            live = self._live.find(*stint)
            if ((streaming and _end(record) + SLACK_S > seen_until) or open_stints.find(*stint)
                    or (live is not None and live.phase is not Phase.DONE)):
                still.append(call)
            elif (decided := self._decide(call, live)) is not None:
                out.append(decided)
        self._waiting = still
        return out

    def _keep(self, facts: Iterable[object]) -> None:
        self._waiting += [f for f in facts if isinstance(f, ImportedCall)]

    def _decide(self, call: ImportedCall, live: CallRecord | None) -> Backfilled | None:
        if live is not None:
            done = completed(live, call) if unfinished(live) else None
            if done is None:
                self.stats.seen_live += 1
                return None
            self._remember(done.record)
            self.stats.completed += 1
            return Backfilled(done, live)
        if not self._unfollowed_during(call.record):
            return None
        self._remember(call.record)
        self.stats.added += 1
        return Backfilled(call, None)

    def _unfollowed_during(self, record: CallRecord) -> bool:
        """Whether the call's time touches a stretch the live collector did not follow."""
        start, end = record.entered_at - SLACK_S, _end(record) + SLACK_S
        if self._unfollowed_since is not None and end >= self._unfollowed_since:
            return True
        return any(s.start <= end and start <= s.end for s in self._unfollowed)

    def _remember(self, record: CallRecord) -> None:
        """Keep ``record`` as what the live collector (or the backfill) stored of its stint."""
        self._live.take(record.uniqueid, record.queue, record.entered_at)
        self._live.add(record.uniqueid, record.queue, record.entered_at, record)
        self._remembered += 1

    def _forget_old(self) -> None:
        """Forget what is older than the horizon (by the latest time seen), now and then:
        a pass over all of it once the index has doubled since the last."""
        if self._remembered < max(4096, 2 * self._kept):
            return
        before = self._latest - HORIZON_S
        kept: StintIndex[CallRecord] = StintIndex()
        for item in self._live.remaining():
            if item.entered_at >= before:
                kept.add(item.uniqueid, item.queue, item.entered_at, item)
        self._live = kept
        self._remembered = self._kept = len(kept.remaining())
        self._unfollowed = [s for s in self._unfollowed if s.end >= before]
