"""A list of calls as people read it (a table that fits 100 columns) and as programs read
it (CSV, JSON): the call-detail report of ``queuepulse calls``.

The CSV and JSON carry every column of the ``calls`` table (docs/schema.md) and the
moment the caller entered in local time; the table the figures a supervisor looks at
first. Nothing here computes a KPI.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich import box
from rich.table import Table

from collector.facts import CALL_COLUMNS, CallRecord
from kpi.present.formats import NO_DATA, duration, rounded

LOCAL_COLUMN = "entered_local"
"""The moment the caller entered the queue, as local ``YYYY-MM-DD HH:MM:SS``."""
_TEXT = {"entered": 19, "queue": 14, "caller": 18, "outcome": 10, "agent": 16}
"""The text columns of the table and the widest each may grow (wider text is cut with …)."""
_TIMES = ("wait", "talk", "hold", "ACW")


def _local(at: float, tz: ZoneInfo) -> str:
    return f"{dt.datetime.fromtimestamp(at, tz):%Y-%m-%d %H:%M:%S}"


def calls_table(calls: Sequence[CallRecord], tz: ZoneInfo, title: str) -> Table:
    """One row per call: when it entered, its queue, caller, outcome, agent and timings.

    The time of day alone when every call entered on the same local day (the title says
    which); a caller is shown by number, by name when the number is unknown.
    """
    days = {dt.datetime.fromtimestamp(c.entered_at, tz).date() for c in calls}
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 1, 0, 0), header_style="bold", title_justify="left")
    for heading, widest in _TEXT.items():
        table.add_column(heading, no_wrap=True, overflow="ellipsis", max_width=widest)
    for heading in _TIMES:
        table.add_column(heading, justify="right", no_wrap=True)
    for call in calls:
        entered = _local(call.entered_at, tz)
        table.add_row(
            entered[11:] if len(days) == 1 else entered,
            call.queue,
            call.caller_num or call.caller_name or NO_DATA,
            call.outcome.value,
            call.agent or NO_DATA,
            duration(call.wait_s), duration(call.talk_s), duration(call.hold_s),
            duration(call.acw_s),
        )
    return table


def _row(call: CallRecord, tz: ZoneInfo) -> dict[str, object]:
    return {**call.as_row(), LOCAL_COLUMN: _local(call.entered_at, tz)}


def calls_csv(calls: Sequence[CallRecord], tz: ZoneInfo) -> str:
    """One CSV row per call: every ``calls`` column, then the local time it entered;
    durations to 0.1 s, an empty cell for what was not observed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = (*CALL_COLUMNS, LOCAL_COLUMN)
    writer.writerow(columns)
    for call in calls:
        row = _row(call, tz)
        writer.writerow(["" if row[c] is None else rounded(c, row[c]) for c in columns])
    return out.getvalue()


def calls_json(calls: Sequence[CallRecord], tz: ZoneInfo) -> str:
    """The calls as a JSON list of objects, every figure as stored."""
    return json.dumps([_row(call, tz) for call in calls], ensure_ascii=False, indent=2)
