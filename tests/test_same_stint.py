"""One rule for a second record of a stored stint, whoever writes it: the record that knows
more of the stint stays, so a record that knows less never replaces one that knows more."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from collector.facts import AcwSource, CallRecord, Outcome
from collector.overlap import SAME_STINT_S, Completeness, completeness, replaces
from collector.store.opening import writing
from collector.store.writer import Writer
from collector.store.writes import write_facts
from queuepulse.cli import main
from tests.kpi_records import answered, unanswered
from tests.traces import TRACE_CONFIG_TOML, final_records, replayed_facts, trace_dir

TIMINGS = ("answered_at", "ended_at", "wait_s", "talk_s", "hold_s", "acw_s", "handle_s")


def known(call: CallRecord, source: str = "live") -> Completeness:
    """What the record knows, as every writer judges it."""
    return completeness(call.outcome, call.ended_at, call.acw_s,
                        [getattr(call, name) for name in TIMINGS],
                        observed_live=source != "queue_log")


def end_not_seen(call: CallRecord) -> CallRecord:
    """The record the live collector makes of ``call`` when it did not see the call end."""
    return dataclasses.replace(call, outcome=Outcome.UNKNOWN, ended_at=None, talk_s=None,
                               hold_s=None, acw_s=None, acw_source=AcwSource.NONE,
                               handle_s=None, end_reason=None)


def stored(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT uniqueid, outcome, source FROM calls "
                            "ORDER BY entered_at, uniqueid").fetchall()


# -- the rule ------------------------------------------------------------------------------


completenesses = st.builds(Completeness, st.booleans(), st.booleans(), st.booleans(),
                           st.booleans(), st.integers(0, 7))


@given(completenesses, completenesses)
def test_of_two_records_of_a_stint_the_one_that_knows_more_stays(
    first: Completeness, second: Completeness
) -> None:
    assert replaces(first, second) or replaces(second, first)
    if first != second:
        assert replaces(first, second) != replaces(second, first)


def test_an_unknown_end_never_replaces_an_answered_record() -> None:
    call = answered(1000.0)
    assert not replaces(known(end_not_seen(call)), known(call))
    assert replaces(known(call), known(end_not_seen(call)))


def test_queue_log_never_replaces_what_the_live_collector_saw_end() -> None:
    call = answered(1000.0, acw=5.0)
    history = dataclasses.replace(call, talk_s=60.0, hold_s=None, entered_at=1000.0)
    assert not replaces(known(history, "queue_log"), known(call, "live"))
    undecided = dataclasses.replace(call, acw_s=None, handle_s=None)
    assert not replaces(known(history, "queue_log"), known(undecided, "live"))


def test_queue_log_completes_a_live_record_whose_end_was_not_seen() -> None:
    call = answered(1000.0)
    assert replaces(known(call, "queue_log"), known(end_not_seen(call), "live"))


def test_a_record_with_fewer_timings_never_replaces_one_with_more() -> None:
    call = unanswered(1000.0)
    assert not replaces(known(dataclasses.replace(call, wait_s=None)), known(call))


def test_an_equal_record_replaces_the_stored_one_as_the_newer_derivation() -> None:
    call = answered(1000.0)
    assert replaces(known(dataclasses.replace(call, acw_s=9.0)), known(call))


# -- every writer follows it ----------------------------------------------------------------


def test_a_stale_join_sent_again_after_the_call_was_stored_leaves_it_answered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    call = answered(1000.25)
    # the join seen again: the same entry, or one a snapshot dated to the second
    stale = [end_not_seen(call), end_not_seen(dataclasses.replace(call, entered_at=1000.0))]

    async def body() -> None:
        async with Writer(str(path), commit_interval_s=0.05) as writer:
            writer.add_facts([call])
            await writer.flush()
            for record in stale:
                writer.add_facts([record])
                await writer.flush()

    asyncio.run(body())
    assert stored(path) == [(call.uniqueid, "answered", "live")]


def test_entries_further_apart_than_the_tolerance_are_two_stints(tmp_path: Path) -> None:
    call = answered(1000.0)
    later = end_not_seen(dataclasses.replace(call, entered_at=1000.0 + SAME_STINT_S + 0.5))
    with writing(str(tmp_path / "q.sqlite")) as db:
        write_facts(db, [call, later], source="replay")
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (2,)


def test_a_live_record_and_an_import_keep_what_knows_more_whichever_comes_first(
    tmp_path: Path,
) -> None:
    facts = replayed_facts("smoke")
    calls = final_records(facts)
    lost = next(c for c in calls if c.outcome is Outcome.ANSWERED)
    # the live collector was down when this call ended: its record does not know the end
    live = [end_not_seen(f) if isinstance(f, CallRecord) and f == lost else f for f in facts
            if not isinstance(f, CallRecord) or f in calls]
    config = tmp_path / "queuepulse.toml"
    config.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    queue_log = str(trace_dir("smoke") / "queue_log")

    first_live = tmp_path / "live-first.sqlite"
    with writing(str(first_live)) as db:
        write_facts(db, live, source="live")
    assert main(["import-queue-log", queue_log, "--db", str(first_live),
                 "--config", str(config)]) == 0
    first_history = tmp_path / "history-first.sqlite"
    assert main(["import-queue-log", queue_log, "--db", str(first_history),
                 "--config", str(config)]) == 0
    with writing(str(first_history)) as db:
        write_facts(db, live, source="live")

    for path in (first_live, first_history):
        rows = stored(path)
        assert len(rows) == len(calls)
        sources = {uid: source for uid, _, source in rows}
        assert sources.pop(lost.uniqueid) == "queue_log"
        assert set(sources.values()) == {"live"}
        assert "unknown" not in {outcome for _, outcome, _ in rows}


def test_queue_logs_abandon_never_replaces_a_caller_the_pbx_dropped(tmp_path: Path) -> None:
    # lab-reconnect: Asterisk restarted while four callers waited; queue_log logs them
    # ABANDON, the live collector saw the PBX drop them
    facts = replayed_facts("lab-reconnect")
    dropped = {c.uniqueid for c in final_records(facts) if c.end_reason == "pbx_restart"
               and c.outcome is Outcome.UNKNOWN}
    path = tmp_path / "q.sqlite"
    with writing(str(path)) as db:
        write_facts(db, facts, source="live")
    assert main(["import-queue-log", str(trace_dir("lab-reconnect") / "queue_log"),
                 "--db", str(path)]) == 0
    rows = {uid: (outcome, source) for uid, outcome, source in stored(path)}
    assert len(dropped) == 4
    assert {rows[uid] for uid in dropped} == {("unknown", "live")}
