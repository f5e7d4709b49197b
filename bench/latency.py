"""Latency at a steady 1,000 events a second: how soon a wallboard moves.

The simulated PBX paces the repeated trace to a steady rate; ``queuepulse run`` follows
it with MQTT on. For each call record the replay of the same frames names the frame
that made the record final: for an abandoned call the HangupRequest/QueueCallerLeave
that ends it, for an answered call the frame that settles its after-call work (the
unpause of an ACW pause, or the first event past the ACW window or the queue's
wrapuptime). Latency runs from that frame leaving the PBX to:

* the call's record arriving at an MQTT subscriber (``<prefix>/<pbx>/call``);
* the first all-queues KPI snapshot (``.../all/kpi/60m``) whose ``offered`` count
  includes the call (snapshots are published on change, at most once a second).
"""

from __future__ import annotations

import math
from pathlib import Path

from bench.harness import collector_run, until_quiet
from bench.observer import Seen
from bench.pbx import Playback, Played
from bench.stream import Stream
from bench.table import Figure, Goal, Target
from kpi.definitions import percentile

RATE = 1000.0
"""Event frames a second."""
CALL_LIMIT_MS = 20.0
KPI_LIMIT_MS = 1000.0


def _kpi_delays(played: Played, seen: Seen) -> list[float]:
    """For the k-th call published, the wait until a KPI snapshot counted k calls
    (infinite: none did)."""
    delays: list[float] = []
    updates = seen.kpi_updates
    index = 0
    for count, call_id in enumerate(seen.published_order, start=1):
        sent = played.final_sent(call_id)
        while index < len(updates) and updates[index][1] < count:
            index += 1
        if sent is not None:
            delays.append(updates[index][0] - sent if index < len(updates) else math.inf)
    return delays


def _ms(values: list[float], p: float) -> float | None:
    value = percentile(values, p)
    return None if value is None else value * 1000


async def measure(stream: Stream, folder: Path, quiet_s: float) -> list[Figure]:
    """Call-record and KPI latencies of one paced run, which ends ``quiet_s`` after the last
    call (``quiet_s`` has to outlast a KPI publishing cycle for the last snapshot)."""
    run = await collector_run(Playback(stream, RATE), folder, until_quiet(quiet_s))
    played, seen = run.played, run.seen
    delays: list[float] = []
    unanswered = 0
    for call_id, arrived in seen.published.items():
        sent = played.final_sent(call_id)
        if sent is None:
            continue
        delays.append(arrived - sent)
        unanswered += seen.outcomes[call_id] != "answered"
    kpi = _kpi_delays(played, seen)
    missing = len(set(played.final_at) - set(seen.published))
    sample = (f"{len(delays)} calls at {RATE:,.0f} ev/s for {stream.frames / RATE:.0f} s: "
              f"{unanswered} final at their last frame, {len(delays) - unanswered} answered "
              "final at the frame settling their ACW")
    if missing:
        # a call that never arrived is a failure, not one left out
        delays += [math.inf] * missing
        kpi += [math.inf] * missing
        sample += f"; {missing} calls never arrived (counted as infinitely late)"
    return [
        Figure("latency: call final > MQTT record, p50", _ms(delays, 50), "ms"),
        Figure("latency: call final > MQTT record, p99", _ms(delays, 99), "ms",
               Target(Goal.AT_MOST, CALL_LIMIT_MS), note=sample),
        Figure("latency: call final > MQTT record, max", _ms(delays, 100), "ms"),
        Figure("latency: call final > KPI snapshot, p50", _ms(kpi, 50), "ms"),
        Figure("latency: call final > KPI snapshot, max", _ms(kpi, 100), "ms",
               Target(Goal.AT_MOST, KPI_LIMIT_MS),
               note=f"{len(kpi)} calls; a KPI topic goes out at most once per "
                    "mqtt.kpi_interval_s (1 s): the worst case is that plus the pipeline"),
    ]
