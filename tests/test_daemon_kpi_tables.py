"""The live daemon keeps the KPI tables at most ``database.kpi_interval_s`` behind the
calls, leaves them up to date when it stops, and computes every day again when it starts
with other settings, while it collects."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path

from sqlite_utils import Database
from structlog.testing import capture_logs

from collector.facts import Fact
from collector.store.writes import write_facts
from kpi.settings import KpiSettings
from queuepulse.config import parse_config
from queuepulse.daemon import Daemon
from queuepulse.sd_notify import Notifier
from tests.kpi_records import answered, unanswered
from tests.live_pbx import TracePbx, daemon_config_toml, until
from tests.test_kpi_tables import assert_tables_equal_the_report, days_of, filled
from tests.traces import replayed_facts

SLACK_S = 5.0
"""Time allowed beyond the interval for computing a day and for this test's polling."""
CHICAGO = '[pbx]\ntimezone = "America/Chicago"\n[kpi]\nservice_level_s = 12\n'


def calls_stored(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM calls").fetchone()
    return int(count)


def tables_agree(db: Path, settings: KpiSettings, timezone: str, first: dt.date,
                 last: dt.date) -> bool:
    """Whether the KPI tables equal the report of the calls stored now."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            assert_tables_equal_the_report(Database(conn), settings, timezone, first, last)
        except (AssertionError, sqlite3.OperationalError):
            return False
    return True


async def follow(pbx: TracePbx, db: Path, kpi_interval_s: float, *, patience_s: float,
                 settings: str = "", since: dt.date | None = None,
                 ) -> tuple[Daemon, float | None]:
    """Run a daemon until the feed is played and its finished calls are stored, then until
    its KPI tables agree with them, for ``patience_s`` at most, and stop it; how many
    seconds after the calls were stored the tables agreed (``None``: not in time).
    ``since``: the first day the tables hold, when it is before the trace's."""
    async with pbx.server as server:
        config = parse_config(daemon_config_toml(
            server.port, db, settings=settings, database=f"kpi_interval_s = {kpi_interval_s}\n"))
        daemon = Daemon(config, clock=pbx.now, tick_s=None, notifier=Notifier(None))
        pbx.start_when = lambda: daemon.ready
        running = asyncio.create_task(daemon.run())
        try:
            await until(pbx.finished.is_set, timeout=30)
            finished = len(pbx.oracle(pbx.sent)[0])
            await until(lambda: calls_stored(db) >= finished, timeout=10)
            stored = time.monotonic()
            first, last = days_of(replayed_facts("mixed-a"), config.pbx.timezone)
            kpi = KpiSettings(service_level_s=config.kpi.service_level_s)
            behind: float | None = None
            while behind is None and time.monotonic() < stored + patience_s:
                if tables_agree(db, kpi, config.pbx.timezone, since or first, last):
                    behind = time.monotonic() - stored
                await asyncio.sleep(0.05)
        finally:
            daemon.stop()
            await running
    return daemon, behind


def test_the_kpi_tables_are_at_most_the_interval_behind_the_calls(tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    daemon, behind = asyncio.run(follow(TracePbx("mixed-a"), db, kpi_interval_s=0.5,
                                        patience_s=0.5 + SLACK_S))
    assert behind is not None
    assert daemon.kpi_tables.stats.refreshes >= 1
    assert tables_agree(db, KpiSettings(), "UTC", *days_of(replayed_facts("mixed-a"), "UTC"))


def test_the_kpi_tables_wait_for_the_interval_and_are_up_to_date_once_stopped(
    tmp_path: Path,
) -> None:
    db = tmp_path / "calls.sqlite"
    daemon, behind = asyncio.run(follow(TracePbx("mixed-a"), db, kpi_interval_s=3600,
                                        patience_s=2.0))
    assert behind is None
    assert daemon.kpi_tables.stats.refreshes == 1  # the last round, when it stopped
    assert tables_agree(db, KpiSettings(), "UTC", *days_of(replayed_facts("mixed-a"), "UTC"))


def history(days: int, per_day: int) -> list[Fact]:
    """Calls of past days, a few agents answering: a month of a small call center."""
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()
    facts: list[Fact] = []
    for day in range(days):
        for n in range(per_day):
            at = start + day * 86400.0 + 8 * 3600 + n * 97.0
            queue = ("sales", "support")[n % 2]
            facts.append(answered(at, wait=n % 37, talk=120 + n % 50, acw=n % 20,
                                  queue=queue, num=f"555{n % 89:04d}",
                                  agent=f"PJSIP/20{n % 4}") if n % 5 else
                         unanswered(at, wait=n % 60, queue=queue, num=f"555{n % 89:04d}"))
    return facts


def test_other_settings_make_the_daemon_compute_every_day_again_while_it_collects(
    tmp_path: Path,
) -> None:
    db = tmp_path / "calls.sqlite"
    past = history(days=30, per_day=120)
    filled(db, past, KpiSettings()).close()
    first = days_of(past, "America/Chicago")[0]
    with capture_logs() as logs:
        # the rebuild of thirty days may take a while on a busy machine: this is about
        # what it computes while the daemon collects, not how soon
        daemon, behind = asyncio.run(follow(TracePbx("mixed-a"), db, kpi_interval_s=0.5,
                                            patience_s=60.0, settings=CHICAGO,
                                            since=first))
    assert behind is not None
    events = [entry for entry in logs if entry["event"].startswith("kpi_tables.")]
    assert [e["event"] for e in events] == ["kpi_tables.rebuilding", "kpi_tables.rebuilt"]
    assert events[0]["reason"] == "settings changed"
    assert events[0]["days"] == daemon.kpi_tables.stats.rebuilt_days == 30
    assert calls_stored(db) == len(past) + 95
    last = days_of(replayed_facts("mixed-a"), "America/Chicago")[1]
    assert tables_agree(db, KpiSettings(service_level_s=12), "America/Chicago", first, last)


def test_the_days_a_crash_left_behind_are_computed_when_the_daemon_starts(
    tmp_path: Path,
) -> None:
    db = tmp_path / "calls.sqlite"
    past = history(days=3, per_day=40)
    with contextlib.closing(filled(db, past[:100], KpiSettings())) as conn:
        # stored, but the daemon stopped before its next round computed them
        write_facts(conn, past[100:], source="live")
    with capture_logs() as logs:
        _, behind = asyncio.run(follow(TracePbx("mixed-a"), db, kpi_interval_s=0.5,
                                       patience_s=0.5 + SLACK_S,
                                       since=days_of(past, "UTC")[0]))
    assert behind is not None
    assert not [e for e in logs if e["event"] == "kpi_tables.rebuilding"]
