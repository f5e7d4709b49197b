"""Reports and start-up on a year of history: do they cost the range asked for?

On a history of a million calls over a year (:mod:`bench.history`, built once and kept):

* a one-day report, against the same report on a database holding that day alone: the
  history around it must not make it dearer;
* a month by hour (as a table, the way a supervisor asks), and the whole year by hour
  (as CSV, the way it goes to a spreadsheet), also with a few callers calling all day;
  the whole year as one period for reference;
* ``queuepulse run`` starting on the history: from the process starting to the daemon
  logged in, its snapshot taken and its KPI board primed with the stored day.

A report runs as ``queuepulse report`` in a fresh process, each; it is timed from the
command's start to its end (Python's own start-up and imports, the same on any database,
are left out) and its process's peak resident memory is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from bench.broker import Mosquitto
from bench.collector_process import Collector
from bench.history import History, day_slice, history, import_queue_log
from bench.memory import in_fresh_process
from bench.pbx import SECRET, USERNAME
from bench.table import Figure, Goal, Target
from queuepulse.cli import main
from queuepulse.pbxsim.ami_server import AmiServer

DAY_RATIO = 1.2
"""A day's report on the history costs at most this many times the same on one day."""
MONTH_LIMIT_S = 2.0
YEAR_LIMIT_S = 15.0
YEAR_LIMIT_MB = 300.0
START_LIMIT_S = 1.0
START_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Timed:
    """How long a command took, and its process's peak resident memory (MB)."""

    seconds: float
    peak_mb: float


def run_report(args: list[str]) -> Timed:
    """``queuepulse report args`` in this process, its output thrown away."""
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        began = time.perf_counter()
        status = main(["report", *args])
        seconds = time.perf_counter() - began
    if status != 0:
        raise RuntimeError(f"queuepulse report {' '.join(args)} exited with {status}")
    # ru_maxrss is in KiB on Linux
    return Timed(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6)


async def _report(database: Path, *args: str) -> Timed:
    return await in_fresh_process(run_report, ["--db", str(database), *args])


def _one_day(folder: Path, built: History, day: dt.date) -> Path:
    """A database holding only ``day`` of the history (kept beside the history)."""
    database = built.database.with_name(f"day-{day}.sqlite")
    if not database.is_file():
        lines = folder / f"queue_log-{day}"
        day_slice(built.queue_log, lines, day)
        partial = database.with_name(f".{database.name}")
        import_queue_log(lines, partial)
        partial.replace(database)
    return database


def _logged_at(log: Path, event: str) -> float | None:
    """When the daemon logged ``event`` (epoch seconds), if it did."""
    with contextlib.suppress(FileNotFoundError), log.open(encoding="utf-8") as lines:
        for line in lines:
            if f'"{event}"' in line:
                stamp = json.loads(line)["timestamp"].replace("Z", "+00:00")
                return dt.datetime.fromisoformat(stamp).timestamp()
    return None


async def start_up(database: Path, folder: Path) -> float:
    """Seconds from ``queuepulse run`` starting on ``database`` to the daemon ready (logged
    in, snapshot taken) with its KPI board primed from the stored facts (MQTT on)."""
    folder.mkdir(parents=True, exist_ok=True)
    async with AmiServer(username=USERNAME, secret=SECRET, auth_failure_delay=0.0) as pbx:
        with Mosquitto(folder) as broker:
            collector = Collector(folder, pbx.port, broker.port, database=database)
            collector.log.unlink(missing_ok=True)
            began = time.time()
            with collector:
                deadline = time.monotonic() + START_TIMEOUT_S
                while True:
                    marks = [_logged_at(collector.log, e)
                             for e in ("daemon.ready", "kpi.board_primed")]
                    if all(m is not None for m in marks):
                        return max(m for m in marks if m is not None) - began
                    if not collector.alive() or time.monotonic() > deadline:
                        raise RuntimeError(f"queuepulse run did not start:\n"
                                           f"{collector.failure()}")
                    await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class Histories:
    """The year, the same year with a few callers calling all day, and its middle day."""

    year: History
    heavy: History
    day: dt.date
    one_day: Path


def histories(folder: Path, days: int, calls: int, root: Path | None = None) -> Histories:
    """The histories the figures read, built unless kept in ``root`` from an earlier run
    (see :func:`bench.history.history`)."""
    year = history(days, calls, root=root)
    day = year.day(days // 2)
    return Histories(year, history(days, calls, heavy=True, root=root), day,
                     _one_day(folder, year, day))


async def measure(built: Histories, folder: Path) -> list[Figure]:
    """The report and start-up figures of one run."""
    year, day = built.year, built.day.isoformat()
    first, last = year.day(0).isoformat(), year.day(year.days - 1).isoformat()
    month_end = (built.day + dt.timedelta(days=30)).isoformat()
    size = f"{year.calls:,} calls over {year.days} days"
    alone = await _report(built.one_day, "--from", day)
    in_history = await _report(year.database, "--from", day)
    month = await _report(year.database, "--from", day, "--to", month_end, "--interval", "1h")
    by_hour = ("--from", first, "--to", last, "--interval", "1h", "--format", "csv")
    whole = await _report(year.database, *by_hour)
    heavy = await _report(built.heavy.database, *by_hour)
    single = await _report(year.database, "--from", first, "--to", last, "--format", "csv")
    empty = folder / "empty.sqlite"
    empty.unlink(missing_ok=True)
    started_empty = await start_up(empty, folder / "start-empty")
    started = await start_up(year.database, folder / "start-history")
    return [
        Figure("reports: one day, on a database of that day", alone.seconds, "s",
               note=f"{day}, as a table"),
        Figure("reports: one day, on the history", in_history.seconds, "s",
               Target(Goal.AT_MOST, DAY_RATIO * alone.seconds, "the one-day database",
                      alone.seconds), note=f"the same day in {size}"),
        Figure("reports: a month by hour", month.seconds, "s",
               Target(Goal.AT_MOST, MONTH_LIMIT_S), note="31 days, as a table"),
        Figure("reports: the year by hour", whole.seconds, "s",
               Target(Goal.AT_MOST, YEAR_LIMIT_S), note=f"{size}, as CSV"),
        Figure("reports: the year by hour, peak RSS", whole.peak_mb, "MB",
               Target(Goal.AT_MOST, YEAR_LIMIT_MB)),
        Figure("reports: the year by hour, frequent callers", heavy.seconds, "s",
               Target(Goal.AT_MOST, YEAR_LIMIT_S),
               note="one call in ten from five numbers: repeat-caller look-ups run long"),
        Figure("reports: the year by hour, frequent callers, peak RSS", heavy.peak_mb, "MB",
               Target(Goal.AT_MOST, YEAR_LIMIT_MB)),
        Figure("reports: the year as one period", single.seconds, "s",
               note=f"peak RSS {single.peak_mb:.0f} MB; a year's percentiles read every call"),
        Figure("start-up: on an empty database", started_empty, "s",
               note="process start to ready and KPI board primed, MQTT on"),
        Figure("start-up: on the history", started, "s", Target(Goal.AT_MOST, START_LIMIT_S),
               note=f"{size}; the board reads today's facts (the history ends before)"),
    ]
