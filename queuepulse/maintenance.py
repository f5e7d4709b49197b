"""The daemon's upkeep of its database, on a timer: retention, and the reference tables.

Once an hour the rows older than ``database.retention_days`` (raw events: older than
``database.events_retention_days``) are deleted; once a minute the ``queues`` and
``agents`` tables take the queues and agents the tracker knows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

import structlog

from collector.ami.protocol import Clock
from collector.live import LiveView
from collector.store.settings import DatabaseConfig
from collector.store.writer import Writer
from collector.store.writes import Reference, prune

log = structlog.get_logger("queuepulse.daemon")

_REFERENCE_EVERY_S = 60.0
_PRUNE_EVERY_S = 3600.0


async def maintain(database: DatabaseConfig, store: Callable[[], Writer],
                   live: Callable[[], LiveView], clock: Clock, monotonic: Clock) -> None:
    """Keep the database within its retention and its reference tables current, until
    cancelled."""
    next_prune = 0.0
    while True:
        if monotonic() >= next_prune:
            next_prune = monotonic() + _PRUNE_EVERY_S
            try:
                deleted = await store().call(partial(
                    prune, now=clock(), retention_days=database.retention_days,
                    events_retention_days=database.events_retention_days))
            except Exception as error:  # retried at the next round
                log.error("store.prune_failed", error=str(error))
            else:
                if deleted:
                    log.info("store.pruned", rows=deleted)
        view = live()
        if view.queues or view.agents:
            store().add_reference(Reference(clock(), view.queues, view.agents))
        await asyncio.sleep(_REFERENCE_EVERY_S)
