"""KPI windows: which span of time a figure covers, in the PBX's own time zone.

A window is a half-open span ``[start, end)`` of UTC epoch seconds. ``today`` starts at
local midnight in ``pbx.timezone``; the rolling windows end now; report intervals are cut
from each local midnight, so a 15-minute interval always starts on a local quarter hour
and a day is 23 or 25 hours long when the clocks change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from collector.errors import UserError

LIVE_WINDOWS = ("today", "15m", "60m")
"""The windows the live path publishes, in the order they are published."""

_ROLLING_S = {"15m": 900.0, "60m": 3600.0}
_DAY_S = 86400.0


class WindowError(UserError):
    """A window, interval or date that queuepulse cannot read."""


@dataclass(frozen=True, slots=True)
class Window:
    """A named span of time ``[start, end)`` in UTC epoch seconds."""

    name: str
    start: float
    end: float

    def __contains__(self, at: float) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class IntervalSize:
    """A report interval: ``15m``, ``30m``, ``1h`` or ``1d``."""

    label: str
    seconds: float

    @property
    def whole_days(self) -> bool:
        """Whether intervals are local calendar days rather than fixed lengths."""
        return self.seconds >= _DAY_S


INTERVALS = {
    "15m": IntervalSize("15m", 900.0),
    "30m": IntervalSize("30m", 1800.0),
    "1h": IntervalSize("1h", 3600.0),
    "1d": IntervalSize("1d", _DAY_S),
}


def parse_interval(text: str) -> IntervalSize:
    """The report interval named by ``text`` (``15m``, ``30m``, ``1h``, ``1d``)."""
    size = INTERVALS.get(text.strip().lower())
    if size is None:
        raise WindowError(f"unknown interval {text!r}. Use one of {', '.join(INTERVALS)}.")
    return size


def parse_date(text: str) -> dt.date:
    """A calendar date written ``YYYY-MM-DD``."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise WindowError(f"cannot read date {text!r}. Write it as YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as error:
        raise WindowError(f"{text!r} is not a calendar date ({error}). Check the day.") from error


def local_date(at: float, tz: ZoneInfo) -> dt.date:
    """The calendar date in ``tz`` at the instant ``at``."""
    return dt.datetime.fromtimestamp(at, tz).date()


def local_midnight(day: dt.date, tz: ZoneInfo) -> float:
    """The instant a local calendar day starts (the first moment that exists that day)."""
    naive = dt.datetime.combine(day, dt.time())
    start = naive.replace(tzinfo=tz).timestamp()
    # midnight itself can be skipped by a clock change: take the first instant of the day
    if local_date(start, tz) != day:
        start = dt.datetime.combine(day, dt.time(1)).replace(tzinfo=tz).timestamp()
    return start


def day_window(day: dt.date, tz: ZoneInfo) -> Window:
    """One local calendar day."""
    return Window(day.isoformat(), local_midnight(day, tz),
                  local_midnight(day + dt.timedelta(days=1), tz))


def live_window(name: str, at: float, tz: ZoneInfo) -> Window:
    """A live window ending at ``at``: ``today`` (since local midnight), ``15m`` or ``60m``."""
    if name == "today":
        return Window(name, local_midnight(local_date(at, tz), tz), at)
    seconds = _ROLLING_S.get(name)
    if seconds is None:
        raise WindowError(f"unknown window {name!r}. Use one of {', '.join(LIVE_WINDOWS)}.")
    return Window(name, at - seconds, at)


def earliest_live_start(at: float, tz: ZoneInfo) -> float:
    """The start of the longest live window at ``at``: what the live KPIs must remember."""
    return min(live_window(name, at, tz).start for name in LIVE_WINDOWS)


def interval_label(start: float, tz: ZoneInfo, size: IntervalSize,
                   clock_changes: bool = False) -> str:
    """How an interval is shown: the local day, or the local day and start time.

    On a day the clocks change (``clock_changes``) the time carries its UTC offset, since
    an hour of it is skipped or repeated: ``2026-10-25 02:00+02:00``, then ``02:00+01:00``.
    """
    local = dt.datetime.fromtimestamp(start, tz)
    if size.whole_days:
        return local.date().isoformat()
    label = local.strftime("%Y-%m-%d %H:%M")
    if clock_changes:
        offset = int(local.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
        hours, minutes = divmod(abs(offset), 60)
        label += f"{'+' if offset >= 0 else '-'}{hours:02d}:{minutes:02d}"
    return label


def check_range(first: dt.date, last: dt.date) -> None:
    """Refuse a range of days that ends before it starts."""
    if last < first:
        raise WindowError(f"the range ends ({last}) before it starts ({first}). "
                          "Give --from on or before --to.")


def intervals(first: dt.date, last: dt.date, tz: ZoneInfo, size: IntervalSize) -> Iterator[Window]:
    """The report intervals covering local days ``first`` to ``last`` inclusive.

    Each local day is cut into ``size`` pieces starting at its midnight, so the last piece
    of a day shortened by a clock change ends at the next midnight.
    """
    check_range(first, last)
    day = first
    while day <= last:
        whole = day_window(day, tz)
        if size.whole_days:
            yield Window(interval_label(whole.start, tz, size), whole.start, whole.end)
        else:
            changes = (whole.end - whole.start) != _DAY_S or (
                dt.datetime.fromtimestamp(whole.start, tz).utcoffset()
                != dt.datetime.fromtimestamp(whole.end - 1, tz).utcoffset())
            start = whole.start
            while start < whole.end:
                end = min(start + size.seconds, whole.end)
                yield Window(interval_label(start, tz, size, changes), start, end)
                start = end
        day += dt.timedelta(days=1)
