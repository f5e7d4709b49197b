"""The benchmark runs end to end and prints every figure (its numbers are not checked here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.__main__ import MEASUREMENTS

STREAMS = ("unfiltered", "agent,call,system", "tracker's frames")
FIGURE_ROWS = (
    *(f"ingest ({stream}): {row}" for stream in STREAMS for row in (
        "panoramisk 1.4 bare dispatch", "Python ceiling", "AMI client + parser + tracker")),
    "ingest (agent,call,system): parser + tracker only, no I/O",
    "ingest (agent,call,system): end to end (AMI > SQLite + MQTT)",
    "durability: call final > row committed, p50",
    "durability: call final > row committed, max",
    "durability: same, at full speed (overload), max",
    "ingest: daemon peak RSS",
    "latency: call final > MQTT record, p50",
    "latency: call final > MQTT record, p99",
    "latency: call final > MQTT record, max",
    "latency: call final > KPI snapshot, p50",
    "latency: call final > KPI snapshot, max",
    "live: daemon CPU at 1,000 ev/s",
    "memory: parser + tracker peak RSS",
    "memory: daemon peak RSS",
    "memory: parser + tracker soak growth",
    "memory: daemon soak growth, SQLite only (default)",
    "memory: daemon soak growth, with MQTT and KPI board",
    "soak: daemon peak RSS",
    "soak: daemon RSS growth after warm-up",
    "soak: calls stored of those the stream completed",
    "soak: calls published of those stored",
    "soak: errors logged",
    "reports: one day, on a database of that day",
    "reports: one day, on the history",
    "reports: a month by hour",
    "reports: the year by hour",
    "reports: the year by hour, peak RSS",
    "reports: the year by hour, frequent callers",
    "reports: the year by hour, frequent callers, peak RSS",
    "reports: the year as one period",
    "start-up: on an empty database",
    "start-up: on the history",
    "import: queue_log lines a second",
    "import: then the KPI tables of the days written",
)


@pytest.mark.slow
def test_smoke_run_prints_a_measured_row_for_every_figure() -> None:
    every = [word for name in MEASUREMENTS for word in ("--only", name)]
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", *every],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = {line.split(" | ")[0].strip(): line for line in done.stdout.splitlines()
            if " | " in line}
    for name in FIGURE_ROWS:
        assert name in rows, f"{name!r} missing from:\n{done.stdout}"
        measured = rows[name].split(" | ")[1].strip()
        assert measured != "-", f"{name} was not measured:\n{done.stdout}\n{done.stderr}"
    for name in MEASUREMENTS:
        assert f"bench: {name}:" in done.stderr


def test_unknown_measurement_is_refused_with_the_known_names() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "speed"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert all(name in done.stderr for name in ("ingest", "latency", "memory", "soak"))
