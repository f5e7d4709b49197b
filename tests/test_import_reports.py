"""Reports read imported history with the same functions, and to the same figures, as
the live collector's data of the same calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from collector.store.reads import read_calls, read_intervals
from kpi.definitions import CallKpis, call_kpis
from kpi.occupancy import AgentKpis, agent_kpis
from kpi.settings import KpiSettings
from kpi.windows import Window
from queuepulse.cli import main
from tests.traces import TRACE_CONFIG_TOML, TRACE_NAMES, trace_dir

EVERYTHING = Window("all", 0.0, 4e9)
COUNTS = ("offered", "answered", "abandoned", "timed_out", "exit_key", "exit_empty", "unknown",
          "transferred")
# counts against a threshold of whole seconds: queue_log truncates a wait of 20.3 s to 20
ROUNDED = ("short_abandoned", "answered_in_sl", "abandoned_in_sl")


def figures(tmp_path: Path, command: list[str]) -> tuple[CallKpis, dict[str, AgentKpis]]:
    """The call KPIs and per-agent figures of a trace stored by one command."""
    config = tmp_path / "queuepulse.toml"
    config.write_text(TRACE_CONFIG_TOML, encoding="utf-8")
    db_path = tmp_path / f"{command[0]}.sqlite"
    assert main([*command, "--db", str(db_path), "--config", str(config)]) == 0
    db = Database(db_path)
    calls = read_calls(db, EVERYTHING.start, EVERYTHING.end)
    intervals = read_intervals(db, EVERYTHING.start, EVERYTHING.end)
    agents = {a.name: a for a in agent_kpis(calls, intervals, EVERYTHING)}
    return call_kpis(calls, EVERYTHING, KpiSettings()), agents


def near_a_threshold(tmp_path: Path) -> int:
    """Live calls whose wait is less than a second above a threshold (5 s, 20 s)."""
    db = Database(tmp_path / "replay.sqlite")
    calls = read_calls(db, EVERYTHING.start, EVERYTHING.end)
    settings = KpiSettings()
    return sum(1 for c in calls if c.wait_s is not None and any(
        0 < c.wait_s - t < 1 for t in (settings.short_abandon_s, settings.service_level_s)))


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_call_kpis_over_imported_history_equal_those_over_live_data(
    name: str, tmp_path: Path
) -> None:
    live, _ = figures(tmp_path, ["replay", str(trace_dir(name) / "ami.jsonl")])
    imported, _ = figures(tmp_path, ["import-queue-log", str(trace_dir(name) / "queue_log")])
    for count in COUNTS:
        assert getattr(imported, count) == getattr(live, count), count
    rounded = sum(abs(getattr(imported, count) - getattr(live, count)) for count in ROUNDED)
    assert rounded <= near_a_threshold(tmp_path)
    assert live.asa_s is not None and imported.asa_s is not None
    assert abs(imported.asa_s - live.asa_s) <= 1.0
    # queue_log's calltime includes hold: imported talk is live talk + hold
    assert live.avg_talk_s is not None and imported.avg_talk_s is not None
    assert abs(imported.avg_talk_s - live.avg_talk_s - (live.avg_hold_s or 0.0)) <= 1.0


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_each_agent_handles_the_same_calls_in_imported_history(
    name: str, tmp_path: Path
) -> None:
    _, live = figures(tmp_path, ["replay", str(trace_dir(name) / "ami.jsonl")])
    _, imported = figures(tmp_path, ["import-queue-log", str(trace_dir(name) / "queue_log")])
    assert set(imported) == set(live)
    for agent, figure in imported.items():
        assert figure.handled == live[agent].handled, agent
        assert abs(figure.talk_s - live[agent].talk_s - live[agent].hold_s) <= figure.handled
        assert figure.logged_in_s > 0
