"""The SQLite schema: a public interface, changed only by adding a named migration.

Each migration is recorded in the database by sqlite-utils, so a database made by an older
queuepulse is brought up to date when a newer one opens it for writing
(:func:`collector.store.opening.open_database`). Never edit a migration that has been released;
add a new one. ``docs/schema.md`` documents every table and view.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("queuepulse")


@migrations(name="0001_calls_and_agent_states")
def _calls_and_agent_states(db: Database) -> None:
    db.table("calls").create(
        {
            "call_id": str,
            "uniqueid": str,
            "linkedid": str,
            "queue": str,
            "caller_num": str,
            "caller_name": str,
            "entered_at": float,
            "answered_at": float,
            "ended_at": float,
            "outcome": str,
            "agent": str,
            "agent_interface": str,
            "wait_s": float,
            "talk_s": float,
            "hold_s": float,
            "hold_count": int,
            "acw_s": float,
            "acw_source": str,
            "handle_s": float,
            "ring_attempts": int,
            "ring_noanswer": int,
            "transferred": int,
            "transfer_to": str,
            "end_reason": str,
            "position_entered": int,
            "position_left": int,
            "source": str,
        },
        pk="call_id",
        not_null={"uniqueid", "queue", "entered_at", "outcome"},
    )
    db.table("agent_states").create(
        {
            "interface": str,
            "started_at": float,
            "agent": str,
            "queue": str,
            "state": str,
            "reason": str,
            "ended_at": float,
            "source": str,
        },
        pk=("interface", "started_at"),
        not_null={"agent", "state"},
    )
    db.table("anomalies").create(
        {"id": int, "at": float, "kind": str, "uniqueid": str, "detail": str},
        pk="id",
    )
    db.table("calls").create_index(["entered_at"])
    db.table("calls").create_index(["queue", "entered_at"])
    db.table("calls").create_index(["caller_num", "entered_at"])
    db.table("calls").create_index(["agent", "entered_at"])
    db.table("agent_states").create_index(["agent", "started_at"])


@migrations(name="0002_events_queues_agents")
def _events_queues_agents(db: Database) -> None:
    db.table("events").create(
        {"id": int, "received_at": float, "timestamp": float, "event": str, "raw": str},
        pk="id",
        not_null={"received_at", "event", "raw"},
    )
    db.table("events").create_index(["received_at"])
    db.table("queues").create(
        {"name": str, "strategy": str, "service_level_s": int, "wrapuptime_s": float,
         "first_seen": float, "last_seen": float},
        pk="name",
    )
    db.table("agents").create(
        {"interface": str, "name": str, "first_seen": float, "last_seen": float},
        pk="interface",
    )
    db.table("calls").create_index(["uniqueid"])
    db.table("calls").create_index(["linkedid"])
    db.table("calls").create_index(["outcome", "entered_at"])
    db.table("agent_states").create_index(["started_at"])
    db.table("agent_states").create_index(["queue", "started_at"])
    db.table("anomalies").create_index(["at"])
    # 'localtime' is the time zone of whatever process runs the query (sqlite3, Datasette)
    db.create_view("calls_local", """
        SELECT *,
            datetime(entered_at, 'unixepoch', 'localtime') AS entered_local,
            datetime(answered_at, 'unixepoch', 'localtime') AS answered_local,
            datetime(ended_at, 'unixepoch', 'localtime') AS ended_local,
            date(entered_at, 'unixepoch', 'localtime') AS day_local,
            CAST(strftime('%H', entered_at, 'unixepoch', 'localtime') AS INTEGER) AS hour_local
        FROM calls
    """)
    db.create_view("agent_states_local", """
        SELECT *,
            datetime(started_at, 'unixepoch', 'localtime') AS started_local,
            datetime(ended_at, 'unixepoch', 'localtime') AS ended_local,
            date(started_at, 'unixepoch', 'localtime') AS day_local,
            ended_at - started_at AS duration_s
        FROM agent_states
    """)


# -- 0003: the KPI views (docs/reports.md). Each KPI's definition is kpi/definitions.py;
# these views restate it in SQL for Datasette and BI tools, and a test holds them equal.

_KPI_ENTERED = """
    count(*) AS offered,
    sum(is_answered) AS answered,
    sum(is_abandoned) AS abandoned,
    sum(is_short_abandon) AS short_abandoned,
    sum(NOT is_answered AND outcome = 'timeout') AS timed_out,
    sum(NOT is_answered AND outcome = 'exit_key') AS exit_key,
    sum(NOT is_answered AND outcome = 'exit_empty') AS exit_empty,
    sum(NOT is_answered AND outcome = 'unknown') AS unknown,
    sum(is_answered AND transferred) AS transferred,
    sum(is_answered AND in_sl) AS answered_in_sl,
    sum(is_abandoned AND in_sl) AS abandoned_in_sl,
    avg(CASE WHEN is_answered THEN wait_s END) AS asa_s,
    max(CASE WHEN is_answered THEN wait_s END) AS longest_wait_s,
    sum(is_answered AND called_again = 1) AS repeat_calls,
    sum(is_answered AND called_again IS NOT NULL) AS repeat_known,
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS trunk_minutes
"""

_KPI_HANDLED = """
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
"""


def _kpi_period_view(name: str, size_s: int | None) -> str:
    """A view of the call KPIs per period (a local day, or ``size_s`` slices of one) and queue.

    Calls count in the period they entered; handle figures in the period their after-call
    work ended. Rows with ``queue`` NULL are all queues together.
    """
    def period(day_start: str, at: str) -> str:
        if size_s is None:
            return day_start
        return f"{day_start} + CAST(({at} - {day_start}) / {size_s} AS INTEGER) * {size_s}"

    entered = period("day_start", "entered_at")
    handled = period("handled_day_start", "handled_at")
    end = "d.end" if size_s is None else f"min(k.period_start + {size_s}, d.end)"
    offset = ("(d.utc_offset_s + CASE WHEN d.shift_at IS NOT NULL AND k.period_start >= "
              "d.shift_at THEN d.shift_s ELSE 0 END)")
    # on a day the clocks change, an hour is skipped or repeated: show the UTC offset
    label = ("d.day" if size_s is None else
             f"strftime('%Y-%m-%d %H:%M', k.period_start + {offset}, 'unixepoch') || "
             f"CASE WHEN d.shift_at IS NULL THEN '' ELSE printf('%+03d:%02d', {offset} / 3600, "
             f"abs({offset} % 3600) / 60) END")
    return f"""
CREATE VIEW {name} AS
WITH entered AS (
    SELECT {entered} AS period_start, queue, {_KPI_ENTERED} FROM kpi_calls GROUP BY 1, 2
    UNION ALL
    SELECT {entered}, NULL, {_KPI_ENTERED} FROM kpi_calls GROUP BY 1
), handled AS (
    SELECT {handled} AS period_start, queue, {_KPI_HANDLED} FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT {handled}, NULL, {_KPI_HANDLED} FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1
), keys AS (
    SELECT period_start, queue FROM entered UNION SELECT period_start, queue FROM handled
)
SELECT
    {label} AS period,
    k.period_start AS period_start,
    {end} AS period_end,
    k.queue AS queue,
    coalesce(e.offered, 0) AS offered,
    coalesce(e.answered, 0) AS answered,
    coalesce(e.abandoned, 0) AS abandoned,
    coalesce(e.short_abandoned, 0) AS short_abandoned,
    coalesce(e.timed_out, 0) AS timed_out,
    coalesce(e.exit_key, 0) AS exit_key,
    coalesce(e.exit_empty, 0) AS exit_empty,
    coalesce(e.unknown, 0) AS unknown,
    coalesce(e.transferred, 0) AS transferred,
    coalesce(e.answered_in_sl, 0) AS answered_in_sl,
    coalesce(e.abandoned_in_sl, 0) AS abandoned_in_sl,
    e.answered_in_sl * 1.0 / nullif(e.answered + e.abandoned, 0) AS service_level_answered,
    e.answered_in_sl * 1.0 / nullif(e.offered - e.short_abandoned, 0) AS service_level_offered,
    (e.answered_in_sl + e.abandoned_in_sl) * 1.0 / nullif(e.answered + e.abandoned, 0)
        AS service_level_sl2,
    e.abandoned * 1.0 / nullif(e.offered - e.short_abandoned, 0) AS abandon_rate,
    e.transferred * 1.0 / nullif(e.answered, 0) AS transfer_rate,
    e.asa_s AS asa_s,
    e.longest_wait_s AS longest_wait_s,
    coalesce(h.handled, 0) AS handled,
    h.avg_talk_s AS avg_talk_s,
    h.avg_hold_s AS avg_hold_s,
    h.hold_rate AS hold_rate,
    h.avg_acw_s AS avg_acw_s,
    h.aht_s AS aht_s,
    e.repeat_calls * 1.0 / nullif(e.repeat_known, 0) AS repeat_rate,
    1.0 - e.repeat_calls * 1.0 / nullif(e.repeat_known, 0) AS fcr,
    coalesce(e.trunk_minutes, 0.0) AS trunk_minutes
FROM keys k
LEFT JOIN entered e ON e.period_start = k.period_start AND e.queue IS k.queue
LEFT JOIN handled h ON h.period_start = k.period_start AND h.queue IS k.queue
JOIN kpi_days d ON d.start = (SELECT max(start) FROM kpi_days WHERE start <= k.period_start)
"""


@migrations(name="0003_kpi_views")
def _kpi_views(db: Database) -> None:
    # the thresholds and the PBX's calendar the views use; queuepulse run stores the
    # configured ones (collector.store.kpi_settings); until then, the defaults in UTC
    db.execute("""
        CREATE TABLE kpi_settings (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            timezone TEXT NOT NULL,
            service_level_s INTEGER NOT NULL,
            short_abandon_s REAL NOT NULL,
            repeat_window_s REAL NOT NULL
        )""")
    db.execute("INSERT INTO kpi_settings VALUES (1, 'UTC', 20, 5.0, 86400.0)")
    db.execute("""
        CREATE TABLE kpi_queue_settings (queue TEXT PRIMARY KEY, service_level_s INTEGER)""")
    db.execute("""
        CREATE TABLE kpi_days (
            start REAL PRIMARY KEY,
            end REAL NOT NULL,
            day TEXT NOT NULL,
            utc_offset_s INTEGER NOT NULL,
            shift_at REAL,
            shift_s INTEGER NOT NULL
        )""")
    db.execute("""
        INSERT INTO kpi_days
        WITH RECURSIVE days(day) AS (
            SELECT '2000-01-01' UNION ALL SELECT date(day, '+1 day') FROM days
            WHERE day < '2079-12-31'
        )
        SELECT CAST(strftime('%s', day) AS REAL), CAST(strftime('%s', day, '+1 day') AS REAL),
            day, 0, NULL, 0
        FROM days""")
    db.execute("""
        CREATE VIEW kpi_calls AS
        WITH base AS (
            SELECT c.*,
                CASE WHEN c.outcome = 'answered' AND c.answered_at IS NOT NULL
                     AND c.ended_at IS NOT NULL THEN c.ended_at + coalesce(c.acw_s, 0)
                END AS handled_at,
                coalesce(q.service_level_s, s.service_level_s) AS sl_threshold_s,
                (c.answered_at IS NOT NULL OR c.outcome = 'answered') AS is_answered,
                (c.outcome = 'abandoned' AND c.answered_at IS NULL AND c.wait_s IS NOT NULL
                 AND c.wait_s < s.short_abandon_s) AS is_short_abandon,
                s.repeat_window_s AS repeat_window_s
            FROM calls c
            CROSS JOIN kpi_settings s
            LEFT JOIN kpi_queue_settings q ON q.queue = c.queue
        )
        SELECT b.*,
            (b.outcome = 'abandoned' AND b.answered_at IS NULL AND NOT b.is_short_abandon)
                AS is_abandoned,
            (b.wait_s IS NOT NULL AND b.wait_s <= b.sl_threshold_s) AS in_sl,
            CASE WHEN b.caller_num GLOB '*[0-9]*' THEN EXISTS (
                SELECT 1 FROM calls o
                WHERE o.caller_num = b.caller_num AND o.linkedid != b.linkedid
                AND o.entered_at > b.entered_at
                AND o.entered_at <= b.entered_at + b.repeat_window_s
            ) END AS called_again,
            (SELECT max(start) FROM kpi_days WHERE start <= b.entered_at) AS day_start,
            (SELECT max(start) FROM kpi_days WHERE start <= b.handled_at) AS handled_day_start
        FROM base b
    """)
    db.execute(_kpi_period_view("kpi_daily", None))
    db.execute(_kpi_period_view("kpi_interval_15m", 900))
    db.execute(_kpi_period_view("kpi_interval_30m", 1800))
    db.execute(_kpi_period_view("kpi_interval_60m", 3600))
    db.execute("""
        CREATE VIEW kpi_agent_daily AS
        WITH spans AS (
            SELECT a.interface, a.agent, a.state, a.reason, d.start AS day_start,
                min(a.ended_at, d.end) - max(a.started_at, d.start) AS seconds
            FROM agent_states a
            JOIN kpi_days d
                ON d.start >= (SELECT max(start) FROM kpi_days WHERE start <= a.started_at)
                AND d.start < a.ended_at
            WHERE a.ended_at IS NOT NULL AND a.ended_at > a.started_at
        ), time_in_states AS (
            SELECT day_start, interface, max(agent) AS agent,
                sum(CASE WHEN state != 'logged_out' THEN seconds ELSE 0.0 END) AS logged_in_s,
                sum(CASE WHEN state = 'paused' THEN seconds ELSE 0.0 END) AS paused_s,
                sum(CASE WHEN state IN ('talking', 'hold', 'acw') THEN seconds ELSE 0.0 END)
                    AS busy_s
            FROM spans GROUP BY day_start, interface
        ), handling AS (
            SELECT handled_day_start AS day_start, agent_interface AS interface,
                max(agent) AS agent, count(*) AS handled,
                sum(coalesce(talk_s, 0)) AS talk_s, sum(coalesce(hold_s, 0)) AS hold_s,
                sum(coalesce(acw_s, 0)) AS acw_s, avg(handle_s) AS aht_s
            FROM kpi_calls
            WHERE handled_at IS NOT NULL AND agent_interface IS NOT NULL
            GROUP BY 1, 2
        ), keys AS (
            SELECT day_start, interface FROM time_in_states
            UNION SELECT day_start, interface FROM handling
        )
        SELECT d.day AS day, k.day_start AS day_start, d.end AS day_end,
            k.interface AS interface, coalesce(t.agent, h.agent) AS agent,
            coalesce(h.handled, 0) AS handled,
            coalesce(h.talk_s, 0.0) AS talk_s,
            coalesce(h.hold_s, 0.0) AS hold_s,
            coalesce(h.acw_s, 0.0) AS acw_s,
            h.aht_s AS aht_s,
            coalesce(t.logged_in_s, 0.0) AS logged_in_s,
            coalesce(t.paused_s, 0.0) AS paused_s,
            coalesce(t.busy_s, 0.0) AS busy_s,
            CASE WHEN t.logged_in_s - t.paused_s > 0
                THEN t.busy_s / (t.logged_in_s - t.paused_s) END AS occupancy
        FROM keys k
        LEFT JOIN time_in_states t ON t.day_start = k.day_start AND t.interface = k.interface
        LEFT JOIN handling h ON h.day_start = k.day_start AND h.interface = k.interface
        JOIN kpi_days d ON d.start = k.day_start
    """)


_PERIOD_VIEWS = (("kpi_daily", None), ("kpi_interval_15m", 900), ("kpi_interval_30m", 1800),
                 ("kpi_interval_60m", 3600))


@migrations(name="0004_hold_rate_over_observed_hold")
def _hold_rate_over_observed_hold(db: Database) -> None:
    # calls imported from queue_log have no observed hold and must not count as unheld
    for name, size_s in _PERIOD_VIEWS:
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(_kpi_period_view(name, size_s))


@migrations(name="0005_kpi_settings_variant_targets_and_costs")
def _kpi_settings_variant_targets_and_costs(db: Database) -> None:
    # a report reads back the settings the daemon stored: all of them, not only the views'
    for column in ("service_level_variant TEXT NOT NULL DEFAULT 'answered'",
                   "service_level_target REAL NOT NULL DEFAULT 0.8",
                   "agent_hourly REAL NOT NULL DEFAULT 0.0",
                   "trunk_per_minute REAL NOT NULL DEFAULT 0.0"):
        db.execute(f"ALTER TABLE kpi_settings ADD COLUMN {column}")
    db.execute("ALTER TABLE kpi_queue_settings ADD COLUMN service_level_target REAL")


def known_migrations() -> list[str]:
    """The names of this version's migrations, in the order they apply."""
    return [m.name for m in migrations.pending(Database(memory=True))]
