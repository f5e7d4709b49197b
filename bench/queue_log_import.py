"""How fast ``queuepulse import-queue-log`` reads a big queue_log.

Writes a synthetic queue_log of a busy call center (default 1,000,000 lines: callers
entering three queues, ring-no-answers, answers, abandons, timeouts, transfers, ACW
pauses, lunch breaks), imports it into a fresh SQLite file and prints the rate::

    .venv/bin/python -m bench.queue_log_import            # 1,000,000 lines
    .venv/bin/python -m bench.queue_log_import --lines 200000 --keep /tmp/big_queue_log
"""

from __future__ import annotations

import argparse
import heapq
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from collector.store.queue_log_merge import import_to_database
from queuepulse.config import parse_config

QUEUES = ("support", "sales", "billing")
AGENTS = tuple(f"Agent {n:03d}" for n in range(1, 121))
START = 1_795_000_000
CONFIG = "[queues.sales]\nwrapuptime_s = 6\n"


def _calls(rng: random.Random) -> Iterator[tuple[int, str]]:
    """(time, line) pairs of one simulated day after another, not yet in time order."""
    free_at = dict.fromkeys(AGENTS, START)
    t, serial = START, 0
    for agent in AGENTS:
        for queue in QUEUES:
            yield t, f"NONE|{queue}|{agent}|ADDMEMBER|"
    while True:
        t += rng.choice((0, 1, 1, 2, 3))
        serial += 1
        callid, queue = f"{t}.{serial}", rng.choice(QUEUES)
        position = rng.randint(1, 6)
        yield t, f"{callid}|{queue}|NONE|ENTERQUEUE||555{serial % 10_000_000:07d}|{position}"
        patience = rng.randint(5, 300)
        agent = min(AGENTS, key=free_at.__getitem__) if serial % 7 else rng.choice(AGENTS)
        start = max(t + 1, free_at[agent])
        if rng.random() < 0.15:
            ring = start + 15
            yield ring, f"{callid}|{queue}|{agent}|RINGNOANSWER|15000"
            start = ring + 1
        wait = start - t
        if wait > patience:
            end = t + patience
            kind = "EXITWITHTIMEOUT" if rng.random() < 0.3 else "ABANDON"
            yield end, f"{callid}|{queue}|NONE|{kind}|{position}|{position}|{patience}"
            continue
        talk = rng.randint(20, 400)
        yield start, f"{callid}|{queue}|{agent}|CONNECT|{wait}|{callid}9|1"
        end = start + talk
        roll = rng.random()
        if roll < 0.03:
            yield end, (f"{callid}|{queue}|{agent}|BLINDTRANSFER|700|from-internal|"
                        f"{wait}|{talk}|{position}")
        else:
            kind = "COMPLETEAGENT" if roll < 0.6 else "COMPLETECALLER"
            yield end, f"{callid}|{queue}|{agent}|{kind}|{wait}|{talk}|{position}"
        free_at[agent] = end + 1
        if queue == "sales" and rng.random() < 0.7:
            acw = rng.randint(5, 90)
            yield end, "NONE|NONE|" + agent + "|PAUSEALL|ACW"
            for q in QUEUES:
                yield end, f"NONE|{q}|{agent}|PAUSE|ACW"
            yield end + acw, "NONE|NONE|" + agent + "|UNPAUSEALL|"
            for q in QUEUES:
                yield end + acw, f"NONE|{q}|{agent}|UNPAUSE|"
            free_at[agent] = end + acw + 1
        elif rng.random() < 0.01:
            yield end + 2, f"NONE|{queue}|{agent}|PAUSE|Lunch"
            yield end + 1800, f"NONE|{queue}|{agent}|UNPAUSE|"
            free_at[agent] = end + 1801


def write_queue_log(path: Path, lines: int, seed: int = 7) -> None:
    """A synthetic queue_log of ``lines`` lines, in time order, like Asterisk writes it."""
    rng = random.Random(seed)
    pending: list[tuple[int, int, str]] = []
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for seq, (at, text) in enumerate(_calls(rng)):
            heapq.heappush(pending, (at, seq, text))
            # a line more than an hour old can no longer be preceded by a new one
            while pending and pending[0][0] < at - 3600:
                when, _, line = heapq.heappop(pending)
                out.write(f"{when}|{line}\n")
                written += 1
                if written == lines:
                    return


def main() -> None:
    """Generate, import, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the queue_log here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = args.keep or Path(tmp) / "queue_log"
        started = time.perf_counter()
        write_queue_log(source, args.lines)
        print(f"generated {args.lines:,} lines in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        summary = import_to_database([str(source)], str(Path(tmp) / "import.sqlite"),
                                     parse_config(CONFIG).tracker_config(), "UTC")
        elapsed = time.perf_counter() - started
    print(f"imported {summary.lines_read:,} lines in {elapsed:.1f} s: "
          f"{summary.lines_read / elapsed:,.0f} lines/s "
          f"({summary.calls_written:,} calls, {summary.intervals_written:,} agent intervals)")


if __name__ == "__main__":
    main()
