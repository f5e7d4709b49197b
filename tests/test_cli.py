"""The ``queuepulse`` command line itself: help without a command, and the version."""

from __future__ import annotations

import subprocess
import sys

import pytest

from queuepulse.cli import main


def test_queuepulse_alone_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: queuepulse")
    for command in ("run", "report", "top", "replay", "check-config"):
        assert f"    {command} " in out


def test_version_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    name, version = capsys.readouterr().out.split()
    assert name == "queuepulse" and version[0].isdigit()


def test_python_m_queuepulse_runs_the_same_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "queuepulse", "--version"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    name, version = done.stdout.split()
    assert name == "queuepulse" and version[0].isdigit()
