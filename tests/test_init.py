"""``queuepulse init``: the example configuration and the unit, written out of the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from queuepulse.cli import main
from tests.user_errors import files, one_line, run_cli

ROOT = Path(__file__).resolve().parents[1]
CONFIG = (ROOT / "config" / "queuepulse.toml").read_text(encoding="utf-8")
UNIT = (ROOT / "systemd" / "queuepulse.service").read_text(encoding="utf-8")


def test_init_writes_the_example_configuration_and_the_unit_of_the_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "new" / "examples"
    assert main(["init", str(folder)]) == 0
    assert (folder / "queuepulse.toml").read_text(encoding="utf-8") == CONFIG
    assert (folder / "queuepulse.service").read_text(encoding="utf-8") == UNIT
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {folder / 'queuepulse.toml'}", f"wrote {folder / 'queuepulse.service'}"]


def test_the_written_configuration_passes_check_config(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    assert main(["check-config", "--no-secrets", str(tmp_path / "queuepulse.toml")]) == 0


def test_init_without_a_folder_writes_into_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "queuepulse.service", "queuepulse.toml"]


def test_init_leaves_an_existing_file_as_it_is_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "queuepulse.toml").write_text('[pbx]\nid = "mine"\n', encoding="utf-8")
    before = files(tmp_path)
    status, err = run_cli(["init", str(tmp_path)], capsys)
    assert status == 2
    line = one_line(err)
    assert str(tmp_path / "queuepulse.toml") in line and "--force" in line
    assert files(tmp_path) == before


def test_init_with_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "queuepulse.service").write_text("[Unit]\n", encoding="utf-8")
    assert main(["init", "--force", str(tmp_path)]) == 0
    assert (tmp_path / "queuepulse.service").read_text(encoding="utf-8") == UNIT


def test_init_into_a_folder_it_cannot_create_is_one_readable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    status, err = run_cli(["init", str(blocker / "examples")], capsys)
    assert status == 2
    assert str(blocker / "examples") in one_line(err)
