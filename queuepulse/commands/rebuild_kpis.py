"""``queuepulse rebuild-kpis``: compute the database's KPI tables again from its facts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from collector.errors import UserError
from collector.store.opening import writing
from kpi.windows import check_range, parse_date
from queuepulse.config import load_config
from queuepulse.kpi_settings import settings_from_config, store_kpi_settings
from queuepulse.kpi_tables import days_between, describe, rebuild


def register(subparsers: Any) -> None:
    """Add the ``rebuild-kpis`` command."""
    parser = subparsers.add_parser(
        "rebuild-kpis",
        help="compute the KPI tables (kpi_daily, kpi_interval_*, ...) again from the calls",
        description="Compute the KPI tables SQL users read (kpi_daily, kpi_interval_15m, "
        "kpi_interval_30m, kpi_interval_60m, kpi_agent_daily) again from the stored calls "
        "and agent states, with the settings stored in the database. queuepulse run, "
        "replay and import-queue-log keep them up to date; rebuild them after changing "
        "the settings, or when a day's were lost.",
    )
    parser.add_argument("--db", required=True, help="the queuepulse SQLite file")
    parser.add_argument("--config", type=Path, help="configuration file whose KPI settings "
                        "and time zone to store in the database first (as 'queuepulse run' "
                        "does); default: the ones stored")
    parser.add_argument("--from", dest="first", metavar="DATE",
                        help="first local day, YYYY-MM-DD (default: --to, or every day with "
                        "calls)")
    parser.add_argument("--to", dest="last", metavar="DATE",
                        help="last local day, inclusive (default: --from, or every day with "
                        "calls)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse rebuild-kpis``."""
    config = load_config(args.config) if args.config is not None else None
    days = None
    if args.first or args.last:
        first, last = parse_date(args.first or args.last), parse_date(args.last or args.first)
        check_range(first, last)
        days = days_between(first, last)
    if not Path(args.db).is_file():
        raise UserError(f"no database at {args.db}. Give --db the file 'queuepulse run' "
                        "writes (database.path in the config).")
    with writing(args.db) as db:
        if config is not None:
            store_kpi_settings(db, settings_from_config(config), config.pbx.timezone)
        rebuilt = rebuild(db, days)
    print(describe(rebuilt))
    return 0
