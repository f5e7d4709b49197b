"""The Prometheus endpoint scraped over real HTTP, and the Grafana dashboards shipped for it."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import urllib.request
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.facts import CallRecord
from collector.replay import replay_to_database
from collector.tracker import Tracker
from kpi.web.settings import WebConfig
from queuepulse.kpi_tables import refresh_file
from tests.test_web import TraceBoard
from tests.traces import TRACE_CONFIG, trace_dir

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "docs" / "grafana"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """Every sample of the endpoint, parsed by prometheus_client's own parser."""
    with urllib.request.urlopen(url + "metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@cache
def trace_scrape() -> tuple[Samples, dict[str, Any]]:
    """A scrape of the board of mixed-a's first 4,000 frames, with what the board says."""
    with TraceBoard(WebConfig(port=0), frames=4000) as served:
        facts = [f for f in served.replayed if isinstance(f, CallRecord)]
        assert served.server is not None
        served.server.counter.add(facts)
        snapshot = served.snapshot()
        samples = scrape(served.url)
    return samples, {"snapshot": snapshot, "calls": facts}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_the_scrape_carries_the_boards_figures() -> None:
    samples, board = trace_scrape()
    snapshot = board["snapshot"]
    for queue in (q for q in snapshot.queues if q.queue is not None):
        assert value(samples, "queuepulse_calls_waiting", queue=queue.queue) == queue.waiting
        assert value(samples, "queuepulse_agents", queue=queue.queue,
                     state="talking") == queue.agents.talking
    today = {k.queue: k for k in snapshot.kpis if k.window.name == "today"}
    for queue in ("sales", "support"):
        kpis = today[queue].calls
        assert value(samples, "queuepulse_offered_calls", queue=queue,
                     window="today") == kpis.offered
        assert value(samples, "queuepulse_service_level_ratio", queue=queue,
                     window="today") == pytest.approx(kpis.service_level)
        assert value(samples, "queuepulse_service_level_target_ratio", queue=queue) == 0.8
    counted = Counter((c.queue, c.outcome.value) for c in board["calls"])
    for (queue, outcome), count in counted.items():
        assert value(samples, "queuepulse_calls_total", queue=queue, outcome=outcome) == count
    for agent in snapshot.agents:
        states = {labels: v for (name, labels), v in samples.items()
                  if name == "queuepulse_agent_state" and ("interface", agent.interface) in labels}
        assert sorted(states.values()) == [0.0] * (len(states) - 1) + [1.0]
        assert value(samples, "queuepulse_agent_state", interface=agent.interface,
                     agent=agent.name, state=agent.state.value) == 1.0


def test_metric_names_follow_the_prometheus_conventions() -> None:
    samples, _ = trace_scrape()
    names = {name for name, _ in samples}
    assert all(re.fullmatch(r"queuepulse_[a-z_]+", n) for n in names)
    assert "queuepulse_calls_total" in names
    assert [n for n in names if n.endswith("_total")] == ["queuepulse_calls_total"]
    assert not any(n.endswith(("_s", "_ms", "_percent")) for n in names)


def dashboard(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / name).read_text(encoding="utf-8"))
    return loaded


def targets(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for panel in board["panels"] for t in panel["targets"]]


def test_the_prometheus_dashboard_uses_only_metrics_the_endpoint_exposes() -> None:
    samples, _ = trace_scrape()
    exposed = {name for name, _ in samples}
    board = dashboard("queuepulse-prometheus.json")
    queries = [t["expr"] for t in targets(board)] + [
        v["query"]["query"] for v in board["templating"]["list"]]
    used = {name for q in queries for name in re.findall(r"queuepulse_[a-z_]+", q)}
    assert len(used) >= 10
    assert sorted(used - exposed) == []


@pytest.fixture(scope="module")
def kpi_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("grafana") / "queuepulse.sqlite"
    replay_to_database(trace_dir("mixed-a") / "ami.jsonl", str(db), Tracker(TRACE_CONFIG))
    refresh_file(str(db))
    return db


def test_every_sqlite_panel_query_runs_and_finds_the_traces_rows(kpi_db: Path) -> None:
    board = dashboard("queuepulse-sqlite.json")
    with contextlib.closing(sqlite3.connect(f"file:{kpi_db}?mode=ro", uri=True)) as conn:
        first, last = conn.execute("SELECT min(entered_at), max(entered_at) FROM calls").fetchone()
        for target in targets(board):
            assert target["datasource"]["type"] == "frser-sqlite-datasource"
            sql = (target["queryText"].replace("$__unixEpochFrom()", str(int(first) - 3600))
                   .replace("$__unixEpochTo()", str(int(last) + 3600)))
            assert "$" not in sql, sql
            rows = conn.execute(sql).fetchall()
            assert rows, f"{target['refId']}: no rows\n{sql}"
            if target["queryType"] == "time series":
                assert "time" in target["timeColumns"]
                names = [d[0] for d in conn.execute(sql).description]
                assert "time" in names


def test_the_page_documents_exactly_the_metrics_exposed() -> None:
    samples, _ = trace_scrape()
    exposed = {name for name, _ in samples}
    text = (ROOT / "docs" / "grafana.md").read_text(encoding="utf-8")
    table = {name for row in re.findall(r"^\| (`queuepulse_.+?) \|", text, re.MULTILINE)
             for name in re.findall(r"`(queuepulse_[a-z_]+)`", row)}
    assert sorted(table ^ exposed) == []
