"""How fast ``queuepulse import-queue-log`` reads a big queue_log.

The first lines of the year of :mod:`bench.history` (a million by default: some seventy
days of a busy call center) are imported into a fresh SQLite file, as the command does:
the lines become calls and agent intervals by the tracker's rules and are merged into the
database, then the KPI tables of the days written are computed.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from bench.history import CONFIG, History
from bench.table import Figure, Goal, Target
from collector.store.queue_log_merge import import_to_database
from queuepulse.config import parse_config
from queuepulse.kpi_tables import refresh_file

RATE_TARGET = 150_000.0
"""Lines a second."""


def lines_of(built: History, lines: int) -> Path:
    """A file of the history's first ``lines`` lines (kept beside it)."""
    path = built.queue_log.with_name(f"queue_log-{lines}")
    if not path.is_file():
        partial = path.with_name(f".{path.name}")
        with built.queue_log.open(encoding="utf-8") as source, partial.open(
                "w", encoding="utf-8") as sink:
            sink.writelines(itertools.islice(source, lines))
        partial.replace(path)
    return path


def measure(source: Path, folder: Path) -> list[Figure]:
    """The import's rate, and the time its KPI tables take, in one run."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "import.sqlite"
    for leftover in folder.glob("import.sqlite*"):
        leftover.unlink()
    began = time.perf_counter()
    summary = import_to_database([str(source)], str(database),
                                 parse_config(CONFIG).tracker_config(), "UTC")
    imported = time.perf_counter() - began
    rebuilt = refresh_file(str(database))
    return [
        Figure("import: queue_log lines a second", summary.lines_read / imported, "lines/s",
               Target(Goal.AT_LEAST, RATE_TARGET),
               note=f"{summary.lines_read:,} lines: {summary.calls_written:,} calls, "
                    f"{summary.intervals_written:,} agent intervals"),
        Figure("import: then the KPI tables of the days written", rebuilt.seconds, "s",
               note=f"{rebuilt.days} days"),
    ]
