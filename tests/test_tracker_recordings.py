"""Every recording, both AMI streams, call by call: outcome, wait and connected time as
Asterisk's queue_log logged them, and hold, after-call work and transfers as the phones
and the recording client saw them (``truth.json``).

``ami-reader.jsonl`` is what a production collector receives (the least-privilege user:
no VarSet, no dialplan events); ``ami.jsonl`` is the full user's view of the same run.
"""

from __future__ import annotations

import pytest

from collector.facts import Outcome
from tests.recording_truth import (
    TOLERANCE_S,
    final_calls,
    holds,
    lab_streams,
    restart_victims,
    streams,
    transfers,
    wrapups,
)
from tests.traces import logged_calls

NOT_YET: dict[str, set[str]] = {
    "outcome": {"lab-abandon/ami-reader", "lab-load/ami", "lab-load/ami-reader",
                "lab-reconnect/ami", "lab-reconnect/ami-reader"},
    "timings": {"lab-load/ami", "lab-load/ami-reader", "lab-reconnect/ami",
                "lab-reconnect/ami-reader"},
    "flagged": set(),
    "hold": {"lab-hold/ami", "lab-hold/ami-reader", "lab-load/ami", "lab-load/ami-reader",
             "lab-reconnect/ami", "lab-reconnect/ami-reader"},
    "acw": {"lab-load/ami", "lab-load/ami-reader"},
    "transfer": {"lab-load/ami", "lab-load/ami-reader", "lab-transfer/ami",
                 "lab-transfer/ami-reader"},
    "restart": {"lab-reconnect/ami", "lab-reconnect/ami-reader"},
}
"""The rules still to land, by check: each of these cases fails until its rule is in."""


def _id(case: tuple[str, str]) -> str:
    return f"{case[0]}/{case[1].removesuffix('.jsonl')}"


def _cases(check: str, cases: list[tuple[str, str]]) -> list[object]:
    return [pytest.param(case, id=_id(case),
                         marks=[pytest.mark.xfail(strict=True)] if _id(case) in NOT_YET[check]
                         else [])
            for case in cases]


STREAMS = streams()
LAB_STREAMS = lab_streams()


@pytest.mark.parametrize("case", _cases("outcome", STREAMS))
def test_every_stint_has_the_outcome_queue_log_logged(case: tuple[str, str]) -> None:
    name, stream = case
    calls, victims = final_calls(name, stream), restart_victims(name)
    logged = logged_calls(name)
    assert set(logged) <= set(calls)
    wrong = {key: (calls[key].outcome.value, call.outcome) for key, call in logged.items()
             if key not in victims and calls[key].outcome.value != call.outcome}
    assert wrong == {}


@pytest.mark.parametrize("case", _cases("timings", STREAMS))
def test_wait_and_connected_time_agree_with_queue_log_to_the_second(
    case: tuple[str, str],
) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong: dict[tuple[str, str], str] = {}
    for key, call in logged_calls(name).items():
        record = calls[key]
        if call.wait is not None and (record.wait_s is None
                                      or abs(record.wait_s - call.wait) > TOLERANCE_S):
            wrong[key] = f"wait {record.wait_s} against {call.wait}"
        if call.connected is None:
            continue
        connected = None if record.talk_s is None else record.talk_s + (record.hold_s or 0.0)
        if connected is None or abs(connected - call.connected) > TOLERANCE_S:
            wrong[key] = f"connected {connected} against {call.connected}"
    assert wrong == {}


@pytest.mark.parametrize("case", _cases("flagged", STREAMS))
def test_transfers_are_flagged_as_in_queue_log(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {key for key, call in logged_calls(name).items()
             if bool(calls[key].transferred) != call.transferred}
    assert wrong == set()


@pytest.mark.parametrize("case", _cases("hold", LAB_STREAMS))
def test_hold_is_what_the_agents_phone_held(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {}
    for key, held in holds(name).items():
        record = calls[key]
        if (record.hold_s is None or abs(record.hold_s - held.agent_s) > TOLERANCE_S
                or record.hold_count != held.agent_count):
            wrong[key] = (record.hold_s, record.hold_count, held)
    assert wrong == {}


@pytest.mark.parametrize("case", _cases("acw", LAB_STREAMS))
def test_after_call_work_is_the_acw_pause_or_the_wrapuptime(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {}
    for key, work in wrapups(name).items():
        record = calls[key]
        by_rule = (record.acw_s is not None and abs(record.acw_s - work.seconds) <= TOLERANCE_S
                   and record.acw_source is work.source)
        if not {"yes": by_rule, "no": record.acw_s is None,
                "barely": by_rule or record.acw_s is None}[work.decided]:
            wrong[key] = (record.acw_s, record.acw_source.value, work)
    assert wrong == {}


@pytest.mark.parametrize("case", _cases("transfer", LAB_STREAMS))
def test_a_transfer_names_the_extension_dialled(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    wrong = {}
    for key, moved in transfers(name).items():
        record = calls[key]
        if (record.transfer_to, bool(record.transferred)) != (
                (moved.to, True) if moved else (None, False)):
            wrong[key] = (record.transfer_to, moved)
    assert wrong == {}


@pytest.mark.parametrize("case", _cases("restart", LAB_STREAMS))
def test_callers_waiting_when_asterisk_restarted_did_not_abandon(case: tuple[str, str]) -> None:
    name, stream = case
    calls = final_calls(name, stream)
    for key in restart_victims(name):
        assert calls[key].outcome is not Outcome.ABANDONED, key
