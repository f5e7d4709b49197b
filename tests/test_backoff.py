"""The one retry policy: capped exponential backoff with full jitter."""

from __future__ import annotations

import random

from collector.backoff import Backoff


def test_the_ceiling_doubles_from_the_first_delay_up_to_the_cap() -> None:
    backoff = Backoff(cap_s=30.0, first_s=1.0, jitter=lambda: 1.0)
    assert [backoff.next() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.attempt == 7


def test_each_delay_is_drawn_from_zero_up_to_its_ceiling() -> None:
    assert Backoff(cap_s=30.0, first_s=4.0, jitter=lambda: 0.0).next() == 0.0
    assert Backoff(cap_s=30.0, first_s=4.0, jitter=lambda: 0.25).next() == 1.0
    backoff = Backoff(cap_s=2.0, first_s=2.0, jitter=random.Random(7).random)
    delays = [backoff.next() for _ in range(500)]
    assert all(0.0 <= delay <= 2.0 for delay in delays)
    # full jitter: the whole range is used, not only its upper half
    assert min(delays) < 0.2 and max(delays) > 1.8


def test_a_success_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(cap_s=30.0, first_s=0.25, jitter=lambda: 1.0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert (backoff.attempt, backoff.next()) == (0, 0.25)


def test_a_first_delay_longer_than_the_cap_is_cut_to_the_cap() -> None:
    assert Backoff(cap_s=0.1, first_s=1.0, jitter=lambda: 1.0).next() == 0.1


def test_an_outage_of_any_length_keeps_the_delays_at_the_cap() -> None:
    backoff = Backoff(cap_s=3.0, first_s=0.25, jitter=lambda: 1.0)
    for _ in range(5000):  # 2.0 ** 1024 would overflow
        backoff.next()
    assert backoff.next() == 3.0
