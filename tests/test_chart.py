"""``queuepulse report --chart``: the report's own figures, drawn as SVG and read back."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest
from sqlite_utils import Database

from collector.cli import main
from collector.commands.replay import replay_to_database
from collector.config import parse_config
from collector.tracker import Tracker
from kpi.chart import axis_step
from kpi.definitions import settings_from_config
from kpi.report import Report, build_report
from kpi.windows import parse_date, parse_interval
from tests.traces import TRACE_CONFIG, TRACE_CONFIG_TOML, logged_calls, trace_dir

DAY = "2026-11-24"
SVG = "{http://www.w3.org/2000/svg}"
Series = dict[str, dict[str, float]]


@pytest.fixture(scope="module")
def trace_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """mixed-a replayed into a database, and the configuration it was recorded with."""
    folder = tmp_path_factory.mktemp("chart")
    db = folder / "mixed-a.sqlite"
    replay_to_database(trace_dir("mixed-a") / "ami.jsonl", str(db), Tracker(TRACE_CONFIG))
    config = folder / "trace.toml"
    config.write_text(TRACE_CONFIG_TOML + "service_level_s = 30\n", encoding="utf-8")
    return db, config


def report_of(db: Path, config: Path, queue: str | None = None) -> Report:
    """The report the command draws: the trace's day, per quarter hour."""
    settings = settings_from_config(parse_config(config.read_text(encoding="utf-8")))
    return build_report(Database(db), settings, "UTC", parse_date(DAY), parse_date(DAY),
                        parse_interval("15m"), queue)


def series(svg: str) -> Series:
    """Each series' value per period, read from the chart's data attributes."""
    found: Series = defaultdict(dict)
    for node in ET.fromstring(svg).iter():
        if node.tag in (f"{SVG}rect", f"{SVG}circle") and "data-value" in node.attrib:
            found[node.attrib["class"]][node.attrib["data-period"]] = float(
                node.attrib["data-value"])
    return found


def expected(report: Report, queue: str | None) -> Series:
    """Each series' value per period, as the report has it."""
    rows = [r for r in report.rows if r.queue == queue]
    return {
        "offered": {r.period.name: r.kpis.offered for r in rows},
        "answered": {r.period.name: r.kpis.answered for r in rows},
        "abandoned": {r.period.name: r.kpis.abandoned for r in rows},
        "service-level": {r.period.name: round(r.kpis.service_level, 4) for r in rows
                          if r.kpis.service_level is not None},
    }


def test_an_html_chart_draws_the_reports_figures_per_interval(
    trace_db: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, config = trace_db
    chart = tmp_path / "day.html"
    assert main(["report", "--db", str(db), "--config", str(config), "--from", DAY,
                 "--interval", "15m", "--chart", str(chart)]) == 0
    assert f"chart written to {chart}" in capsys.readouterr().err
    page = chart.read_text(encoding="utf-8")
    svg = re.search(r"<svg .*?</svg>", page, re.DOTALL)
    assert svg is not None
    drawn = series(svg.group(0))
    assert drawn == expected(report_of(db, config), None)
    assert len(drawn["offered"]) == 96  # the day's quarter hours
    assert sum(drawn["offered"].values()) == len(logged_calls("mixed-a"))
    assert "<td>all queues" not in page and "all queues, 2026-11-24, per 15m (UTC)" in page


def test_an_svg_chart_of_one_queue_draws_that_queue(
    trace_db: tuple[Path, Path], tmp_path: Path
) -> None:
    db, config = trace_db
    chart = tmp_path / "sales.svg"
    assert main(["report", "--db", str(db), "--config", str(config), "--from", DAY,
                 "--interval", "15m", "--queue", "sales", "--chart", str(chart),
                 "--format", "json"]) == 0
    svg = chart.read_text(encoding="utf-8")
    assert series(svg) == expected(report_of(db, config, "sales"), "sales")
    assert ET.fromstring(svg).findtext(f"{SVG}title") == "sales, 2026-11-24, per 15m (UTC)"


def test_a_chart_in_another_format_is_refused_with_the_formats_that_work(
    trace_db: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = trace_db
    assert main(["report", "--db", str(db), "--from", DAY, "--chart",
                 str(tmp_path / "day.png")]) == 2
    err = capsys.readouterr().err
    assert "cannot draw a chart as day.png: queuepulse writes .svg or .html" in err
    assert not (tmp_path / "day.png").exists()


def test_the_calls_axis_climbs_in_round_steps_to_the_busiest_period() -> None:
    for busiest in (0, 1, 4, 5, 9, 17, 41, 99, 230, 1000, 12345):
        step = axis_step(busiest)
        assert 4 * step >= busiest
        assert str(step).rstrip("0") in ("1", "2", "25", "5")
