"""The wheel: what ``pip install`` puts on a PBX, built offline from the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCES = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
               ".hypothesis", "*.sqlite*", "data")
"""What a checkout holds besides its sources (``data``: the recorded traces)."""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel of a copy of the checkout (its links kept as links), built offline."""
    source = tmp_path_factory.mktemp("checkout") / "queuepulse"
    shutil.copytree(ROOT, source, symlinks=True,
                    ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("queuepulse-*.whl")
    with zipfile.ZipFile(path) as opened:
        yield opened


def test_the_wheel_installs_collector_kpi_and_queuepulse_with_the_simulator(
    wheel: zipfile.ZipFile,
) -> None:
    names = wheel.namelist()
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(
        ".dist-info")}
    assert packages == {"collector", "kpi", "queuepulse"}
    for module in ("collector/tracker/tracker.py", "collector/store/writer.py",
                   "kpi/mqtt/publisher.py", "queuepulse/__main__.py",
                   "queuepulse/pbxsim/callcenter/center.py",
                   "collector/store/kpi_views_0003.sql"):
        assert module in names


def test_the_wheel_holds_the_example_files_themselves(wheel: zipfile.ZipFile) -> None:
    for shipped, original in (("queuepulse.toml", ROOT / "config" / "queuepulse.toml"),
                              ("queuepulse.service", ROOT / "systemd" / "queuepulse.service")):
        assert wheel.read(f"queuepulse/examples/{shipped}") == original.read_bytes()


def test_the_wheel_has_no_benchmark_no_tests_and_one_script(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert not [n for n in names if n.startswith(("bench/", "tests/"))]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = wheel.read(entry_points).decode().split("[console_scripts]")[1].split("[")[0]
    assert scripts.split() == ["queuepulse", "=", "queuepulse.cli:main"]
