"""Logging: structlog key-value events, JSON lines under systemd, readable on a terminal.

Following structlog's own advice for services: JSON to unbuffered stdout when stdout is
not a terminal (journald stores each line), a coloured console renderer when it is.
Loggers are not cached, so ``structlog.testing.capture_logs`` sees every event.

Two rules hold whatever is logged. A float that is not finite is written as a string
(``"inf"``, ``"nan"``): JSON has no ``Infinity``, and a log line a JSON reader refuses is
a lost line. And unless ``log.level`` is ``debug``, an exception is logged as its type
and the line it was raised at, without its message or a traceback with local variables:
those hold whatever the code was handling, caller numbers and names included.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import traceback
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

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


def _finite(value: Any) -> Any:
    """``value`` with every float that is not finite (nested ones too) as a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def finite_floats(_logger: Any, _method: str, event: MutableMapping[str, Any]
                  ) -> MutableMapping[str, Any]:
    """A processor: JSON has no ``Infinity`` or ``NaN``, so they are written as strings."""
    for key, value in event.items():
        if isinstance(value, float | dict | list | tuple):
            event[key] = _finite(value)
    return event


def exceptions_without_data(_logger: Any, _method: str, event: MutableMapping[str, Any]
                            ) -> MutableMapping[str, Any]:
    """A processor: an exception as its type and where it was raised, nothing it held."""
    exc_info = event.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    error = exc_info if isinstance(exc_info, BaseException) else (
        exc_info[1] if isinstance(exc_info, tuple) else None)
    if error is None:
        return event
    event.setdefault("error", type(error).__name__)
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        event["raised_at"] = f"{Path(last.filename).name}:{last.lineno} in {last.name}"
    event["traceback"] = "left out: set log.level = \"debug\" to log it"
    return event


def configure_logging(settings: LogConfig, stream: TextIO | None = None) -> None:
    """Set up structlog for the whole process, writing to ``stream`` (stdout unless given)."""
    out = stream if stream is not None else sys.stdout
    fmt = settings.format
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    debug = settings.level == "debug"
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not debug:
        processors.append(exceptions_without_data)
    if as_json:
        processors += [
            structlog.processors.dict_tracebacks,
            finite_floats,
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
