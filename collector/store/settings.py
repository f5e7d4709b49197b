"""Where facts are stored and for how long: the ``[database]`` settings."""

from __future__ import annotations

from dataclasses import dataclass

RAW_EVENTS = ("used", "all", "none")
"""What ``database.raw_events`` may say: store the AMI frames the tracker used (the
default), every event frame received, or none."""


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """Where facts are stored, for how long, and how soon they (and the KPI tables) are on
    disk."""

    path: str = "queuepulse.sqlite"
    retention_days: int = 0
    events_retention_days: int = 30
    raw_events: str = "used"
    commit_interval_s: float = 0.5
    kpi_interval_s: float = 60.0
