"""The benchmark's history: a year of a call center as queue_log, imported into SQLite.

:func:`write_queue_log` writes a seeded, synthetic queue_log of ``days`` days: three
queues, thirty agents who log in at 07:55 and out after 20:30, callers from 08:00 to
20:00 (answered, abandoned, timed out, transferred; ring-no-answers, after-call work by
pause code and by wrapuptime, lunch breaks) and callers who call back within hours.
``heavy`` puts a few numbers behind one call in ten (a switchboard, a robot dialling in),
the case that makes repeat-caller look-ups long.

A year of it is a million calls, some 5 million lines; importing it with
``import-queue-log`` takes minutes, so :func:`history` keeps what it built in a cache
folder outside the checkout (``QUEUEPULSE_BENCH_CACHE``, else ``~/.cache``), under a
name made of the generator's inputs and the source of this module: a change to the
generator builds a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collector.store.opening import open_database
from collector.store.queue_log_merge import import_to_database
from collector.store.schema import known_migrations
from queuepulse.config import parse_config
from queuepulse.kpi_tables import refresh_file

QUEUES = ("support", "sales", "billing")
AGENTS = tuple(f"Agent {n:02d}" for n in range(1, 31))
FIRST_DAY = dt.date(2025, 1, 1)
"""The first day of the history (UTC, the database's default time zone)."""
CONFIG = "[queues.sales]\nwrapuptime_s = 6\n"
"""The configuration the history is imported with."""
HEAVY_CALLERS = tuple(f"0800{n:06d}" for n in range(5))
"""The numbers behind one call in ten of the ``heavy`` history."""

_OPEN_S, _CLOSE_S = 8 * 3600, 20 * 3600
_LOGIN_S, _LOGOUT_S = 7 * 3600 + 55 * 60, 20 * 3600 + 30 * 60


@dataclass(frozen=True, slots=True)
class History:
    """A built history: its queue_log, the database it was imported into, its size."""

    queue_log: Path
    database: Path
    days: int
    calls: int
    lines: int

    def day(self, index: int) -> dt.date:
        """The local (UTC) date of day ``index`` of the history."""
        return FIRST_DAY + dt.timedelta(days=index)


class _Day:
    """One day of the call center, as (time, order, line) triples not yet in time order."""

    def __init__(self, rng: random.Random, day: int, heavy: bool, recent: list[str]) -> None:
        self.rng, self.heavy, self.recent = rng, heavy, recent
        self.base = int(dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day), dt.time(),
                                            dt.UTC).timestamp())
        self.lines: list[tuple[int, int, str]] = []
        self.free_at = {agent: self.base + _LOGIN_S + rng.randint(0, 300) for agent in AGENTS}
        for agent, at in self.free_at.items():
            for queue in QUEUES:
                self.out(at, f"NONE|{queue}|{agent}|ADDMEMBER|")

    def out(self, at: int, text: str) -> None:
        self.lines.append((at, len(self.lines), f"{at}|{text}"))

    def _caller(self) -> str:
        roll = self.rng.random()
        if self.heavy and roll < 0.1:
            number = self.rng.choice(HEAVY_CALLERS)
        elif roll < 0.18 and self.recent:
            number = self.rng.choice(self.recent)  # a call back within the last hours
        else:
            number = f"0{self.rng.randrange(10**8, 10**9)}"
        self.recent.append(number)
        if len(self.recent) > 400:
            del self.recent[:200]
        return number

    def call(self, t: int, serial: int) -> None:
        """One caller entering a queue at ``t``, and what becomes of it."""
        rng = self.rng
        callid, queue = f"{t}.{serial}", rng.choice(QUEUES)
        position = rng.randint(1, 6)
        self.out(t, f"{callid}|{queue}|NONE|ENTERQUEUE||{self._caller()}|{position}")
        patience = rng.randint(5, 300)
        agent = (min(AGENTS, key=self.free_at.__getitem__) if serial % 7
                 else rng.choice(AGENTS))
        start = max(t + 1, self.free_at[agent])
        if rng.random() < 0.15:
            self.out(start + 15, f"{callid}|{queue}|{agent}|RINGNOANSWER|15000")
            start += 16
        wait = start - t
        if wait > patience:
            kind = "EXITWITHTIMEOUT" if rng.random() < 0.3 else "ABANDON"
            self.out(t + patience, f"{callid}|{queue}|NONE|{kind}|{position}|{position}|"
                                   f"{patience}")
            return
        talk = rng.randint(20, 400)
        self.out(start, f"{callid}|{queue}|{agent}|CONNECT|{wait}|{callid}9|1")
        end = start + talk
        roll = rng.random()
        if roll < 0.03:
            self.out(end, f"{callid}|{queue}|{agent}|BLINDTRANSFER|700|from-internal|{wait}|"
                          f"{talk}|{position}")
        else:
            kind = "COMPLETEAGENT" if roll < 0.6 else "COMPLETECALLER"
            self.out(end, f"{callid}|{queue}|{agent}|{kind}|{wait}|{talk}|{position}")
        self.free_at[agent] = end + 1
        if queue == "sales" and rng.random() < 0.7:
            self._pause(agent, end, end + rng.randint(5, 90), "ACW")
        elif rng.random() < 0.01:
            self._pause(agent, end + 2, end + 1800, "Lunch")

    def _pause(self, agent: str, start: int, end: int, reason: str) -> None:
        """A pause in every queue, as Asterisk logs PauseQueueMember without a queue."""
        self.out(start, f"NONE|NONE|{agent}|PAUSEALL|{reason}")
        for queue in QUEUES:
            self.out(start, f"NONE|{queue}|{agent}|PAUSE|{reason}")
        self.out(end, f"NONE|NONE|{agent}|UNPAUSEALL|")
        for queue in QUEUES:
            self.out(end, f"NONE|{queue}|{agent}|UNPAUSE|")
        self.free_at[agent] = end + 1

    def close(self) -> list[tuple[int, int, str]]:
        """The day's lines, agents logging out once free, in time order."""
        for agent, at in self.free_at.items():
            for queue in QUEUES:
                self.out(max(at, self.base + _LOGOUT_S), f"NONE|{queue}|{agent}|REMOVEMEMBER|")
        return sorted(self.lines)


def queue_log_lines(days: int, calls: int, *, heavy: bool = False,
                    seed: int = 7) -> Iterator[str]:
    """The lines of a queue_log of ``days`` days holding ``calls`` calls, in time order."""
    rng = random.Random(seed)
    recent: list[str] = []
    serial = 0
    for day in range(days):
        today = _Day(rng, day, heavy, recent)
        count = calls // days + (day < calls % days)
        for t in sorted(rng.randint(today.base + _OPEN_S, today.base + _CLOSE_S - 1)
                        for _ in range(count)):
            today.call(t, serial)
            serial += 1
        for _, _, text in today.close():
            yield text + "\n"


def write_queue_log(path: Path, days: int, calls: int, *, heavy: bool = False) -> int:
    """Write :func:`queue_log_lines` to ``path``; how many lines."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in queue_log_lines(days, calls, heavy=heavy):
            out.write(line)
            count += 1
    return count


def day_slice(source: Path, target: Path, day: dt.date) -> int:
    """Copy the lines of the UTC ``day`` of the queue_log ``source`` to ``target``; how many."""
    start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
    end = start + 86400
    count = 0
    with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
        for line in lines:
            at = int(line[:line.index("|")])
            if at >= end:
                break
            if at >= start:
                out.write(line)
                count += 1
    return count


def cache_root() -> Path:
    """Where built histories are kept between runs (outside the checkout)."""
    value = os.environ.get("QUEUEPULSE_BENCH_CACHE")
    if value:
        return Path(value)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "queuepulse-bench"


def _name(days: int, calls: int, heavy: bool) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"{days}/{calls}/{heavy}".encode())
    # a database another schema wrote is not this version's: build it again
    digest.update("/".join(known_migrations()).encode())
    return f"history-{days}d-{calls}{'-heavy' if heavy else ''}-{digest.hexdigest()[:12]}"


def import_queue_log(queue_log: Path, database: Path) -> int:
    """What ``queuepulse import-queue-log`` does: the lines imported, the KPI tables
    computed; how many lines were read."""
    summary = import_to_database([str(queue_log)], str(database),
                                 parse_config(CONFIG).tracker_config(), "UTC")
    refresh_file(str(database))
    return summary.lines_read


def history(days: int, calls: int, *, heavy: bool = False, root: Path | None = None,
            ) -> History:
    """The history of ``days`` days and ``calls`` calls, built unless kept in ``root``
    (:func:`cache_root` by default).

    The database is opened for writing once, as the daemon would, so that it has the
    schema of this version (its migrations applied).
    """
    folder = (root or cache_root()) / _name(days, calls, heavy)
    queue_log, database = folder / "queue_log", folder / "queuepulse.sqlite"
    done = folder / "built"
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        lines = write_queue_log(queue_log, days, calls, heavy=heavy)
        import_queue_log(queue_log, database)
        done.write_text(str(lines), encoding="utf-8")
    open_database(str(database)).close()
    return History(queue_log, database, days, calls, int(done.read_text(encoding="utf-8")))

