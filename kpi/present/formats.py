"""How figures are written: for people (durations, percentages, colours) and for files.

One place for it, so that the wallboard, the report tables, the charts, the CSV and the
MQTT payloads write a figure the same way. Nothing here computes a KPI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kpi.alerts import Alert, AlertKind

NO_DATA = "-"
"""What a figure without data (a ratio with nothing to divide, say) is written as."""
SL_POOR_SHARE = 0.75
"""A service level below this share of its target is shown red; between it and the target,
yellow. For the common 80 % target, red begins below 60 %."""


def duration(seconds: float | None) -> str:
    """A duration as ``m:ss`` (``h:mm:ss`` from an hour on); ``-`` for no data."""
    if seconds is None:
        return NO_DATA
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(ratio: float | None, decimals: int = 0) -> str:
    """A ratio as a percentage with ``decimals`` digits after the point; ``-`` for no data."""
    return NO_DATA if ratio is None else f"{ratio * 100:.{decimals}f}%"


def sl_style(ratio: float | None, target: float) -> str:
    """The colour of a service level against the target it is measured by."""
    if ratio is None:
        return ""
    if ratio >= target:
        return "green"
    return "yellow" if ratio >= target * SL_POOR_SHARE else "red"


def rounded(name: str, value: object, ratio_digits: int = 4) -> object:
    """A figure rounded for a file or a payload, by what its name says it is.

    Durations (``*_s``) to 0.1 s, minutes and money to 0.01, moments (``*_at``) to 1 ms,
    other fractional figures (ratios) to ``ratio_digits`` decimals; counts as they are.
    """
    if not isinstance(value, float):
        return value
    if name.endswith("_s"):
        return round(value, 1)
    if name.endswith("_minutes") or name == "cost_per_call":
        return round(value, 2)
    if name.endswith("_at"):
        return round(value, 3)
    return round(value, ratio_digits)


_DAY_AND_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}.*)")


def short_labels(labels: Sequence[str]) -> list[str]:
    """Interval labels (``2026-11-24 01:15``) without the day they all share (the title
    says it): ``01:15``. Labels of days, or of intervals on several days, stay whole."""
    parts = [_DAY_AND_TIME.fullmatch(label) for label in labels]
    if not all(parts) or len({p[1] for p in parts if p}) != 1:
        return list(labels)
    return [p[2] for p in parts if p]


def alert_text(alert: Alert) -> str:
    """A raised alert in words: the queue, what is wrong, and the line it crossed."""
    value, threshold = alert.value, alert.threshold
    match alert.kind:
        case AlertKind.LONGEST_WAIT:
            what = f"longest wait {duration(value)} (alert at {duration(threshold)})"
        case AlertKind.WAITING:
            count = int(value or 0)
            what = f"{count} caller{'' if count == 1 else 's'} waiting (alert at {int(threshold)})"
        case AlertKind.SERVICE_LEVEL:
            what = f"service level {percent(value)} (alert below {percent(threshold)})"
        case AlertKind.NO_AGENT_AVAILABLE:
            what = "callers wait and no agent is available"
        case AlertKind.AGENT_PAUSED:
            what = f"paused over {duration(threshold)}: {', '.join(alert.agents)}"
    return f"{alert.queue}: {what}"
