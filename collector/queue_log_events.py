"""queue_log lines to the normalized events the AMI parser would have produced.

Pure: lines in, events out; no file, database or clock. :class:`LineTranslator` turns
each line into the events of the same moment, keeping what a line needs of the lines
before it (when its caller entered the queue, which agents are members of which queues);
:mod:`collector.queue_log_import` feeds them to the tracker.

What queue_log does not carry is never made up. Its times are whole seconds; hold is
invisible in it (COMPLETE*'s calltime includes any hold); ringing starts are not logged
(only RINGNOANSWER), nor is the caller's name unless ``log-caller-id-name`` is on. An
imported call therefore has ``talk_s`` = calltime (hold included), ``hold_s``,
``hold_count`` and ``ring_attempts`` NULL, and ``caller_name`` NULL unless logged
(:data:`UNOBSERVED`, and :meth:`LineTranslator.unobserved` per stint).

Timings are taken from the durations Asterisk logged, not from differences of line
times: a stint's ``entered_at`` is its ENTERQUEUE time, ``answered_at`` is ``entered_at``
plus CONNECT's holdtime and ``ended_at`` is ``answered_at`` plus COMPLETE*'s calltime (or
``entered_at`` plus ABANDON's waittime), so wait and talk equal what queue_log says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
    HangupKind,
    MemberChange,
    MemberUpdate,
    QueueStatusVar,
    Transfer,
)
from collector.queue_log import QueueLogLine
from collector.states import SHUTDOWN_CAUSE

# columns no queue_log line can fill, whatever the Asterisk version
UNOBSERVED = frozenset({"hold_s", "hold_count", "caller_hold_s", "ring_attempts", "gap_s"})

# per stint, by whether its caller's number and name were logged
_UNOBSERVED_BY_CALLER = {
    (has_num, has_name): UNOBSERVED | {name for name, logged in (
        ("caller_num", has_num), ("caller_name", has_name)) if not logged}
    for has_num in (True, False) for has_name in (True, False)
}

NO_START = "end of a stint that starts before the input and logs no wait"
BAD_DATA = "bad data fields"
REPEATED_ENTER = "ENTERQUEUE of a caller already in that queue"

StintKey = tuple[str, str, float]
"""A stint as its call record names it: (uniqueid, queue, entered_at)."""


class SkippedLine(Exception):
    """A line that cannot be translated; ``reason`` says why, as the import counts it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Stint:
    """A caller's stint in one queue, as far as the lines read so far tell it."""

    entered_at: float
    answered_at: float | None = None


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


def _cut_by_shutdown(events: list[Event], callid: str) -> list[Event]:
    """The events of a stint's end as AMI shows a shutdown's: Asterisk hung the caller's
    channel up (SoftHangupRequest, Cause 4) before app_queue let go of the call; the
    caller did not."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, CallerAbandon | AgentComplete):
            out.append(Hangup(at=event.at, uniqueid=callid, kind=HangupKind.SOFT_REQUEST,
                              cause=SHUTDOWN_CAUSE))
        if not isinstance(event, Hangup):
            out.append(event)
    return out


def _member_update(at: float, queue: str, agent: str, change: MemberChange,
                   paused: bool | None = None, reason: str = "") -> MemberUpdate:
    """A member's change as queue_log tells it: never whether it is in a call."""
    return MemberUpdate(at=at, change=change, queue=queue, interface=agent, member_name=agent,
                        paused=paused, reason=reason, in_call=None, wrapuptime=None)


class LineTranslator:
    """Translates queue_log lines, in time order, into the tracker's events.

    ``agent_names`` maps what queue_log logs as the agent (an interface such as
    ``SIP/201``, or a member name) to the agent's name, as ``[agents]`` in the
    configuration does; it joins ADDMEMBER/REMOVEMEMBER lines, which log the interface
    unless ``log_membername_as_agent = yes``, to the other lines, which log the member name.
    """

    def __init__(self, agent_names: Mapping[str, str]) -> None:
        self._names = agent_names
        self._stints: dict[tuple[str, str], _Stint] = {}
        # per stint, the columns its record will hold placeholders in
        self._unobserved: dict[StintKey, frozenset[str]] = {}
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

    def events(self, line: QueueLogLine, shutdown: bool = False) -> list[Event] | None:
        """The events one line stands for; ``None`` for a line that stands for none.

        ``shutdown``: the line ends a call that Asterisk ended by shutting down (see
        :mod:`collector.queue_log_shutdown`); its events are then those AMI shows of it.
        Raises :class:`SkippedLine` for a line that cannot be translated (its data
        fields, or a stint it cannot place); such a line changes nothing.
        """
        handler = self._handlers.get(line.event)
        if handler is None:
            return None
        try:
            events = handler(line)
        except _BadData:
            raise SkippedLine(f"{BAD_DATA} ({line.event})") from None
        return _cut_by_shutdown(events, line.callid) if shutdown else events

    def unobserved(self, stint: StintKey) -> frozenset[str]:
        """The columns a stint's record could not observe (asked once, when it is done)."""
        return self._unobserved.pop(stint, UNOBSERVED)

    def forget_stints(self) -> None:
        """Forget the stints under way: the input ended, or Asterisk restarted."""
        self._stints.clear()
        self._unobserved.clear()

    # -- lines ------------------------------------------------------------

    def _agent(self, field: str) -> str:
        return self._names.get(field, field)

    def _join(self, line: QueueLogLine, entered_at: float, caller_num: str | None,
              caller_name: str | None, position: int | None) -> list[Event]:
        self._stints[(line.callid, line.queue)] = _Stint(entered_at)
        self._unobserved[(line.callid, line.queue, entered_at)] = _UNOBSERVED_BY_CALLER[
            (caller_num is not None, caller_name is not None)]
        return [CallerJoin(at=entered_at, queue=line.queue, uniqueid=line.callid,
                           linkedid=line.callid, caller_num=caller_num or "",
                           caller_name=caller_name or "", position=position)]

    def _enter(self, line: QueueLogLine) -> list[Event]:
        """ENTERQUEUE: url|callerid, then origposition (1.6+), then caller name (18+ option)."""
        if (line.callid, line.queue) in self._stints:
            raise SkippedLine(REPEATED_ENTER)
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
        return [_member_update(at, queue, agent, MemberChange.STATUS)]

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
              ) -> tuple[float, list[Event]]:
        """When a caller left the queue unanswered, and the events that begin its stint
        if they are not in the input; skipped when that cannot be dated."""
        found = self._continued(line, waited, line.at, first_position)
        if found is None:
            raise SkippedLine(NO_START)
        stint, events = found
        del self._stints[(line.callid, line.queue)]
        return (stint.entered_at + waited if waited is not None else line.at), events

    def _abandon(self, line: QueueLogLine) -> list[Event]:
        """ABANDON: position|origposition|waittime."""
        position, waited = _int(line.data, 0), _int(line.data, 2)
        at, events = self._left(line, waited, _int(line.data, 1))
        # the caller hangs up first, then app_queue lets go of it: the order AMI shows
        return [*events,
                Hangup(at=at, uniqueid=line.callid, kind=HangupKind.REQUEST),
                CallerAbandon(at=at, queue=line.queue, uniqueid=line.callid, position=position),
                CallerLeave(at=at, queue=line.queue, uniqueid=line.callid, position=position)]

    def _gone(self, status: str | None, wait_at: int = 2,
              ) -> Callable[[QueueLogLine], list[Event]]:
        """A caller the queue let go: position|origposition|waittime (EXITWITHTIMEOUT,
        EXITEMPTY, WITHDRAW), or key|position|origposition|waittime (EXITWITHKEY). Asterisk
        1.8 logged only the position (and key) for some of them."""

        def handle(line: QueueLogLine) -> list[Event]:
            position, waited = _int(line.data, wait_at - 2), _int(line.data, wait_at)
            at, events = self._left(line, waited, _int(line.data, wait_at - 1))
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

    def _add_member(self, line: QueueLogLine) -> list[Event]:
        """ADDMEMBER: empty, or ``PAUSED`` when the member was added paused (13+)."""
        agent = self._agent(line.agent)
        self._members.add((agent, line.queue))
        paused = bool(line.data) and line.data[0] == "PAUSED"
        return [_member_update(line.at, line.queue, agent, MemberChange.ADDED, paused)]

    def _remove_member(self, line: QueueLogLine) -> list[Event]:
        agent = self._agent(line.agent)
        self._members.discard((agent, line.queue))
        return [_member_update(line.at, line.queue, agent, MemberChange.REMOVED)]

    def _pause(self, line: QueueLogLine) -> list[Event]:
        """PAUSE/UNPAUSE: the reason (1.8+; empty or absent before, or when none given)."""
        agent = self._agent(line.agent)
        self._members.add((agent, line.queue))
        paused = line.event == "PAUSE"
        reason = line.data[0] if paused and line.data else ""
        return [_member_update(line.at, line.queue, agent, MemberChange.PAUSE, paused, reason)]

    def _agent_logoff(self, line: QueueLogLine) -> list[Event]:
        """AGENTLOGOFF (chan_agent, app_agent_pool): the agent leaves every queue it is in."""
        agent = self._agent(line.agent)
        queues = {q for a, q in self._members if a == agent}
        self._logged_off[agent] = queues
        self._members -= {(agent, q) for q in queues}
        return [_member_update(line.at, q, agent, MemberChange.REMOVED) for q in sorted(queues)]

    def _agent_login(self, line: QueueLogLine) -> list[Event]:
        """AGENTLOGIN: back in the queues it left at its last logoff (others show later)."""
        agent = self._agent(line.agent)
        events: list[Event] = []
        for queue in sorted(self._logged_off.pop(agent, set())):
            events += self._membership(agent, queue, line.at)
        return events

