"""The calls of a stretch of time, one :class:`~kpi.definitions.CallTable` per queue.

A report computes the KPIs of each of its periods, and the KPI tables those of each
interval of a day, from the calls a period can count: those that entered in it and
those whose after-call work ended in it. :class:`QueueCalls` holds them for a stretch
of time holding one or more periods (a day, a report's whole range), each call
classified once, and answers the call KPIs and the agent KPIs of any period within it
with the definitions (:func:`~kpi.definitions.table_kpis`,
:func:`~kpi.occupancy.agents_kpis`).
"""

from __future__ import annotations

from collections.abc import Iterable

from collector.facts import AgentInterval, CallRecord
from kpi.definitions import CallKpis, CallTable, handled_at, table_kpis
from kpi.occupancy import AgentKpis, agents_kpis, handled_by_agent
from kpi.repeat_callers import repeat_verdicts
from kpi.settings import KpiSettings
from kpi.windows import Window


class QueueCalls:
    """Calls in order of entry, one table per queue, classified with ``settings``."""

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.calls: list[CallRecord] = []
        """Every call added, in order."""
        self._tables: dict[str, CallTable] = {}

    @property
    def queues(self) -> tuple[str, ...]:
        """The queues with calls, by name."""
        return tuple(sorted(self._tables))

    def add(self, call: CallRecord, again: bool | None = None) -> None:
        """Add a call; ``again``: whether its caller called again (read for an answered
        call; see :func:`~kpi.repeat_callers.repeat_verdicts`)."""
        self.calls.append(call)
        table = self._tables.get(call.queue)
        if table is None:
            table = self._tables[call.queue] = CallTable(self.settings)
        row = table.add(call)
        if again is not None and table.answered(row):
            table.set_again(row, again)

    def call_kpis(self, period: Window, queue: str | None = None) -> CallKpis:
        """The call KPIs of ``queue`` (``None``: every queue together) over ``period``."""
        if queue is None:
            chosen = list(self._tables.values())
        else:
            chosen = [self._tables[queue]] if queue in self._tables else []
        return table_kpis(chosen, period, self.settings)

    def agent_kpis(self, period: Window, intervals: Iterable[AgentInterval],
                   ) -> tuple[AgentKpis, ...]:
        """Each agent's KPIs over ``period``: the calls it handled here, its time from
        ``intervals`` (those overlapping the period, or more)."""
        return agents_kpis(handled_by_agent(self._tables.values(), period), intervals, period)


def queue_calls(window: Window, calls: Iterable[CallRecord], settings: KpiSettings,
                ) -> QueueCalls:
    """The calls of ``calls`` (in order of entry) that entered or were handled in
    ``window``, with their callers' repeat calls among ``calls``."""
    found = QueueCalls(settings)
    for call, again in repeat_verdicts(calls, settings.repeat_window_s):
        done = handled_at(call)
        if call.entered_at in window or (done is not None and done in window):
            found.add(call, again)
    return found
