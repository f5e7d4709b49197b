"""queue_log lines to call records and agent intervals, by the live tracker's own rules.

Pure: lines in, facts out; no file, database or clock. Each line is translated into the
normalized events the AMI parser would have produced for the same moment, and those are
fed to a :class:`~collector.tracker.Tracker`, so after-call work, agent states and
outcomes follow exactly the rules the live collector follows (see ``docs/import.md``).

What queue_log does not carry is never made up. Its times are whole seconds; hold is
invisible in it (COMPLETE*'s calltime includes any hold); ringing starts are not logged
(only RINGNOANSWER), nor is the caller's name unless ``log-caller-id-name`` is on. An
imported call therefore has ``talk_s`` = calltime (hold included), ``hold_s``,
``hold_count`` and ``ring_attempts`` NULL, and ``caller_name`` NULL unless logged.

Timings are taken from the durations Asterisk logged, not from differences of line
times: a stint's ``entered_at`` is its ENTERQUEUE time, ``answered_at`` is ``entered_at``
plus CONNECT's holdtime and ``ended_at`` is ``answered_at`` plus COMPLETE*'s calltime (or
``entered_at`` plus ABANDON's waittime), so wait and talk equal what queue_log says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from collector.events import (
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Event,
    Hangup,
    MemberChange,
    MemberUpdate,
    PbxShutdown,
    QueueStatusVar,
    Transfer,
)
from collector.facts import AgentInterval, Anomaly, CallRecord, Fact, Outcome
from collector.queue_log import QueueLogLine
from collector.tracker import Tracker, TrackerConfig

_CALL_FIELDS = tuple(f.name for f in fields(CallRecord))

# columns no queue_log line can fill, whatever the Asterisk version
UNOBSERVED = frozenset({"hold_s", "hold_count", "ring_attempts"})

NEVER_ENTERED = "caller never entered the queue (JOINEMPTY, JOINUNAVAIL, FULL)"
NO_START = "end of a stint that starts before the input and logs no wait"
BAD_DATA = "bad data fields"
REPEATED_ENTER = "ENTERQUEUE of a caller already in that queue"
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

    def as_row(self) -> dict[str, object]:
        """The record as a ``calls`` row, unobserved columns NULL."""
        record = self.record
        # built field by field: dataclasses.asdict deep-copies, too slow for big imports
        row: dict[str, object] = {name: getattr(record, name) for name in _CALL_FIELDS}
        row["call_id"] = record.call_id
        for column in self.unobserved:
            row[column] = None
        return row


ImportFact = ImportedCall | AgentInterval


@dataclass(slots=True)
class _Stint:
    """A caller's stint in one queue, as far as the lines read so far tell it."""

    entered_at: float
    answered_at: float | None = None


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


def _int(fields: tuple[str, ...], index: int) -> int | None:
    if index >= len(fields):
        return None
    text = fields[index]
    if text.isdigit():
        return int(text)
    try:
        return int(text)
    except ValueError:
        return None


class _BadData(Exception):
    """A line whose data fields do not have the layout its event needs."""


def _need(value: int | None) -> int:
    if value is None or value < 0:
        raise _BadData
    return value


@dataclass(frozen=True, slots=True)
class _Transfer:
    target: str
    holdtime: int
    calltime: int


def _transfer_fields(event: str, data: tuple[str, ...]) -> _Transfer:
    """TRANSFER (1.x-11) and BLINDTRANSFER (12+): exten|context|holdtime|calltime|origpos.

    ATTENDEDTRANSFER (12+) starts with how the transfer was completed: BRIDGE|bridgeid,
    APP|app or LINK|channel1|channel2, then holdtime|calltime|origpos.
    """
    if event == "ATTENDEDTRANSFER":
        kind = data[0] if data else ""
        skip = {"BRIDGE": 2, "APP": 2, "LINK": 3}.get(kind)
        if skip is None:
            raise _BadData
        target = {"BRIDGE": "Bridge", "APP": data[1] if len(data) > 1 else "",
                  "LINK": data[2] if len(data) > 2 else ""}[kind] or kind
        return _Transfer(target, _need(_int(data, skip)), _need(_int(data, skip + 1)))
    target = data[0] if data else ""
    return _Transfer(target or "unknown", _need(_int(data, 2)), _need(_int(data, 3)))


class QueueLogImporter:
    """Folds queue_log lines, in time order, into call records and agent intervals.

    ``agent_names`` maps what queue_log logs as the agent (an interface such as
    ``SIP/201``, or a member name) to the agent's name, as ``[agents]`` in the
    configuration does; it joins ADDMEMBER/REMOVEMEMBER lines, which log the interface
    unless ``log_membername_as_agent = yes``, to the other lines, which log the member name.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.stats = ImportStats()
        self._names: Mapping[str, str] = self.config.agent_names
        self._tracker = Tracker(self.config)
        self._stints: dict[tuple[str, str], _Stint] = {}
        # per stint, the columns its record will hold placeholders in
        self._unobserved: dict[tuple[str, str, float], frozenset[str]] = {}
        self._members: set[tuple[str, str]] = set()
        self._logged_off: dict[str, set[str]] = {}
        self._handlers: dict[str, Callable[[QueueLogLine], list[Event]]] = {
            "ENTERQUEUE": self._enter,
            "CONNECT": self._connect,
            "COMPLETECALLER": self._complete,
            "COMPLETEAGENT": self._complete,
            "TRANSFER": self._transfer,
            "BLINDTRANSFER": self._transfer,
            "ATTENDEDTRANSFER": self._transfer,
            "ABANDON": self._abandon,
            "EXITWITHTIMEOUT": self._gone("TIMEOUT"),
            "EXITEMPTY": self._gone("LEAVEEMPTY"),
            "EXITWITHKEY": self._gone(None, wait_at=3),
            "WITHDRAW": self._gone(None),
            "RINGNOANSWER": self._ring_ended,
            "AGENTDUMP": self._ring_ended,
            "ADDMEMBER": self._add_member,
            "REMOVEMEMBER": self._remove_member,
            "PAUSE": self._pause,
            "UNPAUSE": self._pause,
            "AGENTLOGIN": self._agent_login,
            "AGENTLOGOFF": self._agent_logoff,
        }

    # -- public interface -------------------------------------------------

    def feed(self, line: QueueLogLine) -> list[ImportFact]:
        """Apply one line; return the facts it completed."""
        stats = self.stats
        stats.lines += 1
        if stats.first_at is None:
            stats.first_at = line.at
        if stats.last_at is None or line.at > stats.last_at:
            stats.last_at = line.at
        handler = self._handlers.get(line.event)
        if handler is None:
            return self._unhandled(line)
        try:
            events = handler(line)
        except _BadData:
            self.stats.skipped[f"{BAD_DATA} ({line.event})"] += 1
            return []
        facts: list[ImportFact] = []
        feed = self._tracker.feed
        for event in events:
            facts.extend(self._imported(feed(event)))
        return facts

    def finish(self) -> list[ImportFact]:
        """The input has ended: what is complete, without what was still going on.

        Calls still waiting or talking and agent intervals still open have no end in the
        input; they are counted, not stored: the next piece of the log completes them.
        """
        facts = self._imported(self._tracker.finish(self.stats.last_at or 0.0), final=True)
        self._stints.clear()
        self._unobserved.clear()
        return facts

    # -- lines ------------------------------------------------------------

    def _unhandled(self, line: QueueLogLine) -> list[ImportFact]:
        if line.event in INFORMATIONAL:
            self.stats.informational[line.event] += 1
        elif line.event in ("JOINEMPTY", "JOINUNAVAIL", "FULL"):
            self.stats.skipped[NEVER_ENTERED] += 1
        elif line.event == "QUEUESTART":
            return self._restart(line.at)
        else:
            self.stats.skipped[f"{UNKNOWN_EVENT} ({line.event[:40]})"] += 1
        return []

    def _agent(self, field: str) -> str:
        return self._names.get(field, field)

    def _join(self, line: QueueLogLine, entered_at: float, caller_num: str | None,
              caller_name: str | None, position: int | None) -> list[Event]:
        unobserved = set(UNOBSERVED)
        if caller_num is None:
            unobserved.add("caller_num")
        if caller_name is None:
            unobserved.add("caller_name")
        self._stints[(line.callid, line.queue)] = _Stint(entered_at)
        self._unobserved[(line.callid, line.queue, entered_at)] = frozenset(unobserved)
        return [CallerJoin(at=entered_at, queue=line.queue, uniqueid=line.callid,
                           linkedid=line.callid, caller_num=caller_num or "",
                           caller_name=caller_name or "", position=position)]

    def _enter(self, line: QueueLogLine) -> list[Event]:
        """ENTERQUEUE: url|callerid, then origposition (1.6+), then caller name (18+ option)."""
        if (line.callid, line.queue) in self._stints:
            self.stats.skipped[REPEATED_ENTER] += 1
            return []
        data = line.data
        return self._join(line, line.at, data[1] if len(data) > 1 else None,
                          data[3] if len(data) > 3 else None, _int(data, 2))

    def _continued(self, line: QueueLogLine, waited: int | None, until: float,
                   position: int | None) -> tuple[_Stint, list[Event]] | None:
        """The stint a line continues. When its start is not in the input (a log rotated
        mid-call) it began ``waited`` seconds before ``until``; ``None`` if that is unknown."""
        stint = self._stints.get((line.callid, line.queue))
        if stint is not None:
            return stint, []
        if waited is None:
            return None
        events = self._join(line, until - waited, None, None, position)
        return self._stints[(line.callid, line.queue)], events

    def _membership(self, agent: str, queue: str, at: float) -> list[Event]:
        if (agent, queue) in self._members:
            return []
        self._members.add((agent, queue))
        return [MemberUpdate(at=at, change=MemberChange.STATUS, queue=queue, interface=agent,
                             member_name=agent, paused=None, reason="", in_call=None,
                             wrapuptime=None)]

    def _connect(self, line: QueueLogLine) -> list[Event]:
        """CONNECT: holdtime|bridged channel uniqueid|ringtime (ringtime since 1.6)."""
        holdtime = _need(_int(line.data, 0))
        found = self._continued(line, holdtime, line.at, None)
        assert found is not None  # a wait was given
        return self._answer(line, *found, holdtime)

    def _answer(self, line: QueueLogLine, stint: _Stint, events: list[Event],
                holdtime: int) -> list[Event]:
        agent = self._agent(line.agent)
        stint.answered_at = stint.entered_at + holdtime
        return [
            *events,
            *self._membership(agent, line.queue, stint.answered_at),
            AgentConnect(at=stint.answered_at, queue=line.queue, uniqueid=line.callid,
                         interface=agent, member_name=agent,
                         dest_uniqueid=line.data[1] if len(line.data) > 1 else ""),
        ]

    def _connected(self, line: QueueLogLine, holdtime: int, calltime: int,
                   ) -> tuple[_Stint, list[Event]]:
        """The answered stint a COMPLETE* or transfer line ends; answered ``calltime``
        before the line when its CONNECT is not in the input."""
        found = self._continued(line, holdtime + calltime, line.at,
                                _int(line.data, len(line.data) - 1))
        assert found is not None  # a wait was given
        stint, events = found
        if stint.answered_at is None:
            events = self._answer(line, stint, events, holdtime)
        return stint, events

    def _complete(self, line: QueueLogLine) -> list[Event]:
        """COMPLETECALLER/COMPLETEAGENT: holdtime|calltime|origposition."""
        holdtime, calltime = _need(_int(line.data, 0)), _need(_int(line.data, 1))
        stint, events = self._connected(line, holdtime, calltime)
        return events + self._end(line, stint, calltime,
                                  "caller" if line.event == "COMPLETECALLER" else "agent")

    def _transfer(self, line: QueueLogLine) -> list[Event]:
        """A transfer ends the stint in place of COMPLETE*, with the same timings."""
        fields = _transfer_fields(line.event, line.data)
        stint, events = self._connected(line, fields.holdtime, fields.calltime)
        assert stint.answered_at is not None
        ended_at = stint.answered_at + fields.calltime
        events.append(Transfer(at=ended_at, success=True, transferer_uniqueid="",
                               transferer_linkedid="", transferee_uniqueid=line.callid,
                               target=fields.target))
        return events + self._end(line, stint, fields.calltime, "transfer")

    def _end(self, line: QueueLogLine, stint: _Stint, calltime: int, reason: str,
             ) -> list[Event]:
        assert stint.answered_at is not None
        del self._stints[(line.callid, line.queue)]
        agent = self._agent(line.agent)
        return [AgentComplete(at=stint.answered_at + calltime, queue=line.queue,
                              uniqueid=line.callid, interface=agent, member_name=agent,
                              reason=reason, wait_reported=None, talk_reported=calltime)]

    def _left(self, line: QueueLogLine, waited: int | None, first_position: int | None,
              ) -> tuple[float, list[Event]] | None:
        """When a caller left the queue unanswered, and the events that begin its stint
        if they are not in the input; ``None`` when that cannot be dated."""
        found = self._continued(line, waited, line.at, first_position)
        if found is None:
            self.stats.skipped[NO_START] += 1
            return None
        stint, events = found
        del self._stints[(line.callid, line.queue)]
        return (stint.entered_at + waited if waited is not None else line.at), events

    def _abandon(self, line: QueueLogLine) -> list[Event]:
        """ABANDON: position|origposition|waittime."""
        position, waited = _int(line.data, 0), _int(line.data, 2)
        left = self._left(line, waited, _int(line.data, 1))
        if left is None:
            return []
        at, events = left
        return [*events,
                CallerAbandon(at=at, queue=line.queue, uniqueid=line.callid, position=position),
                Hangup(at=at, uniqueid=line.callid),
                CallerLeave(at=at, queue=line.queue, uniqueid=line.callid, position=position)]

    def _gone(self, status: str | None, wait_at: int = 2,
              ) -> Callable[[QueueLogLine], list[Event]]:
        """A caller the queue let go: position|origposition|waittime (EXITWITHTIMEOUT,
        EXITEMPTY, WITHDRAW), or key|position|origposition|waittime (EXITWITHKEY). Asterisk
        1.8 logged only the position (and key) for some of them."""

        def handle(line: QueueLogLine) -> list[Event]:
            position, waited = _int(line.data, wait_at - 2), _int(line.data, wait_at)
            left = self._left(line, waited, _int(line.data, wait_at - 1))
            if left is None:
                return []
            at, events = left
            events.append(CallerLeave(at=at, queue=line.queue, uniqueid=line.callid,
                                      position=position))
            if status is not None:
                events.append(QueueStatusVar(at=at, uniqueid=line.callid, value=status))
            return events

        return handle

    def _ring_ended(self, line: QueueLogLine) -> list[Event]:
        """RINGNOANSWER (ringtime in ms) and AGENTDUMP: a ring that did not connect."""
        agent = self._agent(line.agent)
        kind = AgentRingNoAnswer if line.event == "RINGNOANSWER" else AgentDump
        return [*self._membership(agent, line.queue, line.at),
                kind(at=line.at, queue=line.queue, uniqueid=line.callid, interface=agent,
                     member_name=agent)]

    def _member_update(self, line: QueueLogLine, agent: str, change: MemberChange,
                       paused: bool | None, reason: str = "") -> MemberUpdate:
        return MemberUpdate(at=line.at, change=change, queue=line.queue, interface=agent,
                            member_name=agent, paused=paused, reason=reason, in_call=None,
                            wrapuptime=None)

    def _add_member(self, line: QueueLogLine) -> list[Event]:
        """ADDMEMBER: empty, or ``PAUSED`` when the member was added paused (13+)."""
        agent = self._agent(line.agent)
        self._members.add((agent, line.queue))
        paused = bool(line.data) and line.data[0] == "PAUSED"
        return [self._member_update(line, agent, MemberChange.ADDED, paused)]

    def _remove_member(self, line: QueueLogLine) -> list[Event]:
        agent = self._agent(line.agent)
        self._members.discard((agent, line.queue))
        return [self._member_update(line, agent, MemberChange.REMOVED, None)]

    def _pause(self, line: QueueLogLine) -> list[Event]:
        """PAUSE/UNPAUSE: the reason (1.8+; empty or absent before, or when none given)."""
        agent = self._agent(line.agent)
        self._members.add((agent, line.queue))
        paused = line.event == "PAUSE"
        reason = line.data[0] if paused and line.data else ""
        return [self._member_update(line, agent, MemberChange.PAUSE, paused, reason)]

    def _agent_logoff(self, line: QueueLogLine) -> list[Event]:
        """AGENTLOGOFF (chan_agent, app_agent_pool): the agent leaves every queue it is in."""
        agent = self._agent(line.agent)
        queues = {q for a, q in self._members if a == agent}
        self._logged_off[agent] = queues
        self._members -= {(agent, q) for q in queues}
        return [MemberUpdate(at=line.at, change=MemberChange.REMOVED, queue=q, interface=agent,
                             member_name=agent, paused=None, reason="", in_call=None,
                             wrapuptime=None) for q in sorted(queues)]

    def _agent_login(self, line: QueueLogLine) -> list[Event]:
        """AGENTLOGIN: back in the queues it left at its last logoff (others show later)."""
        agent = self._agent(line.agent)
        events: list[Event] = []
        for queue in sorted(self._logged_off.pop(agent, set())):
            events += self._membership(agent, queue, line.at)
        return events

    def _restart(self, at: float) -> list[ImportFact]:
        """QUEUESTART: Asterisk started. Calls it was handling died unseen; agents'
        states before their first line after the restart are not known."""
        self.stats.restarts += 1
        facts = self._imported(self._tracker.feed(PbxShutdown(at=at)))
        facts += self._imported(self._tracker.finish(at), final=True)
        self._tracker = Tracker(self.config)
        self._stints.clear()
        self._unobserved.clear()
        self._members.clear()
        self._logged_off.clear()
        return facts

    # -- facts ----------------------------------------------------------------

    def _imported(self, facts: list[Fact], final: bool = False) -> list[ImportFact]:
        out: list[ImportFact] = []
        for fact in facts:
            if isinstance(fact, AgentInterval):
                if fact.ended_at is None:
                    self.stats.open_intervals += 1
                else:
                    out.append(fact)
            elif isinstance(fact, CallRecord):
                key = (fact.uniqueid, fact.queue, fact.entered_at)
                unobserved = self._unobserved.pop(key, UNOBSERVED)
                if final and fact.outcome is Outcome.UNKNOWN:
                    self.stats.unfinished.append(key)
                    continue
                out.append(ImportedCall(fact, unobserved))
            elif isinstance(fact, Anomaly):
                self.stats.anomalies[fact.kind] += 1
        return out

