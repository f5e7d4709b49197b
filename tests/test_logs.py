"""The log as journald stores it: JSON a reader accepts, and no caller's data unless asked."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import structlog

from queuepulse.logs import LogConfig, configure_logging

CALLER = "דוד כהן 5551071"


def refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def logged(level: str, emit: Any) -> list[dict[str, Any]]:
    """What ``emit(logger)`` writes as JSON lines with ``log.level`` at ``level``."""
    out = io.StringIO()
    configure_logging(LogConfig(level=level, format="json"), stream=out)
    try:
        emit(structlog.get_logger("test"))
    finally:
        structlog.reset_defaults()
    return [json.loads(line, parse_constant=refuse) for line in out.getvalue().splitlines()]


def fail_on(caller: str) -> None:
    held = {"caller": caller}
    raise ValueError(f"cannot handle {held['caller']}")


def log_failure(log: Any) -> None:
    try:
        fail_on(CALLER)
    except ValueError:
        log.exception("daemon.event_failed", event_type="CallerJoin")


def test_an_exception_at_info_is_its_type_and_place_without_the_callers_data() -> None:
    [line] = logged("info", log_failure)
    assert CALLER not in json.dumps(line, ensure_ascii=False)
    assert line["error"] == "ValueError"
    assert line["raised_at"].startswith("test_logs.py:") and line["raised_at"].endswith(
        "in fail_on")
    assert "log.level" in line["traceback"] and "exception" not in line


def test_at_debug_the_whole_traceback_is_logged() -> None:
    [line] = logged("debug", log_failure)
    assert CALLER in json.dumps(line, ensure_ascii=False)
    assert line["exception"][0]["exc_type"] == "ValueError"


def test_floats_that_are_not_finite_are_written_as_strings() -> None:
    [line] = logged("info", lambda log: log.warning(
        "store.write_failed", at=math.inf, lag=-math.inf, nested={"ratio": math.nan},
        values=[1.5, math.inf]))
    assert (line["at"], line["lag"], line["nested"], line["values"]) == (
        "inf", "-inf", {"ratio": "nan"}, [1.5, "inf"])
