"""docs/reports.md: its commands parse, its SQL runs and its table is what the report prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from collector.store.opening import open_database
from queuepulse.cli import build_parser, main
from tests.traces import TRACE_CONFIG_TOML, trace_dir

DOC = (Path(__file__).resolve().parents[1] / "docs" / "reports.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_documented_report_commands_parse() -> None:
    commands = [line.split(" > ")[0] for line in blocks("sh")[0].splitlines()]
    assert len(commands) == 5
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert args.command == "report"


@pytest.fixture
def mixed_a(tmp_path: Path) -> tuple[Path, Path]:
    db, config = tmp_path / "queuepulse.sqlite", tmp_path / "queuepulse.toml"
    config.write_text(TRACE_CONFIG_TOML + "service_level_s = 30\n", encoding="utf-8")
    assert main(["replay", str(trace_dir("mixed-a") / "ami.jsonl"), "--db", str(db),
                 "--config", str(config)]) == 0
    return db, config


def test_documented_table_is_what_the_report_prints(
    mixed_a: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, config = mixed_a
    capsys.readouterr()
    assert main(["report", "--db", str(db), "--config", str(config), "--from",
                 "2026-11-24"]) == 0
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    shown = blocks("text")[0].splitlines()
    assert len(shown) == 33
    assert shown == printed


def test_documented_queries_run_on_the_kpi_tables(mixed_a: tuple[Path, Path]) -> None:
    db = open_database(str(mixed_a[0]))
    for query in blocks("sql"):
        assert list(db.query(query)), query
