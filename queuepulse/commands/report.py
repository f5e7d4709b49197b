"""``queuepulse report``: KPIs from the SQLite file, by the same definitions as the live ones."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collector.errors import UserError
from collector.store.kpi_tables import up_to_date
from collector.store.opening import reading
from collector.store.reads import Holdings, has_queue, holdings
from kpi.present.chart import write_chart
from kpi.present.report import Report, build_report, describe_holdings
from kpi.present.report_output import print_tables, report_csv, report_tables, write_json
from kpi.tables import TABLES
from kpi.windows import INTERVALS, local_date, parse_date, parse_interval
from queuepulse.config import load_config
from queuepulse.kpi_settings import kpi_settings_to_read, settings_text


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="call-center KPIs from the database, per queue, interval and agent",
        description="Compute the KPIs (service level, ASA, abandon rate, AHT, occupancy, ...) "
        "of the calls stored in SQLite, with the same definitions as the live MQTT figures "
        "(docs/kpis.md). Days are local days in pbx.timezone.",
    )
    parser.add_argument("--db", required=True, help="the queuepulse SQLite file")
    parser.add_argument("--config", type=Path, help="configuration file (thresholds, "
                        "time zone, cost rates); default: the settings 'queuepulse run' "
                        "stored in the database")
    parser.add_argument("--queue", help="only this queue")
    parser.add_argument("--from", dest="first", metavar="DATE",
                        help="first day, YYYY-MM-DD (default: --to, or today)")
    parser.add_argument("--to", dest="last", metavar="DATE",
                        help="last day, inclusive (default: --from, or today)")
    parser.add_argument("--interval", choices=tuple(INTERVALS),
                        help="one row per interval (default: one row for the whole range)")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="how to print the report (default: table)")
    parser.add_argument("--wide", action="store_true",
                        help="every column (short abandons, wait percentile, talk, hold, ACW, "
                        "transfers, FCR), not only the main figures that fit 100 columns")
    parser.add_argument("--agents", action="store_true",
                        help="add the per-agent report (with --format csv: print it instead)")
    parser.add_argument("--chart", type=Path, metavar="FILE",
                        help="also draw the offered, answered and abandoned calls and the "
                        "service level per period (with --interval: per interval), a panel "
                        "for all queues and one per queue with its target, into FILE.svg or "
                        "FILE.html")
    parser.set_defaults(handler=run)


def _has_calls(report: Report) -> bool:
    return bool(report.agents) or any(row.kpis.offered or row.kpis.handled
                                      for row in report.rows)


def _nothing_to_report(db: str, held: Holdings, tz: ZoneInfo, what: str,
                       fix: str) -> UserError:
    """Say what the database does hold, instead of a report of zeros."""
    if held.calls == 0:
        return UserError(f"{db} holds no calls yet. Fill it with 'queuepulse run', 'replay' "
                         "or 'import-queue-log' first, or check --db.")
    return UserError(f"no calls {what} in {db}: {describe_holdings(held, tz)}. Give {fix}.")


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse report``."""
    config = load_config(args.config) if args.config is not None else None
    with reading(args.db) as db:
        settings, timezone = kpi_settings_to_read(db, config)
        tz = ZoneInfo(timezone)
        if args.queue is not None and not has_queue(db, args.queue):
            raise _nothing_to_report(args.db, holdings(db), tz, f"of queue {args.queue!r}",
                                     "--queue one of those queues")
        today = local_date(time.time(), tz)
        first = parse_date(args.first) if args.first else None
        last = parse_date(args.last) if args.last else None
        first, last = first or last or today, last or first or today
        report = build_report(db, settings, timezone, first, last,
                              parse_interval(args.interval) if args.interval else None,
                              args.queue, with_agents=args.agents,
                              kpi_tables=up_to_date(db, TABLES, settings_text(settings, timezone)))
        if not _has_calls(report):
            days = f"on {first}" if first == last else f"from {first} to {last}"
            queue = "" if args.queue is None else f" in queue {args.queue!r}"
            raise _nothing_to_report(args.db, holdings(db), tz, days + queue,
                                     "--from and --to days within those")
    if args.chart is not None:
        write_chart(report, args.chart)
        print(f"chart written to {args.chart}", file=sys.stderr)
    if args.format == "json":
        write_json(report, sys.stdout)
    elif args.format == "csv":
        sys.stdout.write(report_csv(report, agents=args.agents))
    else:
        print_tables(report_tables(report, wide=args.wide), wide=args.wide)
    return 0
