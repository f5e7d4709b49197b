"""Logging: structlog key-value events, JSON lines under systemd, readable on a terminal.

Following structlog's own advice for services: JSON to unbuffered stdout when stdout is
not a terminal (journald stores each line), a coloured console renderer when it is.
Loggers are not cached, so ``structlog.testing.capture_logs`` sees every event.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from dataclasses import dataclass
from typing import TextIO

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
LEVELS = tuple(_LEVELS)
"""The levels ``log.level`` may name."""
FORMATS = ("auto", "json", "console")
"""The forms ``log.format`` may name."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    """How much to log and in which form (``auto``: JSON unless on a terminal): the
    ``[log]`` settings."""

    level: str = "info"
    format: str = "auto"


def configure_logging(settings: LogConfig, stream: TextIO | None = None) -> None:
    """Set up structlog for the whole process, writing to ``stream`` (stdout unless given)."""
    out = stream if stream is not None else sys.stdout
    fmt = settings.format
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if as_json:
        processors += [
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(
                serializer=functools.partial(json.dumps, ensure_ascii=False, default=str)
            ),
        ]
    else:
        processors.append(structlog.dev.ConsoleRenderer(colors=out.isatty()))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[settings.level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
