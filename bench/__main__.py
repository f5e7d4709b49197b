"""``python -m bench``: queuepulse measured against its limits, in one table.

Measurements (``--only`` picks some; see docs/benchmark.md for what each figure means):

* ``ingest``: end-to-end events/s against panoramisk's bare dispatch and the core alone,
  and the durability lag at full load;
* ``latency``: from a call's final frame to its MQTT record and to the KPI snapshot, at a
  steady 1,000 events/s;
* ``memory``: peak RSS with 5,000 calls and 2,000 agents, and RSS growth over a soak;
* ``live``: the daemon's CPU seconds per 100,000 events at a steady 1,000 events/s;
* ``reports``: reports of a day, a month and a year, and the daemon's start-up, on a year
  of history (a million calls);
* ``import``: ``import-queue-log``'s lines a second;
* ``soak`` (only when asked for, it takes ten minutes, and runs once): a fuzzed stream at
  1,000 events/s with a broker restart and two AMI drops: memory, calls stored and
  published against those sent, errors logged.

Every other figure is the median of three runs, printed with the lowest and the highest.
``--smoke`` runs everything once on small inputs in about half a minute, to show that the
benchmark works (CI runs it); its numbers are not the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import ingest, latency, live, memory, queue_log_import, reports, soak
from bench.history import cache_root
from bench.stream import TraceMissing, default_trace, stream
from bench.table import Figure, merged, render

MEASUREMENTS = ("ingest", "latency", "live", "memory", "reports", "import", "soak")
DEFAULT = ("ingest", "latency", "live", "memory", "reports", "import")
"""What runs without ``--only``: the soak takes ten minutes and is asked for by name."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each measurement's input is."""

    ingest_frames: int
    latency_s: float
    live_s: float
    crowd_agents: int
    crowd_calls: int
    soak_frames: int
    soak_warmup: int
    quiet_s: float
    """How long a run goes on after the last call reached SQLite and MQTT."""
    kpi_wait_s: float
    """How much longer a run that measures KPI topics waits (they are published once a
    second)."""
    fuzzed_s: float
    """How long the fuzzed soak plays, at :data:`bench.soak.RATE`."""
    history_days: int
    history_calls: int
    import_lines: int
    runs: int
    """How many times each measurement runs (its figures are the median)."""
    cache: Path | None
    """Where the built histories are kept between runs (``None``: not kept)."""


FULL = Sizes(ingest_frames=500_000, latency_s=30.0, live_s=60.0, crowd_agents=2000,
             crowd_calls=5000, soak_frames=1_200_000, soak_warmup=200_000, quiet_s=1.0,
             kpi_wait_s=1.5, fuzzed_s=600.0, history_days=365, history_calls=1_000_000,
             import_lines=1_000_000, runs=3, cache=cache_root())
SMOKE = Sizes(ingest_frames=20_000, latency_s=1.5, live_s=1.5, crowd_agents=40, crowd_calls=100,
              soak_frames=12_000, soak_warmup=4_000, quiet_s=0.3, kpi_wait_s=0.9,
              fuzzed_s=9.0, history_days=3, history_calls=900, import_lines=3_000, runs=1,
              cache=None)


def _progress(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


async def run_once(names: Sequence[str], sizes: Sizes, trace: Path,
                   folder: Path) -> list[Figure]:
    """Run the named measurements once, in order; return their figures."""
    figures: list[Figure] = []
    if "ingest" in names:
        _progress(f"ingest: {sizes.ingest_frames:,} frames, panoramisk then queuepulse")
        figures += await ingest.measure(trace, sizes.ingest_frames, folder / "ingest",
                                        sizes.quiet_s)
    if "latency" in names:
        frames = int(sizes.latency_s * latency.RATE)
        _progress(f"latency: {frames:,} frames at {latency.RATE:,.0f}/s")
        figures += await latency.measure(stream(trace, frames), folder / "latency",
                                         sizes.quiet_s + sizes.kpi_wait_s)
    if "live" in names:
        frames = int(sizes.live_s * live.RATE)
        _progress(f"live: {frames:,} frames at {live.RATE:,.0f}/s, CPU time")
        figures += await live.measure(stream(trace, frames), folder / "live", sizes.quiet_s)
    if "memory" in names:
        _progress(f"memory: {sizes.crowd_calls:,} calls with {sizes.crowd_agents:,} agents, "
                  f"then a soak of {sizes.soak_frames - sizes.soak_warmup:,} frames")
        crowd = memory.write_crowd(folder, sizes.crowd_agents, sizes.crowd_calls)
        long_run = stream(trace, sizes.soak_frames)
        figures += await memory.measure(crowd, long_run, sizes.soak_warmup, folder / "memory",
                                        sizes.quiet_s, sizes.quiet_s + sizes.kpi_wait_s)
    if "reports" in names:
        _progress(f"reports: {sizes.history_calls:,} calls over {sizes.history_days} days "
                  "(built once, then kept)")
        built = reports.histories(folder, sizes.history_days, sizes.history_calls,
                                  sizes.cache or folder)
        figures += await reports.measure(built, folder / "reports")
    if "import" in names:
        _progress(f"import: {sizes.import_lines:,} queue_log lines")
        year = reports.histories(folder, sizes.history_days, sizes.history_calls,
                                 sizes.cache or folder).year
        figures += queue_log_import.measure(
            queue_log_import.lines_of(year, sizes.import_lines), folder / "import")
    return figures


async def run(names: Sequence[str], sizes: Sizes, trace: Path, folder: Path) -> list[Figure]:
    """Run the named measurements ``sizes.runs`` times over (the soak once); return the
    merged figures."""
    repeated = [name for name in names if name != "soak"]
    runs = []
    for number in range(sizes.runs if repeated else 0):
        if sizes.runs > 1:
            _progress(f"run {number + 1} of {sizes.runs}")
        runs.append(await run_once(repeated, sizes, trace, folder))
    figures = merged(runs) if runs else []
    if "soak" in names:
        frames = int(sizes.fuzzed_s * soak.RATE)
        _progress(f"soak: {frames:,} fuzzed frames at {soak.RATE:,.0f}/s, a broker restart "
                  "and two AMI drops")
        figures += await soak.measure(stream(trace, frames), folder / "soak")
    return figures


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure queuepulse's throughput, latency and memory against its targets.",
    )
    parser.add_argument("--smoke", action="store_true",
                        help="small inputs, once, about half a minute: checks the benchmark "
                        "runs")
    parser.add_argument("--only", action="append", choices=MEASUREMENTS, metavar="NAME",
                        help=f"run only this measurement ({', '.join(MEASUREMENTS)}); "
                             "may be repeated; soak runs only when named")
    parser.add_argument("--trace", type=Path, default=None,
                        help="recorded AMI trace to play (default: the mixed-a recording)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table; exit status 1 when a target is missed."""
    args = build_parser().parse_args(argv)
    names = args.only or DEFAULT
    sizes = SMOKE if args.smoke else FULL
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="queuepulse-bench-") as folder:
            figures = asyncio.run(run(names, sizes, args.trace or default_trace(), Path(folder)))
    except TraceMissing as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(f"queuepulse bench{' (smoke: small inputs, not the figures)' if args.smoke else ''}: "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{time.monotonic() - started:.0f} s")
    print(render(figures))
    return 1 if any(f.met is False for f in figures) and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
