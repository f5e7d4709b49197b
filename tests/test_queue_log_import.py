"""queue_log lines to calls and agent intervals: real traces, and every documented layout.

The layouts come from app_queue's ``ast_queue_log`` calls across Asterisk versions: 1.8
TRANSFER, 12+ BLINDTRANSFER/ATTENDEDTRANSFER, PAUSE with and without a reason, ADDMEMBER
logging the interface unless ``log_membername_as_agent = yes``, and the DATETIME stamps of
queue_log tables exported from a realtime database.
"""

from __future__ import annotations

import itertools
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.facts import CALL_COLUMNS, AcwSource, AgentInterval, AgentState, EndReason, Outcome
from collector.queue_log import QueueLogReader
from collector.queue_log_events import BAD_DATA, NO_START
from collector.queue_log_import import (
    NEVER_ENTERED,
    UNKNOWN_EVENT,
    ImportedCall,
    ImportStats,
    QueueLogImporter,
)
from collector.tracker import TrackerConfig
from tests.traces import (
    TRACE_CONFIG,
    TRACE_NAMES,
    logged_calls,
    read_queue_log,
    replayed_calls,
    trace_dir,
)

T = 1_795_484_800


def run(text: str, config: TrackerConfig | None = None, timezone: tzinfo = UTC,
        ) -> tuple[list[ImportedCall], list[AgentInterval], ImportStats]:
    """Import queue_log text; the calls, the intervals and the statistics."""
    importer = QueueLogImporter(config)
    lines = QueueLogReader(timezone).read([text.strip().splitlines()])
    facts = [*itertools.chain.from_iterable(importer.feed(line) for line in lines),
             *importer.finish()]
    calls = [f for f in facts if isinstance(f, ImportedCall)]
    return calls, [f for f in facts if isinstance(f, AgentInterval)], importer.stats


def one_call(text: str, config: TrackerConfig | None = None) -> ImportedCall:
    """The only call the text holds."""
    calls, _, _ = run(text, config)
    assert len(calls) == 1, calls
    return calls[0]


def imported_trace(name: str) -> tuple[list[ImportedCall], list[AgentInterval], ImportStats]:
    """A recorded trace's queue_log, imported with the trace's configuration."""
    text = (trace_dir(name) / "queue_log").read_text(encoding="utf-8")
    return run(text, TRACE_CONFIG)


# -- the recorded traces ---------------------------------------------------------------


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_every_logged_call_is_imported_with_queue_logs_outcome_and_whole_second_timings(
    name: str,
) -> None:
    calls, _, stats = imported_trace(name)
    by_stint = {(c.record.uniqueid, c.record.queue): c.record for c in calls}
    logged = logged_calls(name)
    assert set(by_stint) == set(logged)
    for key, expected in logged.items():
        record = by_stint[key]
        assert record.outcome.value == expected.outcome, key
        assert record.wait_s == expected.wait, key
        assert record.talk_s == expected.connected, key
        assert bool(record.transferred) == expected.transferred, key
    assert not stats.skipped and not stats.anomalies and stats.unfinished_calls == 0


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_imported_calls_enter_within_a_second_of_the_live_record(name: str) -> None:
    calls, _, _ = imported_trace(name)
    live = replayed_calls(name)
    for call in calls:
        record = call.record
        twin = live[(record.uniqueid, record.queue)]
        assert 0.0 <= twin.entered_at - record.entered_at < 1.0


def test_after_call_work_follows_the_live_trackers_rules() -> None:
    sources: set[AcwSource] = set()
    for name in ("smoke", "mixed-a"):
        calls, _, _ = imported_trace(name)
        live = replayed_calls(name)
        for record in (c.record for c in calls):
            if record.acw_s is None:
                continue
            twin = live[(record.uniqueid, record.queue)]
            assert record.acw_source is twin.acw_source
            assert twin.acw_s is not None and abs(record.acw_s - twin.acw_s) <= 1.0
            sources.add(record.acw_source)
    assert sources == {AcwSource.PAUSE, AcwSource.WRAPUPTIME, AcwSource.NONE}


def test_after_call_work_not_decided_when_the_input_ends_stays_null() -> None:
    calls, _, _ = imported_trace("smoke")
    last = max(calls, key=lambda c: c.record.entered_at).record
    assert last.outcome is Outcome.ANSWERED
    assert last.acw_s is None and last.handle_s is None


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_an_agent_is_never_in_two_states_at_once(name: str) -> None:
    _, intervals, _ = imported_trace(name)
    by_agent = sorted(intervals, key=lambda i: (i.interface, i.started_at))
    for before, after in itertools.pairwise(by_agent):
        if before.interface == after.interface:
            assert before.ended_at is not None and before.ended_at <= after.started_at


def test_talking_intervals_span_each_answered_call() -> None:
    calls, intervals, _ = imported_trace("hold-a")
    talking = {(i.interface, i.started_at, i.ended_at) for i in intervals
               if i.state is AgentState.TALKING}
    answered = [c.record for c in calls if c.record.outcome is Outcome.ANSWERED]
    assert answered
    for record in answered:
        assert (record.agent_interface, record.answered_at, record.ended_at) in talking


def test_columns_queue_log_cannot_observe_are_null_in_the_row() -> None:
    calls, _, _ = imported_trace("hold-a")
    answered = [c for c in calls if c.record.outcome is Outcome.ANSWERED]
    for call in answered:
        row = dict(zip(CALL_COLUMNS, call.as_values(), strict=True))
        assert row["hold_s"] is None and row["hold_count"] is None
        assert row["ring_attempts"] is None and row["caller_name"] is None
        # the phones held for 4 s of each call: queue_log's calltime includes it
        assert row["talk_s"] == 10.0
        assert row["caller_num"] and row["linkedid"] == row["uniqueid"]


def test_handle_time_is_calltime_plus_after_call_work() -> None:
    calls, _, _ = imported_trace("mixed-a")
    for call in calls:
        r = call.record
        if r.outcome is Outcome.ANSWERED and r.acw_s is not None:
            assert r.talk_s is not None and r.handle_s == r.talk_s + r.acw_s


# -- documented layouts --------------------------------------------------------------------


def test_asterisk_1_8_transfer_ends_the_call_as_transferred() -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 3}|c1|support|SIP/201|CONNECT|3|c1-agent
{T + 28}|c1|support|SIP/201|TRANSFER|700|from-internal|3|25|1
""").record
    assert call.outcome is Outcome.ANSWERED
    assert (call.wait_s, call.talk_s) == (3.0, 25.0)
    assert call.transferred == 1 and call.transfer_to == "700"
    assert call.end_reason is EndReason.TRANSFER


def test_blind_transfer_logs_extension_context_and_timings() -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 2}|c1|support|Alice|CONNECT|2|c1-agent|1
{T + 12}|c1|support|Alice|BLINDTRANSFER|700|transfer-target|2|10|1
""").record
    assert (call.wait_s, call.talk_s, call.transfer_to) == (2.0, 10.0, "700")


@pytest.mark.parametrize(("how", "target"), [
    ("BRIDGE|d4b1a2c3-0000", "Bridge"),
    ("APP|Voicemail", "Voicemail"),
    ("LINK|PJSIP/201-0001|PJSIP/305-0002", "PJSIP/305-0002"),
])
def test_attended_transfer_reads_timings_after_each_completion_kind(how: str,
                                                                    target: str) -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 4}|c1|support|Alice|CONNECT|4|c1-agent|2
{T + 34}|c1|support|Alice|ATTENDEDTRANSFER|{how}|4|30|1
""").record
    assert (call.wait_s, call.talk_s) == (4.0, 30.0)
    assert call.transferred == 1 and call.transfer_to == target


def test_complete_caller_and_agent_say_who_hung_up() -> None:
    calls, _, _ = run(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T}|c2|support|NONE|ENTERQUEUE||5550101|2
{T + 1}|c1|support|Alice|CONNECT|1|c1-agent|1
{T + 2}|c2|support|Bob|CONNECT|2|c2-agent|1
{T + 10}|c1|support|Alice|COMPLETECALLER|1|9|1
{T + 20}|c2|support|Bob|COMPLETEAGENT|2|18|2
""")
    reasons = {c.record.uniqueid: c.record.end_reason for c in calls}
    assert reasons == {"c1": EndReason.CALLER, "c2": EndReason.AGENT}


def test_pause_without_a_reason_pauses_with_no_reason() -> None:
    # before 1.8 PAUSE had no data field; since then it is empty when no reason is given
    for pause in ("PAUSE", "PAUSE|"):
        _, intervals, _ = run(f"""
{T}|NONE|support|Alice|ADDMEMBER|
{T + 10}|NONE|support|Alice|{pause}
{T + 70}|NONE|support|Alice|UNPAUSE|
{T + 80}|NONE|support|Alice|REMOVEMEMBER|
""")
        paused = [i for i in intervals if i.state is AgentState.PAUSED]
        assert [(p.started_at, p.ended_at, p.reason) for p in paused] == [
            (T + 10, T + 70, None)]


def test_pause_reason_is_kept() -> None:
    _, intervals, _ = run(f"""
{T}|NONE|support|Alice|ADDMEMBER|
{T + 10}|NONE|support|Alice|PAUSE|Lunch
{T + 70}|NONE|support|Alice|UNPAUSE|
""")
    assert [(i.state, i.reason) for i in intervals] == [
        (AgentState.AVAILABLE, None), (AgentState.PAUSED, "Lunch")]


def test_addmember_logged_by_interface_joins_the_member_name_through_agents_config() -> None:
    # log_membername_as_agent = no: ADDMEMBER/REMOVEMEMBER log the interface, the rest the name
    text = f"""
{T}|MANAGER|support|PJSIP/201|ADDMEMBER|
{T + 5}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 6}|c1|support|Alice|CONNECT|1|c1-agent|1
{T + 16}|c1|support|Alice|COMPLETEAGENT|1|10|1
{T + 30}|MANAGER|support|PJSIP/201|REMOVEMEMBER|
"""
    _, intervals, _ = run(text, TrackerConfig(agent_names={"PJSIP/201": "Alice"}))
    assert {i.agent for i in intervals} == {"Alice"}
    assert [i.state for i in intervals] == [
        AgentState.AVAILABLE, AgentState.TALKING, AgentState.AVAILABLE]
    assert intervals[-1].ended_at == T + 30


def test_membername_as_agent_needs_no_mapping() -> None:
    _, intervals, _ = run(f"""
{T}|MANAGER|support|Alice|ADDMEMBER|
{T + 30}|MANAGER|support|Alice|REMOVEMEMBER|
""")
    assert [(i.agent, i.state, i.started_at, i.ended_at) for i in intervals] == [
        ("Alice", AgentState.AVAILABLE, T, T + 30)]


def test_addmember_paused_starts_paused() -> None:
    _, intervals, _ = run(f"""
{T}|MANAGER|support|Alice|ADDMEMBER|PAUSED
{T + 30}|NONE|support|Alice|UNPAUSE|
{T + 40}|MANAGER|support|Alice|REMOVEMEMBER|
""")
    assert [i.state for i in intervals] == [AgentState.PAUSED, AgentState.AVAILABLE]


def test_agent_logoff_leaves_every_queue_and_login_returns_to_them() -> None:
    _, intervals, _ = run(f"""
{T}|NONE|support|Agent/1001|ADDMEMBER|
{T}|NONE|sales|Agent/1001|ADDMEMBER|
{T + 60}|NONE|NONE|Agent/1001|AGENTLOGOFF|PJSIP/201-00000001|60
{T + 90}|NONE|NONE|Agent/1001|AGENTLOGIN|PJSIP/201-00000002
{T + 100}|NONE|support|Agent/1001|PAUSE|Lunch
{T + 100}|NONE|sales|Agent/1001|PAUSE|Lunch
""")
    assert [(i.state, i.started_at, i.ended_at) for i in intervals] == [
        (AgentState.AVAILABLE, T, T + 60), (AgentState.LOGGED_OUT, T + 60, T + 90),
        (AgentState.AVAILABLE, T + 90, T + 100)]


def test_local_time_datetime_stamps_are_read_in_the_given_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    calls, _, _ = run("""
2026-11-24 02:47:08.250000|c1|support|NONE|ENTERQUEUE||5550100|1
2026-11-24 02:47:11.100000|c1|support|Alice|CONNECT|3|c1-agent|1
2026-11-24 02:47:31.400000|c1|support|Alice|COMPLETEAGENT|3|20|1
""", timezone=berlin)
    (call,) = calls
    assert call.record.entered_at == 1795484828.25  # 01:47:08.25 UTC
    assert (call.record.wait_s, call.record.talk_s) == (3.0, 20.0)


def test_enterqueue_of_old_versions_has_url_and_caller_id_only() -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100
{T + 9}|c1|support|NONE|ABANDON|1|1|9
""").record
    assert call.caller_num == "5550100" and call.position_entered is None


def test_enterqueue_with_caller_id_name_stores_the_name() -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|2|Jane Roe
{T + 9}|c1|support|NONE|ABANDON|2|2|9
""")
    assert call.record.caller_name == "Jane Roe" and "caller_name" not in call.unobserved
    assert call.record.position_entered == 2


def test_abandon_takes_its_wait_from_waittime() -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|3
{T + 14}|c1|support|NONE|ABANDON|2|3|13
""").record
    assert call.outcome is Outcome.ABANDONED
    assert call.wait_s == 13.0 and call.ended_at == T + 13
    assert (call.position_entered, call.position_left) == (3, 2)
    assert call.agent is None and call.talk_s is None and call.acw_s is None


@pytest.mark.parametrize(("line", "outcome", "wait"), [
    ("EXITWITHTIMEOUT|1|1|45", Outcome.TIMEOUT, 45.0),
    ("EXITWITHTIMEOUT|1", Outcome.TIMEOUT, 46.0),  # 1.8: position only
    ("EXITEMPTY|1|1|45", Outcome.EXIT_EMPTY, 45.0),
    ("EXITWITHKEY|5|1|1|45", Outcome.EXIT_KEY, 45.0),
    ("EXITWITHKEY|5|1", Outcome.EXIT_KEY, 46.0),  # 1.8: key and position only
    ("WITHDRAW|1|1|45|callback", Outcome.EXIT_KEY, 45.0),
])
def test_callers_the_queue_let_go(line: str, outcome: Outcome, wait: float) -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 46}|c1|support|NONE|{line}
""").record
    assert call.outcome is outcome and call.wait_s == wait


def test_a_caller_refused_at_the_door_is_not_a_call() -> None:
    calls, _, stats = run(f"""
{T}|c1|support|NONE|JOINEMPTY|
{T + 1}|c2|support|NONE|FULL|
""")
    assert calls == []
    assert stats.skipped == {NEVER_ENTERED: 2}


def test_ring_no_answer_is_counted_and_ringing_attempts_are_unobserved() -> None:
    call = one_call(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 12}|c1|support|Alice|RINGNOANSWER|12000
{T + 13}|c1|support|Bob|AGENTDUMP|
{T + 15}|c1|support|Carol|CONNECT|15|c1-agent|2
{T + 25}|c1|support|Carol|COMPLETEAGENT|15|10|1
""")
    assert call.record.ring_noanswer == 2 and call.record.agent == "Carol"
    assert "ring_attempts" in call.unobserved


def test_acw_pause_right_after_the_call_is_after_call_work() -> None:
    call = one_call(f"""
{T}|c1|sales|NONE|ENTERQUEUE||5550100|1
{T + 1}|c1|sales|Alice|CONNECT|1|c1-agent|1
{T + 11}|c1|sales|Alice|COMPLETEAGENT|1|10|1
{T + 11}|NONE|NONE|Alice|PAUSEALL|ACW
{T + 11}|NONE|sales|Alice|PAUSE|ACW
{T + 41}|NONE|NONE|Alice|UNPAUSEALL|
{T + 41}|NONE|sales|Alice|UNPAUSE|
""").record
    assert (call.acw_s, call.acw_source, call.handle_s) == (30.0, AcwSource.PAUSE, 40.0)


def test_without_a_pause_the_queues_wrapuptime_is_after_call_work() -> None:
    calls, _, _ = run(f"""
{T}|c1|sales|NONE|ENTERQUEUE||5550100|1
{T + 1}|c1|sales|Alice|CONNECT|1|c1-agent|1
{T + 11}|c1|sales|Alice|COMPLETEAGENT|1|10|1
{T + 60}|NONE|sales|Alice|PAUSE|Lunch
""", TrackerConfig(wrapuptime={"sales": 6.0}))
    (call,) = calls
    assert (call.record.acw_s, call.record.acw_source) == (6.0, AcwSource.WRAPUPTIME)


def test_a_call_whose_start_was_rotated_away_is_dated_from_its_timings() -> None:
    call = one_call(f"""
{T + 40}|c1|support|Alice|COMPLETEAGENT|5|30|2
{T + 60}|NONE|support|Alice|PAUSE|Lunch
""")
    r = call.record
    assert (r.entered_at, r.answered_at, r.ended_at) == (T + 5, T + 10, T + 40)
    assert (r.wait_s, r.talk_s, r.position_entered) == (5.0, 30.0, 2)
    assert "caller_num" in call.unobserved


def test_an_end_that_cannot_be_dated_is_skipped_and_counted() -> None:
    calls, _, stats = run(f"{T + 40}|c1|support|NONE|EXITWITHTIMEOUT|1")
    assert calls == [] and stats.skipped == {NO_START: 1}


def test_calls_still_going_on_at_the_end_are_counted_not_stored() -> None:
    calls, intervals, stats = run(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 1}|c2|support|NONE|ENTERQUEUE||5550101|2
{T + 2}|c2|support|Alice|CONNECT|1|c2-agent|1
""")
    assert calls == [] and stats.unfinished_calls == 2
    assert [(u, q) for u, q, _ in stats.unfinished] == [("c1", "support"), ("c2", "support")]
    assert all(i.ended_at is not None for i in intervals) and stats.open_intervals == 1


def test_queuestart_ends_the_calls_asterisk_was_handling_with_what_was_seen() -> None:
    calls, intervals, stats = run(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 1}|c1|support|Alice|CONNECT|1|c1-agent|1
{T + 2}|c2|support|NONE|ENTERQUEUE||5550101|1
{T + 30}|NONE|NONE|NONE|QUEUESTART|
{T + 40}|c3|support|NONE|ENTERQUEUE||5550102|1
{T + 45}|c3|support|NONE|ABANDON|1|1|5
""")
    outcomes = {c.record.uniqueid: c.record.outcome for c in calls}
    # answered and then lost: still answered, how it went on unknown
    assert outcomes == {"c1": Outcome.ANSWERED, "c2": Outcome.UNKNOWN, "c3": Outcome.ABANDONED}
    c1 = next(c.record for c in calls if c.record.uniqueid == "c1")
    assert c1.wait_s == 1.0 and c1.talk_s is None and c1.ended_at is None
    assert stats.restarts == 1
    assert max(i.ended_at or 0.0 for i in intervals) == T + 30


def test_lines_with_nothing_to_store_are_counted_apart() -> None:
    _, _, stats = run(f"""
{T}|NONE|NONE|NONE|CONFIGRELOAD|
{T}|c1|NONE|NONE|DID|5551234
{T + 1}|NONE|NONE|Alice|PAUSEALL|Lunch
""")
    assert stats.informational == {"CONFIGRELOAD": 1, "DID": 1, "PAUSEALL": 1}
    assert not stats.skipped


def test_unknown_events_and_bad_data_are_skipped_and_counted() -> None:
    calls, _, stats = run(f"""
{T}|c1|support|NONE|ENTERQUEUE||5550100|1
{T + 1}|c1|support|Alice|CONNECT|soon|c1-agent|1
{T + 2}|c1|support|Alice|MYCUSTOMEVENT|x
{T + 3}|c1|support|Alice|ATTENDEDTRANSFER|TELEPORT|1|2|3
{T + 9}|c1|support|NONE|ABANDON|1|1|9
""")
    assert [c.record.outcome for c in calls] == [Outcome.ABANDONED]
    assert stats.skipped == {f"{BAD_DATA} (CONNECT)": 1, f"{BAD_DATA} (ATTENDEDTRANSFER)": 1,
                             f"{UNKNOWN_EVENT} (MYCUSTOMEVENT)": 1}


EVENTS = ("ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON",
          "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "JOINEMPTY", "FULL", "RINGNOANSWER",
          "RINGCANCELED", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER", "AGENTDUMP",
          "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL",
          "CONFIGRELOAD", "QUEUESTART", "DID", "SYSCOMPAT", "AGENTLOGIN", "AGENTLOGOFF",
          "WITHDRAW", "BOGUS")
fields = st.one_of(st.integers(-3, 60).map(str), st.sampled_from(["", "x", "PAUSED", "ACW",
                                                                  "BRIDGE", "LINK", "APP"]))
lines = st.tuples(st.integers(0, 120), st.sampled_from(["c1", "c2", "NONE"]),
                  st.sampled_from(["support", "sales", "NONE"]),
                  st.sampled_from(["Alice", "Bob", "NONE"]), st.sampled_from(EVENTS),
                  st.lists(fields, max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40))
def test_any_sequence_of_lines_imports_without_raising(
    given_lines: list[tuple[int, str, str, str, str, list[str]]],
) -> None:
    text = "\n".join("|".join([str(T + t), c, q, a, e, *data])
                     for t, c, q, a, e, data in sorted(given_lines, key=lambda x: x[0]))
    calls, intervals, stats = run(text or "x", TrackerConfig(wrapuptime={"sales": 6.0}))
    assert stats.lines == len(given_lines)
    for call in calls:
        r = call.record
        assert r.wait_s is None or r.wait_s >= 0
        assert r.talk_s is None or r.talk_s >= 0
    for interval in intervals:
        assert interval.ended_at is not None and interval.ended_at >= interval.started_at


def test_the_trace_queue_logs_read_the_same_through_the_old_reader() -> None:
    for name in TRACE_NAMES:
        log = trace_dir(name) / "queue_log"
        assert sum(1 for _ in read_queue_log(log)) == len(log.read_text().splitlines())
