"""The thresholds and targets the KPI definitions read (``[kpi]`` and ``[queues.*]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SERVICE_LEVEL_VARIANTS = ("answered", "offered", "sl2")


DEFAULT_SERVICE_LEVEL_TARGET = 0.8
"""The service level aimed at unless configured: the common 80/20 call-center goal."""


@dataclass(frozen=True, slots=True)
class KpiSettings:
    """The thresholds the definitions use (``[kpi]`` and ``[queues.*]`` in the config)."""

    service_level_s: int = 20
    queue_service_level_s: Mapping[str, int] = field(default_factory=dict)
    service_level_target: float = DEFAULT_SERVICE_LEVEL_TARGET
    queue_service_level_target: Mapping[str, float] = field(default_factory=dict)
    service_level_variant: str = "answered"
    short_abandon_s: float = 5.0
    repeat_window_s: float = 24 * 3600.0
    callback_window_s: float = 24 * 3600.0
    agent_hourly: float = 0.0
    trunk_per_minute: float = 0.0

    @property
    def later_s(self) -> float:
        """How long after a call the calls and dials that change its figures may come:
        the repeat-caller window, or the callback window when longer."""
        return max(self.repeat_window_s, self.callback_window_s)

    def threshold(self, queue: str) -> int:
        """The service-level threshold of ``queue``: its own, else the global one."""
        return self.queue_service_level_s.get(queue, self.service_level_s)

    def target(self, queue: str | None) -> float:
        """The service level aimed at in ``queue`` (``None``: all queues), as a ratio."""
        if queue is None:
            return self.service_level_target
        return self.queue_service_level_target.get(queue, self.service_level_target)

    @property
    def costed(self) -> bool:
        """Whether cost rates are set, so that cost per call is reported."""
        return self.agent_hourly > 0 or self.trunk_per_minute > 0

