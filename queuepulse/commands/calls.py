"""``queuepulse calls``: find calls in the database (the call-detail report)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collector.errors import UserError
from collector.facts import Outcome
from collector.store.call_search import CallFilter, search_calls
from collector.store.opening import reading
from kpi.present.call_list import calls_csv, calls_json, calls_table
from kpi.present.report_output import print_tables
from kpi.windows import check_range, day_window, local_date, parse_date
from queuepulse.config import load_config
from queuepulse.kpi_settings import kpi_settings_to_read


def register(subparsers: Any) -> None:
    """Add the ``calls`` command."""
    parser = subparsers.add_parser(
        "calls",
        help="find calls in the database by number, queue, agent, outcome and day",
        description="List the calls stored in SQLite, one row per caller's pass through a "
        "queue, with when it entered, the caller, the outcome, the agent and its wait, "
        "talk, hold and after-call work. Filters add up. Days are local days in "
        "pbx.timezone.",
    )
    parser.add_argument("--db", required=True, help="the queuepulse SQLite file")
    parser.add_argument("--config", type=Path, help="configuration file (its time zone); "
                        "default: the one 'queuepulse run' stored in the database")
    parser.add_argument("--number", help="only calls whose caller number ends with this")
    parser.add_argument("--queue", help="only this queue")
    parser.add_argument("--agent", help="only calls answered by this agent (name or interface)")
    parser.add_argument("--outcome", choices=tuple(o.value for o in Outcome),
                        help="only calls with this outcome")
    parser.add_argument("--from", dest="first", metavar="DATE",
                        help="first day, YYYY-MM-DD (default: --to, or today)")
    parser.add_argument("--to", dest="last", metavar="DATE",
                        help="last day, inclusive (default: --from, or today)")
    parser.add_argument("--limit", type=int, default=0,
                        help="at most this many calls, the earliest first (default: all)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="how to print the calls (default: table)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``queuepulse calls``."""
    if args.limit < 0:
        raise UserError(f"--limit {args.limit}: give a positive number, or 0 for all calls.")
    config = load_config(args.config) if args.config is not None else None
    with reading(args.db) as db:
        _, timezone = kpi_settings_to_read(db, config)
        tz = ZoneInfo(timezone)
        today = local_date(time.time(), tz)
        first = parse_date(args.first) if args.first else None
        last = parse_date(args.last) if args.last else None
        first, last = first or last or today, last or first or today
        check_range(first, last)
        found = search_calls(db, CallFilter(
            start=day_window(first, tz).start, end=day_window(last, tz).end,
            number=args.number, queue=args.queue, agent=args.agent,
            outcome=Outcome(args.outcome) if args.outcome else None, limit=args.limit))
    if args.format == "json":
        sys.stdout.write(calls_json(found, tz) + "\n")
    elif args.format == "csv":
        sys.stdout.write(calls_csv(found, tz))
    else:
        days = str(first) if first == last else f"{first} to {last}"
        shown = f"{len(found)} call{'s' if len(found) != 1 else ''}"
        print_tables([calls_table(found, tz, f"{shown}, {days} ({timezone})")], wide=False)
    return 0
