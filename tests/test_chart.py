"""``queuepulse report --chart``: the report's own figures, drawn as SVG and read back."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest
from sqlite_utils import Database

from collector.replay import replay_to_database
from collector.tracker import Tracker
from kpi.present.chart import axis_step
from kpi.present.report import Report, build_report
from kpi.windows import parse_date, parse_interval
from queuepulse.cli import main
from queuepulse.config import parse_config
from queuepulse.kpi_settings import settings_from_config
from tests.traces import TRACE_CONFIG, TRACE_CONFIG_TOML, logged_calls, replayed_calls, trace_dir

DAY = "2026-11-24"
SVG = "{http://www.w3.org/2000/svg}"
TRACES = ("smoke", "mixed-a", "hold-a")
"""Three recordings of the same night, 01:47 to 02:04 UTC: calls in two clock hours."""
Series = dict[tuple[str, str], dict[str, float]]


@pytest.fixture(scope="module")
def trace_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The traces replayed into one database, and a configuration with a target per queue."""
    folder = tmp_path_factory.mktemp("chart")
    db = folder / "night.sqlite"
    for name in TRACES:
        replay_to_database(trace_dir(name) / "ami.jsonl", str(db), Tracker(TRACE_CONFIG))
    config = folder / "trace.toml"
    config.write_text(TRACE_CONFIG_TOML + "service_level_target = 65\n"
                      "[queues.support]\nservice_level_target = 90\n"
                      "[kpi]\nservice_level_s = 30\nservice_level_target = 70\n",
                      encoding="utf-8")
    return db, config


def report_of(db: Path, config: Path, queue: str | None = None) -> Report:
    """The report the command draws: the traces' day, per quarter hour."""
    settings = settings_from_config(parse_config(config.read_text(encoding="utf-8")))
    return build_report(Database(db), settings, "UTC", parse_date(DAY), parse_date(DAY),
                        parse_interval("15m"), queue)


def drawn(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def chart(folder: Path, db: Path, config: Path, name: str, *args: str) -> str:
    """The chart ``queuepulse report`` draws of the traces' day into ``folder/name``."""
    assert main(["report", "--db", str(db), "--config", str(config), "--from", DAY,
                 "--chart", str(folder / name), *args]) == 0
    return (folder / name).read_text(encoding="utf-8")


def series(svg: str) -> Series:
    """Each panel's series, with their value per period, read from the data attributes."""
    found: Series = defaultdict(dict)
    for node in drawn(svg).iter():
        if node.tag in (f"{SVG}rect", f"{SVG}circle") and "data-value" in node.attrib:
            key = (node.attrib["data-queue"], node.attrib["class"])
            found[key][node.attrib["data-period"]] = float(node.attrib["data-value"])
    return found


def expected(report: Report, queue: str | None, periods: set[str]) -> Series:
    """A panel's series, as the report has them for the drawn periods."""
    rows = [r for r in report.rows if r.queue == queue and r.period.name in periods]
    name = queue or "all queues"
    return {
        (name, "offered"): {r.period.name: r.kpis.offered for r in rows},
        (name, "answered"): {r.period.name: r.kpis.answered for r in rows},
        (name, "abandoned"): {r.period.name: r.kpis.abandoned for r in rows},
        (name, "service-level"): {r.period.name: round(r.kpis.service_level, 4) for r in rows
                                  if r.kpis.service_level is not None},
    }


def targets(svg: str) -> dict[str, float]:
    """Each panel's target line."""
    return {node.attrib["data-queue"]: float(node.attrib["data-value"])
            for node in drawn(svg).iter(f"{SVG}line")
            if node.attrib.get("class") == "sl-target"}


def ticks(svg: str) -> list[float]:
    """The instants of the time axis' ticks (of the first panel; every panel shares it)."""
    panel = next(drawn(svg).iter(f"{SVG}g"))
    return [float(node.attrib["data-at"]) for node in panel.iter(f"{SVG}line")
            if node.attrib.get("class") == "tick"]


def test_an_html_chart_draws_a_panel_per_queue_and_one_for_all_queues(
    trace_db: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, config = trace_db
    page = chart(tmp_path, db, config, "day.html", "--interval", "15m")
    assert f"chart written to {tmp_path / 'day.html'}" in capsys.readouterr().err
    svg = re.search(r"<svg .*?</svg>", page, re.DOTALL)
    assert svg is not None
    panels = [g.attrib["data-queue"] for g in drawn(svg.group(0)).iter(f"{SVG}g")]
    assert panels == ["all queues", "helpdesk", "sales", "support"]
    report = report_of(db, config)
    periods = {key for values in series(svg.group(0)).values() for key in values}
    assert len(periods) == 8  # 01:00 to 03:00, not the day's 96 quarter hours
    want: Series = {}
    for queue in (None, "helpdesk", "sales", "support"):
        want.update(expected(report, queue, periods))
    assert series(svg.group(0)) == want
    logged = sum(len(logged_calls(name)) for name in TRACES)
    assert sum(want[("all queues", "offered")].values()) == logged
    assert "Calls and service level, 2026-11-24, per 15m (UTC)" in page


def test_the_time_axis_spans_the_hours_with_calls(trace_db: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    calls = [c for name in TRACES for c in replayed_calls(name).values()]
    first = min(c.entered_at for c in calls)
    last = max(c.ended_at or c.entered_at for c in calls)
    at = ticks(chart(tmp_path, *trace_db, "day.svg", "--interval", "15m"))
    assert at == sorted(at) and len(at) == 9
    assert first - 3600 < at[0] <= first
    assert last <= at[-1] < last + 3600
    assert at[0] % 3600 == 0 and at[-1] % 3600 == 0


def test_each_panel_draws_its_queues_service_level_target(trace_db: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    assert targets(chart(tmp_path, *trace_db, "day.svg", "--interval", "1h")) == {
        "all queues": 0.7, "helpdesk": 0.7, "sales": 0.65, "support": 0.9}


def test_an_svg_chart_of_one_queue_draws_that_queue(
    trace_db: tuple[Path, Path], tmp_path: Path
) -> None:
    db, config = trace_db
    svg = chart(tmp_path, db, config, "sales.svg", "--interval", "15m", "--queue", "sales",
                "--format", "json")
    periods = {key for values in series(svg).values() for key in values}
    assert series(svg) == expected(report_of(db, config, "sales"), "sales", periods)
    assert targets(svg) == {"sales": 0.65}
    assert drawn(svg).findtext(f"{SVG}title") == (
        "sales: calls and service level, 2026-11-24, per 15m (UTC)")


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
