"""The state tables themselves, through the tracker: every listed move is made as listed,
and a move that is not listed is an anomaly that changes nothing."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest

import collector.tracker
from collector import events
from collector.diagram import label
from collector.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    CallerAbandon,
    CallerJoin,
    CallerLeave,
    Event,
    Hangup,
    HoldChange,
    MemberChange,
    MemberUpdate,
    PbxShutdown,
    QueueEntry,
    QueueStatusVar,
    Tick,
    Transfer,
)
from collector.facts import Anomaly, Fact
from collector.states import (
    ACW,
    ACW_PAUSE,
    HOLD,
    HOLD_ON,
    OTHER_PAUSE,
    REMOVED,
    STINT,
    UNHOLD,
    UNHOLD_LAST,
    UNPAUSE,
    WRAPUP_OVER,
    WRAPUP_RUNS_ON,
    AcwEnded,
    AcwState,
    HoldState,
    Input,
    Lost,
    Machine,
    S,
    SettleDue,
    StintState,
    refused_kind,
)
from collector.tracker import Tracker, TrackerConfig
from collector.tracker.books import AfterCallWork, Books, Hold, Stint

Q, CALLER, AGENT, OTHER = "support", "c1", "PJSIP/201", "PJSIP/202"
PHONE = "c1-phone"
"""The agent's phone behind the member's channel: the caller's linkedid, its own uniqueid."""
W, L, C, R, E = StintState
WINDOW, WRAPUPTIME, PAUSED, DONE = AcwState


def join(at: float, uid: str = CALLER, queue: str = Q) -> CallerJoin:
    return CallerJoin(at, queue, uid, uid, "5550100", "Caller", 1)


def connect(at: float, uid: str = CALLER) -> AgentConnect:
    return AgentConnect(at, Q, uid, AGENT, "Agent", f"{uid}-agent")


def complete(at: float, uid: str = CALLER) -> AgentComplete:
    return AgentComplete(at, Q, uid, AGENT, "Agent", "agent", None, None)


def pause(at: float, paused: bool, reason: str) -> MemberUpdate:
    return MemberUpdate(at, MemberChange.PAUSE, Q, AGENT, "Agent", paused, reason, None, None)


def hold(at: float, leg: str, on: bool) -> HoldChange:
    return HoldChange(at, leg, CALLER, on)


# each state is reached by events from 100 s on; the move under test comes at T
T = 120.0
DEFAULTS = TrackerConfig()


@dataclass(frozen=True)
class Case:
    """A state reached by ``setup``, and the machine instance that is in it."""

    setup: tuple[Event, ...]
    instance: Callable[[Books], Stint | Hold | AfterCallWork]
    config: TrackerConfig = DEFAULTS


def _stint(books: Books) -> Stint:
    return books.stints[CALLER]


def _wrapping_stint(books: Books) -> Stint:
    return books.acw[AGENT].stint


def _hold(books: Books) -> Hold:
    held = books.stints[CALLER].hold
    assert held is not None
    return held


def _acw(books: Books) -> AfterCallWork:
    return books.acw[AGENT]


CALL = (join(100.0), CallerLeave(101.0, Q, CALLER, 1), connect(101.0))
THIRTY_S = TrackerConfig(wrapuptime={Q: 30.0})
STINT_STATES = {
    W: Case((join(100.0),), _stint),
    L: Case((join(100.0), CallerLeave(T - 0.5, Q, CALLER, 1)), _stint),
    C: Case(CALL, _stint),
    R: Case((*CALL, complete(110.0)), _wrapping_stint),
}
HOLD_STATES = {
    HoldState.TALKING: Case(CALL, _hold),
    HoldState.HELD: Case((*CALL, hold(105.0, PHONE, True)), _hold),
}
ACW_STATES = {
    WINDOW: Case((*CALL, complete(T - 1.0)), _acw, THIRTY_S),
    WRAPUPTIME: Case((*CALL, complete(110.0), Tick(115.5)), _acw, THIRTY_S),
    PAUSED: Case((*CALL, pause(105.0, True, "ACW"), complete(110.0)), _acw, THIRTY_S),
}


def trigger(cue: Input, state: StrEnum) -> tuple[Event, ...]:
    """Events that make ``cue`` reach the machine in ``state`` at about ``T``."""
    other_queue = join(T, queue="sales")
    triggers: dict[Input, tuple[Event, ...]] = {
        AgentCalled: (AgentCalled(T, Q, CALLER, OTHER, "Other"),),
        AgentRingNoAnswer: (AgentRingNoAnswer(T, Q, CALLER, OTHER, "Other"),),
        AgentDump: (AgentDump(T, Q, CALLER, OTHER, "Other"),),
        CallerAbandon: (CallerAbandon(T, Q, CALLER, 1),),
        Hangup: (Hangup(T, CALLER),),
        QueueStatusVar: (QueueStatusVar(T, CALLER, "CONTINUE"),),
        QueueEntry: (QueueEntry(T, Q, CALLER, CALLER, "5550100", "Caller", 20),),
        CallerLeave: (CallerLeave(T, Q, CALLER, 1),),
        AgentConnect: (connect(T),),
        CallerJoin: (join(T),),
        Lost: (other_queue,),
        SettleDue: (Tick(T + 5.0),),
        HoldChange: (hold(T, CALLER, True),),
        Transfer: (Transfer(T, True, f"{CALLER}-agent", CALLER, CALLER, "700"),),
        AgentComplete: (complete(T),),
        AcwEnded: (Tick(T + 60.0),),
        PbxShutdown: (PbxShutdown(T),),
        HOLD_ON: (hold(T, f"{CALLER}-agent", True),),
        UNHOLD: (hold(T, f"{CALLER}-agent" if state is HoldState.HELD else PHONE, False),),
        UNHOLD_LAST: (hold(T, PHONE, False),),
        ACW_PAUSE: (pause(T, True, "wrapup"),),
        OTHER_PAUSE: (pause(T, True, "Lunch"),),
        UNPAUSE: (pause(T, False, ""),),
        REMOVED: (MemberUpdate(T, MemberChange.REMOVED, Q, AGENT, "Agent", None, "", None,
                               None),),
        WRAPUP_RUNS_ON: (Tick(T + 5.0),),
        WRAPUP_OVER: (Tick(140.0),),
    }
    return triggers[cue]


def scenario(state: StrEnum, cue: Input) -> tuple[Case, TrackerConfig, list[Event],
                                                   tuple[Event, ...]]:
    """How to test the move from ``state`` on ``cue``: the case that reaches the state,
    the configuration, the events to reach it with, and the events that make the move."""
    if isinstance(state, StintState):
        case = STINT_STATES[state]
    elif isinstance(state, HoldState):
        case = HOLD_STATES[state]
    else:
        return _acw_scenario(cue, AcwState(state))
    return case, case.config, list(case.setup), trigger(cue, state)


def _acw_scenario(cue: Input, state: AcwState) -> tuple[Case, TrackerConfig, list[Event],
                                                        tuple[Event, ...]]:
    # the after-call work's cues are about the agent, not the caller
    case = ACW_STATES[state]
    before: tuple[Event, ...] = ()
    config = case.config
    triggered = trigger(cue, state)
    if cue is AgentCalled:
        triggered = (AgentCalled(T, Q, "c2", AGENT, "Agent"),)
    elif cue is AgentConnect:
        triggered = (join(T, "c2"), connect(T, "c2"))
    elif cue is AgentComplete:
        # a second call the agent took before the first one ended
        before, triggered = (join(100.5, "c2"), connect(102.0, "c2")), (complete(T, "c2"),)
    elif cue is Lost:
        triggered = (PbxShutdown(T),)
    elif cue == UNPAUSE and state is not PAUSED:
        before = (pause(105.0, True, "Lunch"),)
    elif cue == WRAPUP_OVER and state is WINDOW:
        config = DEFAULTS
    return case, config, sorted([*case.setup, *before], key=lambda e: e.at), triggered


def _moves(machine: Machine[S]) -> list[tuple[StrEnum, Input, StrEnum]]:
    return [(s, cue, t) for s, moves in machine.moves.items() for cue, t in moves.items()]


def _id(value: object) -> str:
    return label(value) if isinstance(value, type | tuple) else str(value)


def _reach(case: Case, config: TrackerConfig,
           events_: list[Event]) -> tuple[Tracker, Stint | Hold | AfterCallWork]:
    tracker = Tracker(config)
    for event in events_:
        tracker.feed(event)
    return tracker, case.instance(tracker.books)


@pytest.mark.parametrize(("state", "cue", "target"),
                         [*_moves(STINT), *_moves(HOLD), *_moves(ACW)], ids=_id)
def test_every_move_is_made_as_listed(state: StrEnum, cue: Input, target: StrEnum) -> None:
    case, config, setup, triggered = scenario(state, cue)
    tracker, instance = _reach(case, config, setup)
    assert instance.state is state
    for event in triggered:
        tracker.feed(event)
    assert instance.state is target


def test_every_start_is_made_as_listed() -> None:
    tracker = Tracker()
    tracker.feed(join(100.0))
    tracker.feed(QueueEntry(100.0, Q, "c9", "c9", "", "", 5))
    assert tracker.books.stints[CALLER].state is STINT.starts[CallerJoin]
    assert tracker.books.stints["c9"].state is STINT.starts[QueueEntry]
    tracker.feed(connect(101.0))
    assert _hold(tracker.books).state is HOLD.starts[AgentConnect]
    tracker.feed(complete(110.0))
    assert _acw(tracker.books).state is ACW.starts[AgentComplete]
    tracker.feed(join(111.0, "c2"))
    tracker.feed(connect(112.0, "c2"))
    tracker.feed(pause(113.0, True, "ACW"))
    tracker.feed(complete(114.0, "c2"))
    assert _acw(tracker.books).state is PAUSED


EVENT_TYPES = {cls for cls in vars(events).values() if isinstance(cls, type)
               and cls.__module__ == events.__name__}
STINT_EVENTS = sorted(
    {cue for moves in STINT.moves.values() for cue in moves if cue in EVENT_TYPES},
    key=lambda cue: cue.__name__ if isinstance(cue, type) else "",
)
NOT_ROUTED = {
    # holds and transfers are looked for among connected calls only
    (W, HoldChange), (W, Transfer), (L, HoldChange), (L, Transfer),
}
REFUSED = [
    (state, cue) for state in (W, L, C) for cue in STINT_EVENTS
    if STINT.next(state, cue) is None and (state, cue) not in NOT_ROUTED
]


def _observed(tracker: Tracker, facts: list[Fact]) -> tuple[object, ...]:
    """All a tracker shows: the facts it returned, what it sees now, what it would close."""
    return (facts, tracker.live(), tracker.finish(T + 100.0))


@pytest.mark.parametrize(("state", "cue"), REFUSED, ids=_id)
def test_a_move_not_in_the_table_is_an_anomaly_that_changes_nothing(state: StintState,
                                                                    cue: Input) -> None:
    case = STINT_STATES[state]
    tracker, stint = _reach(case, case.config, list(case.setup))
    unmoved = copy.deepcopy(tracker)
    (event,) = trigger(cue, state)
    facts = tracker.feed(event)
    anomalies = [f for f in facts if isinstance(f, Anomaly)]
    assert [a.kind for a in anomalies] == [refused_kind(cue)]
    assert isinstance(stint, Stint) and stint.state is state
    rest: list[Fact] = [f for f in facts if not isinstance(f, Anomaly)]
    assert _observed(tracker, rest) == _observed(unmoved, unmoved.feed(Tick(event.at)))


def test_the_refused_moves_are_the_ones_the_table_leaves_out() -> None:
    assert set(REFUSED) == {
        (W, CallerJoin), (W, AgentComplete), (L, CallerLeave), (L, AgentComplete),
        (C, AgentCalled), (C, AgentRingNoAnswer), (C, AgentDump), (C, CallerAbandon),
        (C, CallerLeave), (C, AgentConnect), (C, QueueStatusVar),
    }


def test_hold_and_after_call_work_have_a_move_for_everything_routed_to_them() -> None:
    # Unhold of the last held leg needs a held leg; an AcwDue comes only while one is
    # awaited, and the wrapuptime cannot still run at its own end
    impossible = {(HoldState.TALKING, UNHOLD_LAST), (WRAPUPTIME, WRAPUP_RUNS_ON),
                  (PAUSED, WRAPUP_RUNS_ON), (PAUSED, WRAPUP_OVER)}
    for machine in (HOLD, ACW):
        cues = {cue for moves in machine.moves.values() for cue in moves}
        for state, moves in machine.moves.items():
            if moves:
                assert cues - set(moves) == {c for s, c in impossible if s is state}, state


def test_nothing_but_the_table_sets_a_machine_state() -> None:
    tracker_package = Path(collector.tracker.__file__).parent
    for path in sorted(tracker_package.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{number}: {line.strip()}"
            assert not re.search(r"\.state\s*=[^=]", line), where
            if re.search(r"\bstate=", line):
                assert "start(" in line, where
