"""SIGHUP: the configuration file read again, and what of it a running daemon can take.

A running daemon takes the log settings (``[log]``), the KPI thresholds and targets
(``[kpi]``, each queue's ``service_level_s`` and ``service_level_target``) and the time
zone of its days (``pbx.timezone``). Everything else (the AMI connection, the database,
MQTT, the web server, the alert rules, how calls are tracked) is in use by connections
and open calls, and waits for a restart; the log names what differs. A file that cannot
be read or has a mistake changes nothing: the daemon logs the mistake and goes on as it
was.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import structlog

from collector.errors import UserError
from queuepulse.config import Config, load_config
from queuepulse.daemon import Daemon
from queuepulse.logs import configure_logging

log = structlog.get_logger("queuepulse.reload")

_RELOADED = ("kpi", "log")
"""Sections a running daemon takes whole."""


def restart_needed(running: Config, wanted: Config) -> list[str]:
    """The settings of ``wanted`` that differ from ``running`` and only a restart applies."""
    differ = [f.name for f in dataclasses.fields(Config)
              if f.name not in (*_RELOADED, "pbx", "queues")
              and getattr(running, f.name) != getattr(wanted, f.name)]
    if running.pbx.id != wanted.pbx.id:
        differ.append("pbx.id")
    for key in ("wrapuptime_s", "alerts"):
        if ({name: getattr(queue, key) for name, queue in running.queues.items()}
                != {name: getattr(queue, key) for name, queue in wanted.queues.items()}):
            differ.append(f"queues.<name>.{key}")
    return differ


def reload_from(path: Path | None, daemon: Daemon) -> None:
    """Read the configuration file at ``path`` again and hand the daemon what it can take;
    without a file (the demo) there is nothing to read, and pending writes are committed."""
    if path is None:
        log.info("daemon.reload_ignored", detail="no configuration file to read again")
        daemon.reload(daemon.config)
        return
    try:
        config = load_config(path)
    except UserError as error:
        log.error("daemon.reload_failed", error=str(error),
                  detail="the running settings stay as they were")
        return
    # said with the log settings that were in force: the new ones may silence it
    log.info("daemon.reloading", path=str(path),
             restart_needed=restart_needed(daemon.config, config))
    configure_logging(config.log)
    daemon.reload(config)
