"""What a command owes a user who made a mistake: one line, a non-zero exit, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from queuepulse.cli import main

Files = dict[str, tuple[bytes, int]]


def files(folder: Path) -> Files:
    """Every file under ``folder`` by relative name, with its bytes and modification time."""
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def one_line(err: str) -> str:
    """The single ``queuepulse: ...`` line a command printed for a mistake (asserted)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("queuepulse: "), err
    assert "Traceback" not in err
    return lines[0]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """A command run in this process as the console script runs it: status and stderr."""
    capsys.readouterr()
    try:
        status = main(args)
    except SystemExit as done:  # argparse: --help, --version, usage errors
        status = int(done.code or 0)
    return status, capsys.readouterr().err
