-- The KPI views migration 0003 created (and 0004 created again for the four period
-- views), frozen as released: never edit. Each view is one statement after a line
-- '-- NAME'; migration 0006 dropped them all for tables written from Python.
-- KPI_CALLS

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
-- KPI_DAILY

CREATE VIEW kpi_daily AS
WITH entered AS (
    SELECT day_start AS period_start, queue,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1, 2
    UNION ALL
    SELECT day_start, NULL,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1
), handled AS (
    SELECT handled_day_start AS period_start, queue,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT handled_day_start, NULL,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1
), keys AS (
    SELECT period_start, queue FROM entered UNION SELECT period_start, queue FROM handled
)
SELECT
    d.day AS period,
    k.period_start AS period_start,
    d.end AS period_end,
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
    e.answered_in_sl * 1.0 / nullif(e.offered - e.short_abandoned, 0) AS
        service_level_offered,
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
-- KPI_INTERVAL_15M

CREATE VIEW kpi_interval_15m AS
WITH entered AS (
    SELECT day_start + CAST((entered_at - day_start) / 900 AS INTEGER) * 900 AS
        period_start, queue,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1, 2
    UNION ALL
    SELECT day_start + CAST((entered_at - day_start) / 900 AS INTEGER) * 900, NULL,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1
), handled AS (
    SELECT handled_day_start + CAST((handled_at - handled_day_start) / 900 AS INTEGER) * 900
        AS period_start, queue,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT handled_day_start + CAST((handled_at - handled_day_start) / 900 AS INTEGER) *
        900, NULL,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1
), keys AS (
    SELECT period_start, queue FROM entered UNION SELECT period_start, queue FROM handled
)
SELECT
    strftime('%Y-%m-%d %H:%M', k.period_start + (d.utc_offset_s + CASE WHEN d.shift_at IS
        NOT NULL AND k.period_start >= d.shift_at THEN d.shift_s ELSE 0 END), 'unixepoch')
        || CASE WHEN d.shift_at IS NULL THEN '' ELSE printf('%+03d:%02d', (d.utc_offset_s +
        CASE WHEN d.shift_at IS NOT NULL AND k.period_start >= d.shift_at THEN d.shift_s
        ELSE 0 END) / 3600, abs((d.utc_offset_s + CASE WHEN d.shift_at IS NOT NULL AND
        k.period_start >= d.shift_at THEN d.shift_s ELSE 0 END) % 3600) / 60) END AS period,
    k.period_start AS period_start,
    min(k.period_start + 900, d.end) AS period_end,
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
    e.answered_in_sl * 1.0 / nullif(e.offered - e.short_abandoned, 0) AS
        service_level_offered,
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
-- KPI_INTERVAL_30M

CREATE VIEW kpi_interval_30m AS
WITH entered AS (
    SELECT day_start + CAST((entered_at - day_start) / 1800 AS INTEGER) * 1800 AS
        period_start, queue,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1, 2
    UNION ALL
    SELECT day_start + CAST((entered_at - day_start) / 1800 AS INTEGER) * 1800, NULL,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1
), handled AS (
    SELECT handled_day_start + CAST((handled_at - handled_day_start) / 1800 AS INTEGER) *
        1800 AS period_start, queue,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT handled_day_start + CAST((handled_at - handled_day_start) / 1800 AS INTEGER) *
        1800, NULL,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1
), keys AS (
    SELECT period_start, queue FROM entered UNION SELECT period_start, queue FROM handled
)
SELECT
    strftime('%Y-%m-%d %H:%M', k.period_start + (d.utc_offset_s + CASE WHEN d.shift_at IS
        NOT NULL AND k.period_start >= d.shift_at THEN d.shift_s ELSE 0 END), 'unixepoch')
        || CASE WHEN d.shift_at IS NULL THEN '' ELSE printf('%+03d:%02d', (d.utc_offset_s +
        CASE WHEN d.shift_at IS NOT NULL AND k.period_start >= d.shift_at THEN d.shift_s
        ELSE 0 END) / 3600, abs((d.utc_offset_s + CASE WHEN d.shift_at IS NOT NULL AND
        k.period_start >= d.shift_at THEN d.shift_s ELSE 0 END) % 3600) / 60) END AS period,
    k.period_start AS period_start,
    min(k.period_start + 1800, d.end) AS period_end,
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
    e.answered_in_sl * 1.0 / nullif(e.offered - e.short_abandoned, 0) AS
        service_level_offered,
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
-- KPI_INTERVAL_60M

CREATE VIEW kpi_interval_60m AS
WITH entered AS (
    SELECT day_start + CAST((entered_at - day_start) / 3600 AS INTEGER) * 3600 AS
        period_start, queue,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1, 2
    UNION ALL
    SELECT day_start + CAST((entered_at - day_start) / 3600 AS INTEGER) * 3600, NULL,
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
    sum(coalesce(wait_s, 0) + coalesce(talk_s, 0) + coalesce(hold_s, 0)) / 60.0 AS
        trunk_minutes
 FROM kpi_calls GROUP BY 1
), handled AS (
    SELECT handled_day_start + CAST((handled_at - handled_day_start) / 3600 AS INTEGER) *
        3600 AS period_start, queue,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT handled_day_start + CAST((handled_at - handled_day_start) / 3600 AS INTEGER) *
        3600, NULL,
    count(*) AS handled,
    avg(talk_s) AS avg_talk_s,
    avg(hold_s) AS avg_hold_s,
    sum(hold_s IS NOT NULL AND hold_count > 0) * 1.0 / count(hold_s) AS hold_rate,
    avg(acw_s) AS avg_acw_s,
    avg(handle_s) AS aht_s
 FROM kpi_calls
    WHERE handled_at IS NOT NULL GROUP BY 1
), keys AS (
    SELECT period_start, queue FROM entered UNION SELECT period_start, queue FROM handled
)
SELECT
    strftime('%Y-%m-%d %H:%M', k.period_start + (d.utc_offset_s + CASE WHEN d.shift_at IS
        NOT NULL AND k.period_start >= d.shift_at THEN d.shift_s ELSE 0 END), 'unixepoch')
        || CASE WHEN d.shift_at IS NULL THEN '' ELSE printf('%+03d:%02d', (d.utc_offset_s +
        CASE WHEN d.shift_at IS NOT NULL AND k.period_start >= d.shift_at THEN d.shift_s
        ELSE 0 END) / 3600, abs((d.utc_offset_s + CASE WHEN d.shift_at IS NOT NULL AND
        k.period_start >= d.shift_at THEN d.shift_s ELSE 0 END) % 3600) / 60) END AS period,
    k.period_start AS period_start,
    min(k.period_start + 3600, d.end) AS period_end,
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
    e.answered_in_sl * 1.0 / nullif(e.offered - e.short_abandoned, 0) AS
        service_level_offered,
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
-- KPI_AGENT_DAILY

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
