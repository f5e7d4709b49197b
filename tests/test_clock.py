"""The PBX's clock as the frames tell it: stamps kept, untimed frames and bad stamps put on it."""

from __future__ import annotations

import math

import pytest

from collector.clock import AHEAD_S, BEHIND_S, SAMPLES, PbxClock

START = 1_800_000_000.0


def steady(clock: PbxClock, skew: float, frames: int = 50, every: float = 1.0,
           delay: float = 0.002) -> float:
    """Frames stamped on a PBX clock ``skew`` ahead of the collector's, arriving ``delay``
    late; the collector time of the last arrival."""
    arrived = START
    for n in range(frames):
        arrived = START + n * every
        dated = clock.date(arrived - delay + skew, arrived)
        assert dated.problem is None
    return arrived


@pytest.mark.parametrize("skew", [-10.0, 0.0, 10.0])
def test_a_frame_without_a_stamp_is_put_on_the_pbx_clock(skew: float) -> None:
    clock = PbxClock()
    last = steady(clock, skew)
    # a QueueStatus answer arriving a second later happened a second after the last event
    assert clock.date(None, last + 1.0).at == pytest.approx(last + 1.0 + skew, abs=0.01)


def test_before_any_stamp_a_frame_has_its_arrival() -> None:
    assert PbxClock().date(None, START).at == START


def test_stamps_are_kept_as_they_are() -> None:
    clock = PbxClock()
    last = steady(clock, -7.5)
    assert clock.date(last - 7.4, last + 0.1).at == last - 7.4


def test_one_frame_an_hour_ahead_neither_counts_nor_moves_the_clock() -> None:
    clock = PbxClock()
    last = steady(clock, 0.0)
    odd = clock.date(last + 3600.0, last + 1.0)
    assert odd.problem is not None and "ahead" in odd.problem
    assert odd.at == pytest.approx(last + 1.0, abs=0.01)
    after = clock.date(last + 2.0, last + 2.0)
    assert after.problem is None and after.at == last + 2.0
    assert clock.date(None, last + 3.0).at == pytest.approx(last + 3.0, abs=0.01)


@pytest.mark.parametrize("stamp", [math.inf, -math.inf, math.nan])
def test_a_stamp_that_is_no_number_gets_the_estimate(stamp: float) -> None:
    clock = PbxClock()
    last = steady(clock, 4.0)
    dated = clock.date(stamp, last + 1.0)
    assert dated.problem is not None and math.isfinite(dated.at)
    assert dated.at == pytest.approx(last + 5.0, abs=0.01)


def test_a_frame_sent_again_minutes_later_keeps_its_stamp_but_hours_is_refused() -> None:
    clock = PbxClock()
    last = steady(clock, 0.0)
    stale = clock.date(last - 120.0, last + 1.0)
    assert stale.problem is None and stale.at == last - 120.0
    ancient = clock.date(last - BEHIND_S - 3600.0, last + 1.0)
    assert ancient.problem is not None and "behind" in ancient.problem


def test_a_pbx_clock_set_forward_is_followed_after_a_few_frames() -> None:
    clock = PbxClock()
    last = steady(clock, 0.0)
    step = AHEAD_S + 60.0
    verdicts = [clock.date(last + n + step, last + n).problem is None for n in range(1, SAMPLES)]
    # refused until most recent frames agree; then the new clock is the clock
    assert not verdicts[0] and all(verdicts[SAMPLES // 2 + 1:])
    assert clock.date(None, last + SAMPLES + 1.0).at == pytest.approx(
        last + SAMPLES + 1.0 + step, abs=0.01)


def test_frames_held_up_behind_others_do_not_drag_the_clock_back() -> None:
    clock = PbxClock()
    last = steady(clock, 0.0)
    # a backlog: a burst of frames read 3 s late
    for n in range(SAMPLES):
        clock.date(last + n * 0.01, last + 3.0)
    assert clock.date(None, last + 3.0).at == pytest.approx(last + 3.0, abs=0.01)
