"""Every call KPI definition, on tiny hand-made records."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.facts import CallRecord, Outcome
from kpi.definitions import CallKpis, call_kpis, percentile
from kpi.repeat_callers import CallerIndex
from kpi.settings import KpiSettings
from kpi.windows import Window
from queuepulse.config import parse_config
from queuepulse.kpi_settings import settings_from_config
from tests.kpi_records import answered, unanswered

WINDOW = Window("test", 0.0, 3600.0)
DEFAULTS = KpiSettings()


def kpis(calls: list[CallRecord], settings: KpiSettings = DEFAULTS,
         window: Window = WINDOW) -> CallKpis:
    return call_kpis(calls, window, settings, CallerIndex(calls))


def mixed_hour() -> list[CallRecord]:
    """Three answered (waits 5, 20, 25 s), one abandon at 10 s, a short abandon, a timeout."""
    return [
        answered(0, wait=5), answered(60, wait=20), answered(120, wait=25),
        unanswered(180, wait=10), unanswered(240, wait=2),
        unanswered(300, wait=45, outcome=Outcome.TIMEOUT),
    ]


def test_outcomes_are_counted_separately_and_add_up_to_offered() -> None:
    result = kpis([*mixed_hour(), unanswered(400, 3, Outcome.EXIT_KEY),
                   unanswered(500, 0, Outcome.EXIT_EMPTY), unanswered(600, 9, Outcome.UNKNOWN)])
    assert (result.offered, result.answered) == (9, 3)
    assert (result.abandoned, result.short_abandoned) == (1, 1)
    assert (result.timed_out, result.exit_key, result.exit_empty, result.unknown) == (1, 1, 1, 1)


def test_an_abandon_is_short_below_the_threshold_and_counted_from_it() -> None:
    result = kpis([unanswered(0, wait=4.99), unanswered(10, wait=5.0)])
    assert (result.short_abandoned, result.abandoned) == (1, 1)
    longer = kpis([unanswered(0, wait=4.99), unanswered(10, wait=5.0)],
                  KpiSettings(short_abandon_s=10))
    assert (longer.short_abandoned, longer.abandoned) == (2, 0)


def test_a_call_counts_in_the_window_it_entered() -> None:
    late = answered(3599.0, wait=30)
    assert kpis([late]).offered == 1
    assert kpis([late], window=Window("next", 3600.0, 7200.0)).offered == 0


def test_service_level_variants_exclude_short_abandons() -> None:
    result = kpis(mixed_hour())
    # answered within 20 s (inclusive): the 5 s and the 20 s calls; abandoned within 20 s: 1
    assert (result.answered_in_sl, result.abandoned_in_sl) == (2, 1)
    assert result.service_level_answered == pytest.approx(2 / 4)
    assert result.service_level_offered == pytest.approx(2 / 5)
    assert result.service_level_sl2 == pytest.approx(3 / 4)
    assert result.service_level == result.service_level_answered


@pytest.mark.parametrize("variant", ["answered", "offered", "sl2"])
def test_configured_variant_is_the_published_service_level(variant: str) -> None:
    result = kpis(mixed_hour(), KpiSettings(service_level_variant=variant))
    assert result.service_level == getattr(result, f"service_level_{variant}")


def test_a_queues_own_threshold_overrides_the_global_one() -> None:
    calls = [answered(0, wait=25, queue="sales"), answered(0, wait=25, queue="support")]
    settings = KpiSettings(service_level_s=20, queue_service_level_s={"sales": 30})
    assert kpis(calls, settings).answered_in_sl == 1


def test_no_calls_gives_no_ratios_rather_than_zero_or_hundred_percent() -> None:
    result = kpis([])
    assert result.offered == 0
    for name in ("service_level", "service_level_answered", "service_level_offered",
                 "service_level_sl2", "abandon_rate", "transfer_rate", "asa_s", "wait_p50_s",
                 "wait_p90_s", "longest_wait_s", "avg_talk_s", "avg_hold_s", "hold_rate",
                 "avg_acw_s", "aht_s", "repeat_rate", "fcr"):
        assert getattr(result, name) is None, name


def test_only_short_abandons_leave_service_level_and_abandon_rate_undefined() -> None:
    result = kpis([unanswered(0, wait=1), unanswered(5, wait=2)])
    assert result.service_level is None and result.service_level_offered is None
    assert result.abandon_rate is None


def test_only_timeouts_give_an_offered_service_level_of_zero_and_no_answered_one() -> None:
    result = kpis([unanswered(0, wait=45, outcome=Outcome.TIMEOUT)])
    assert result.service_level_answered is None and result.service_level_sl2 is None
    assert result.service_level_offered == 0.0


def test_asa_percentiles_and_longest_wait_come_from_answered_calls() -> None:
    result = kpis([*mixed_hour(), answered(700, wait=50)])
    assert result.asa_s == pytest.approx((5 + 20 + 25 + 50) / 4)
    assert (result.wait_p50_s, result.wait_p90_s, result.longest_wait_s) == (20, 50, 50)


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([1.0], 50, 1.0), ([1.0, 2.0], 50, 1.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
    ([4.0, 3.0, 2.0, 1.0], 90, 4.0), (list(map(float, range(1, 11))), 90, 9.0), ([], 50, None),
])
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


def test_handle_figures_count_when_after_call_work_ends() -> None:
    # entered in the first hour, talk and ACW run into the second
    call = answered(3500, wait=10, talk=80, hold=20, acw=30)
    first = kpis([call])
    second = kpis([call], window=Window("next", 3600.0, 7200.0))
    assert (first.offered, first.answered, first.handled, first.aht_s) == (1, 1, 0, None)
    assert (second.offered, second.handled) == (0, 1)
    assert second.aht_s == 130 and second.avg_acw_s == 30


def test_talk_hold_acw_averages_and_aht() -> None:
    calls = [answered(0, talk=60, hold=30, acw=10), answered(100, talk=120, hold=0, acw=20)]
    result = kpis(calls)
    assert (result.avg_talk_s, result.avg_hold_s, result.avg_acw_s) == (90, 15, 15)
    assert result.aht_s == pytest.approx(((60 + 30 + 10) + (120 + 20)) / 2)
    assert result.hold_rate == 0.5


def test_a_call_answered_but_never_seen_ending_is_answered_but_not_handled() -> None:
    lost = dataclasses.replace(answered(0, wait=12), outcome=Outcome.UNKNOWN, ended_at=None,
                               talk_s=None, hold_s=None, acw_s=None, handle_s=None)
    result = kpis([lost])
    assert (result.answered, result.unknown, result.handled, result.asa_s) == (1, 0, 0, 12)


def test_abandon_rate_leaves_short_abandons_out_of_the_denominator() -> None:
    result = kpis(mixed_hour())
    assert result.abandon_rate == pytest.approx(1 / (6 - 1))


def test_transfer_rate_is_transferred_over_answered() -> None:
    result = kpis([answered(0, transferred=True), answered(10), answered(20), answered(30)])
    assert result.transfer_rate == 0.25


def test_a_caller_who_calls_again_within_the_repeat_window_counts_against_fcr() -> None:
    first = answered(0, num="5550001")
    again = unanswered(3600 * 23, num="5550001")
    other = answered(100, num="5550002")
    too_late = answered(200, num="5550003")
    next_day = answered(200 + 3600 * 25, num="5550003")
    result = call_kpis([first, again, other, too_late, next_day], Window("d", 0, 3600),
                       DEFAULTS, CallerIndex([first, again, other, too_late, next_day]))
    assert result.repeat_rate == pytest.approx(1 / 3)
    assert result.fcr == pytest.approx(2 / 3)


def test_the_same_conversation_in_another_queue_is_not_a_repeat_call() -> None:
    first = answered(0, num="5550001", linkedid="L1")
    transferred_on = answered(100, num="5550001", queue="sales", linkedid="L1")
    assert kpis([first, transferred_on]).repeat_rate == 0.0


def test_anonymous_callers_are_left_out_of_the_repeat_rate() -> None:
    calls = [answered(0, num="anonymous"), answered(10, num="anonymous"), answered(20, num="")]
    assert kpis(calls).repeat_rate is None


def test_shorter_repeat_window_from_config() -> None:
    config = parse_config("[kpi]\nrepeat_window_h = 1\n[queues.sales]\nservice_level_s = 30\n")
    settings = settings_from_config(config)
    assert settings.repeat_window_s == 3600 and settings.threshold("sales") == 30
    calls = [answered(0, num="5550001"), answered(7200, num="5550001")]
    assert kpis(calls, settings).repeat_rate == 0.0


def test_trunk_minutes_are_wait_talk_and_hold_of_the_calls_entered() -> None:
    result = kpis([answered(0, wait=30, talk=60, hold=30, acw=100), unanswered(10, wait=60)])
    assert result.trunk_minutes == pytest.approx((120 + 60) / 60)


outcomes = st.sampled_from(list(Outcome))
records = st.one_of(
    st.builds(answered, st.floats(0, 7200), st.floats(0, 300), st.floats(0, 900),
              st.floats(0, 300), st.floats(0, 120), queue=st.sampled_from(["a", "b"]),
              num=st.sampled_from(["1", "2", "3", ""]), transferred=st.booleans()),
    st.builds(unanswered, st.floats(0, 7200), st.floats(0, 300), outcomes,
              queue=st.sampled_from(["a", "b"]), num=st.sampled_from(["1", "2", ""])),
)


@given(st.lists(records, max_size=30), st.sampled_from(["answered", "offered", "sl2"]),
       st.floats(0, 60))
def test_rates_stay_between_zero_and_one_and_outcomes_add_up(
    calls: list[CallRecord], variant: str, short_s: float
) -> None:
    settings = KpiSettings(service_level_variant=variant, short_abandon_s=short_s)
    result = kpis(calls, settings)
    for name in ("service_level", "service_level_answered", "service_level_offered",
                 "service_level_sl2", "abandon_rate", "transfer_rate", "hold_rate",
                 "repeat_rate", "fcr"):
        value = getattr(result, name)
        assert value is None or 0.0 <= value <= 1.0, (name, value)
    assert result.offered == (result.answered + result.abandoned + result.short_abandoned
                              + result.timed_out + result.exit_key + result.exit_empty
                              + result.unknown)
    assert result.answered_in_sl <= result.answered
    if result.asa_s is not None:
        assert result.wait_p50_s is not None and result.longest_wait_s is not None
        assert result.wait_p50_s <= result.longest_wait_s


def test_hold_rate_leaves_out_calls_whose_hold_was_not_observed() -> None:
    held = answered(0, hold=4.0)
    imported = dataclasses.replace(answered(60), hold_s=None, hold_count=0)
    assert kpis([held, imported]).hold_rate == 1.0
    assert kpis([imported]).hold_rate is None
