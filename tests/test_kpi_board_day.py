"""The board holds a day of calls as numbers, and its figures stay the definitions' own."""

from __future__ import annotations

import dataclasses
import gc
import random
import tracemalloc
from collections.abc import Iterator

import pytest

from collector.facts import AgentInterval, CallRecord, Outcome
from collector.live import LiveView
from kpi.board import KpiBoard
from kpi.definitions import call_kpis
from kpi.occupancy import agent_kpis
from kpi.repeat_callers import CallerIndex
from kpi.settings import KpiSettings
from kpi.windows import live_window
from tests.kpi_records import answered, unanswered
from tests.traces import final_records, replayed_facts

SETTINGS = KpiSettings(queue_service_level_s={"sales": 30}, repeat_window_s=3 * 3600.0)
MIDNIGHT = 1795474800.0  # 2026-11-23 00:00 in Europe/Berlin
QUEUES = ("sales", "support", "billing")
NUMBERS = ("+4930111", "4930111", "04930111", "5550100", "5550101", "anonymous", "", "sip:7@x")


def quiet(at: float) -> LiveView:
    return LiveView(at, (), (), ())


def a_day(seed: int, count: int) -> list[CallRecord]:
    """Calls of every kind around midnight, some put twice (unknown, then final)."""
    rng = random.Random(seed)
    calls: list[CallRecord] = []
    for n in range(count):
        entered = MIDNIGHT + rng.uniform(-5400.0, 7200.0)
        queue, number = rng.choice(QUEUES), rng.choice(NUMBERS)
        kind = rng.random()
        if kind < 0.6:
            call = answered(entered, wait=rng.choice([0.0, 4.0, 20.0, 30.0, 31.0, 95.5]),
                            talk=rng.uniform(0.0, 900.0), hold=rng.choice([0.0, 0.0, 42.0]),
                            acw=rng.choice([0.0, 6.0, 120.0]), queue=queue, num=number,
                            agent=f"PJSIP/20{rng.randrange(4)}",
                            transferred=rng.random() < 0.1)
            if rng.random() < 0.1:  # imported from queue_log: hold and ACW not observed
                call = dataclasses.replace(call, hold_s=None, acw_s=None)
        else:
            outcome = rng.choice(list(Outcome)[1:])
            call = unanswered(entered, wait=rng.choice([1.0, 4.9, 5.0, 25.0, 300.0]),
                              outcome=outcome, queue=queue, num=number)
        ids = (f"{int(entered)}.{n}", f"{int(entered)}.{n // 2}") if n % 5 else (
            f"pbx-{n}", f"pbx-{n // 2}")  # a system name in front, as clusters set it
        call = dataclasses.replace(call, uniqueid=ids[0], linkedid=ids[1])
        if rng.random() < 0.1:
            calls.append(dataclasses.replace(call, outcome=Outcome.UNKNOWN, answered_at=None,
                                             ended_at=None, talk_s=None, handle_s=None))
        calls.append(call)
    return calls


def arrival(call: CallRecord) -> float:
    """When the tracker hands a call over: once its after-call work ended."""
    return (call.ended_at or call.entered_at) + (call.acw_s or 0.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_day_of_calls_gives_the_definitions_figures_at_every_moment(seed: int) -> None:
    day = sorted(a_day(seed, 400), key=arrival)
    board = KpiBoard(SETTINGS, "Europe/Berlin")
    latest: dict[str, CallRecord] = {}
    fed = 0
    moments = [MIDNIGHT - 3600.0, MIDNIGHT - 1.0, MIDNIGHT, MIDNIGHT + 0.5, MIDNIGHT + 900.0,
               MIDNIGHT + 3599.0, MIDNIGHT + 3600.0, MIDNIGHT + 3601.0, MIDNIGHT + 7300.0,
               MIDNIGHT + 9000.0]
    for at in moments:
        while fed < len(day) and arrival(day[fed]) <= at:
            board.add([day[fed]])
            latest[day[fed].call_id] = day[fed]
            fed += 1
        snapshot = board.snapshot(quiet(at))
        calls = list(latest.values())
        callers = CallerIndex(calls)
        for kpis in snapshot.kpis:
            mine = [c for c in calls if kpis.queue in (None, c.queue)]
            assert kpis.calls == call_kpis(mine, kpis.window, SETTINGS, callers), (
                at, kpis.queue, kpis.window.name)
        for name in ("today", "15m", "60m"):
            window = live_window(name, at, board.timezone)
            expected = agent_kpis(calls, [], window)
            assert tuple(a.kpis for a in snapshot.agent_kpis if a.window.name == name) == expected


def test_a_call_put_again_replaces_the_one_before() -> None:
    first = answered(MIDNIGHT + 60, wait=10, num="5550100")
    board = KpiBoard(SETTINGS, "Europe/Berlin")
    board.add([dataclasses.replace(first, outcome=Outcome.UNKNOWN, answered_at=None),
               first, first])
    today = next(k.calls for k in board.snapshot(quiet(MIDNIGHT + 3600)).kpis
                 if k.queue is None and k.window.name == "today")
    assert (today.offered, today.answered, today.unknown) == (1, 1, 0)


def test_numbers_that_differ_only_in_a_prefix_are_different_callers() -> None:
    calls = [answered(MIDNIGHT + 60, num="+4930111"), answered(MIDNIGHT + 120, num="4930111"),
             answered(MIDNIGHT + 180, num="04930111"), answered(MIDNIGHT + 240, num="5550100"),
             answered(MIDNIGHT + 300, num="5550100")]
    board = KpiBoard(SETTINGS, "Europe/Berlin")
    board.add(calls)
    today = next(k.calls for k in board.snapshot(quiet(MIDNIGHT + 3600)).kpis
                 if k.queue is None and k.window.name == "today")
    assert today.repeat_rate == pytest.approx(1 / 5)


def day_of_traffic(count: int) -> Iterator[CallRecord]:
    """The mixed-a trace's calls again and again, with new ids and caller numbers."""
    template = final_records(replayed_facts("mixed-a"))
    start = min(c.entered_at for c in template)
    for n in range(count):
        call, copy = template[n % len(template)], n // len(template)
        shift = MIDNIGHT + 60 + copy * 300.0 - start
        yield dataclasses.replace(
            call, uniqueid=f"{int(MIDNIGHT) + copy}.{n}", linkedid=f"{int(MIDNIGHT) + copy}.{n}",
            caller_num=f"+49151{copy:04d}{call.caller_num[-3:]}", caller_name=f"Caller {n}",
            entered_at=call.entered_at + shift,
            answered_at=None if call.answered_at is None else call.answered_at + shift,
            ended_at=None if call.ended_at is None else call.ended_at + shift)


def test_the_board_holds_a_call_in_a_few_hundred_bytes() -> None:
    count = 4000
    gc.collect()
    tracemalloc.start()
    try:
        board = KpiBoard(SETTINGS, "Europe/Berlin")
        before = tracemalloc.get_traced_memory()[0]
        for call in day_of_traffic(count):
            board.add([call])
        board.snapshot(quiet(MIDNIGHT + 12 * 3600))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # about 130 bytes today; a call kept as a record (even slimmed) takes over 700
    assert held / count < 400


def test_agent_intervals_alone_leave_the_call_figures_empty() -> None:
    intervals = [f for f in replayed_facts("mixed-a") if isinstance(f, AgentInterval)]
    board = KpiBoard(SETTINGS)
    board.add(intervals)
    end = max(i.ended_at or 0.0 for i in intervals) + 1
    assert all(k.calls.offered == 0 for k in board.snapshot(quiet(end)).kpis)
