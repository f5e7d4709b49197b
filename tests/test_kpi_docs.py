"""docs/kpis.md defines every KPI queuepulse computes and every setting they use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kpi.definitions import CallKpis
from kpi.live_state import AgentCounts, QueueLive
from kpi.occupancy import AgentKpis
from queuepulse.config import CostConfig, KpiConfig

DOC = (Path(__file__).resolve().parents[1] / "docs" / "kpis.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", [CallKpis, AgentKpis, QueueLive, AgentCounts])
def test_every_kpi_field_is_defined_in_the_docs(kind: type) -> None:
    fields = {f.name for f in dataclasses.fields(kind)} - {"queue", "at", "interface", "name"}
    missing = sorted(f for f in fields if f"`{f}`" not in DOC)
    assert missing == []


def test_every_kpi_setting_is_documented() -> None:
    keys = [f"kpi.{f.name}" for f in dataclasses.fields(KpiConfig) if f.name != "cost"]
    keys += [f"kpi.cost.{f.name}" for f in dataclasses.fields(CostConfig)]
    assert [k for k in keys if f"`{k}`" not in DOC] == []
