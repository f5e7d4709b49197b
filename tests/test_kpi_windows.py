"""Windows and report intervals in the PBX's time zone, clock changes included."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kpi.windows import (
    INTERVALS,
    WindowError,
    day_window,
    intervals,
    live_window,
    parse_date,
    parse_interval,
)

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def at(text: str, tz: ZoneInfo) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def test_today_starts_at_local_midnight() -> None:
    now = at("2026-11-24 09:30", BERLIN)
    today = live_window("today", now, BERLIN)
    assert today.start == at("2026-11-24 00:00", BERLIN) and today.end == now


def test_rolling_windows_end_now() -> None:
    now = at("2026-11-24 00:05", BERLIN)
    assert live_window("15m", now, BERLIN).start == now - 900
    assert live_window("60m", now, BERLIN).start == now - 3600


def test_unknown_window_names_the_choices() -> None:
    with pytest.raises(WindowError, match="today, 15m, 60m"):
        live_window("5m", 0.0, BERLIN)


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25),
                                            ("2026-11-24", 24)])
def test_a_day_is_as_long_as_the_clock_says(day: str, hours: int) -> None:
    window = day_window(dt.date.fromisoformat(day), BERLIN)
    assert window.end - window.start == hours * 3600
    date = dt.date.fromisoformat(day)
    quarters = list(intervals(date, date, BERLIN, INTERVALS["15m"]))
    assert len(quarters) == hours * 4
    assert quarters[0].start == window.start and quarters[-1].end == window.end


def test_intervals_start_on_local_quarter_hours_with_half_hour_offsets() -> None:
    day = dt.date(2026, 11, 24)
    first, second = list(intervals(day, day, KOLKATA, INTERVALS["15m"]))[:2]
    assert first.name == "2026-11-24 00:00" and second.name == "2026-11-24 00:15"
    assert first.start == at("2026-11-24 00:00", KOLKATA)


def test_daily_intervals_are_labelled_by_date() -> None:
    days = list(intervals(dt.date(2026, 11, 1), dt.date(2026, 11, 3), BERLIN, INTERVALS["1d"]))
    assert [d.name for d in days] == ["2026-11-01", "2026-11-02", "2026-11-03"]


def test_bad_interval_date_and_range_name_the_fix() -> None:
    with pytest.raises(WindowError, match="15m, 30m, 1h, 1d"):
        parse_interval("2h")
    with pytest.raises(WindowError, match="YYYY-MM-DD"):
        parse_date("24/11/2026")
    with pytest.raises(WindowError, match="not a calendar date"):
        parse_date("2026-02-30")
    with pytest.raises(WindowError, match="--from on or before --to"):
        list(intervals(dt.date(2026, 11, 2), dt.date(2026, 11, 1), BERLIN, INTERVALS["1h"]))
