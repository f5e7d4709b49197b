"""Scenario tables: real AMI frames pasted from the recordings, trimmed to what matters.

Written the way wazo-call-logd writes its raw CEL tables: one row per frame, the first
line naming the columns ``Event | Timestamp | Uniqueid | Linkedid | Queue | Interface |
more``; ``more`` holds the frame's other headers as ``Header: value; Header: value``. An
empty cell is a header the frame does not carry. Rows keep only the headers the tracker
reads, so each one is the frame the recording holds with the rest cut away
(:func:`not_in_recording` checks it).
"""

from __future__ import annotations

from functools import cache

from collector.facts import Fact
from collector.parser import split_fields
from collector.trace import TraceReader
from collector.tracker import TrackerConfig
from tests.scenarios import run
from tests.traces import trace_dir

Headers = dict[str, str]


def rows(table: str) -> list[Headers]:
    """The frames of a table, as their headers."""
    lines = [line for line in table.strip().splitlines() if line.strip()]
    columns = [cell.strip() for cell in lines[0].split("|")]
    frames: list[Headers] = []
    for line in lines[1:]:
        headers: Headers = {}
        for column, cell in zip(columns, (c.strip() for c in line.split("|")), strict=True):
            if column == "more":
                for item in filter(None, (part.strip() for part in cell.split(";"))):
                    key, _, value = item.partition(":")
                    headers[key.strip()] = value.strip()
            elif cell:
                headers[column] = cell
        frames.append(headers)
    return frames


def ami_text(table: str) -> str:
    """The table as AMI text: frames of ``Header: value`` lines, each ended by a blank line."""
    return "".join(
        "".join(f"{key}: {value}\n" for key, value in headers.items()) + "\n"
        for headers in rows(table)
    )


def replay_table(table: str, config: TrackerConfig | None = None) -> list[Fact]:
    """Every fact the real parser and tracker derive from the table's frames."""
    return run(ami_text(table), config)


@cache
def _recorded(name: str) -> dict[tuple[str, str], list[Headers]]:
    frames: dict[tuple[str, str], list[Headers]] = {}
    for frame in TraceReader(trace_dir(name) / "ami.jsonl"):
        headers = split_fields(frame.text)
        key = (headers.get("Event", ""), headers.get("Timestamp", ""))
        frames.setdefault(key, []).append(headers)
    return frames


def not_in_recording(name: str, table: str) -> list[Headers]:
    """The rows of ``table`` that are not a frame of recording ``name`` cut down."""
    recorded = _recorded(name)
    return [
        headers
        for headers in rows(table)
        if not any(
            all(frame.get(key, "").strip() == value for key, value in headers.items())
            for frame in recorded.get((headers["Event"], headers["Timestamp"]), [])
        )
    ]
