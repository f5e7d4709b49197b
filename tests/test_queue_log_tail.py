"""Following a queue_log file as Asterisk writes it: every whole line once, through rotation
by renaming and by copy-and-truncate, from a moment found without reading the whole file."""

from __future__ import annotations

import shutil
from pathlib import Path

from collector.queue_log import GARBAGE
from collector.queue_log_tail import TORN, QueueLogTail
from tests.traces import trace_dir

LINES = (trace_dir("lab-reconnect") / "queue_log").read_text(encoding="utf-8").splitlines(True)


def following(log: Path, text: str, since: float | None) -> QueueLogTail:
    """A tail of ``log``, which holds ``text``, started at ``since``."""
    log.write_text(text, encoding="utf-8")
    tail = QueueLogTail(log)
    assert tail.start(since)
    return tail


def append(path: Path, *texts: str) -> None:
    with path.open("a", encoding="utf-8") as stream:
        stream.write("".join(texts))


def events(tail: QueueLogTail) -> list[str]:
    return [f"{line.callid}:{line.event}" for line in tail.read()]


def names(texts: list[str]) -> list[str]:
    return [f"{t.split('|')[1]}:{t.split('|')[4]}" for t in texts]


def test_a_line_is_read_once_and_only_when_whole(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    tail = following(log, "".join(LINES[:3]), None)
    assert events(tail) == []
    append(log, LINES[3], LINES[4][:20])
    assert events(tail) == names(LINES[3:4])
    append(log, LINES[4][20:], "not a line\n")
    assert events(tail) == names(LINES[4:5])
    assert events(tail) == []
    assert tail.stats.skipped == {GARBAGE: 1}


def test_started_at_the_end_a_line_being_written_is_read_whole(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    tail = following(log, "".join(LINES[:3]) + LINES[3][:10], None)
    append(log, LINES[3][10:])
    assert events(tail) == names(LINES[3:4])


def test_a_renamed_log_is_read_to_its_end_then_the_new_one_from_its_start(
    tmp_path: Path,
) -> None:
    log, rotated = tmp_path / "queue_log", tmp_path / "queue_log.1"
    tail = following(log, "", None)
    append(log, *LINES[:2])
    assert events(tail) == names(LINES[:2])
    append(log, LINES[2])
    log.rename(rotated)
    assert events(tail) == names(LINES[2:3])  # not created again yet
    log.write_text("", encoding="utf-8")  # logrotate's "create"
    append(rotated, LINES[3])  # Asterisk writes the old file until its logger reload
    assert events(tail) == names(LINES[3:4])
    append(log, *LINES[4:6])
    append(rotated, LINES[6])
    assert events(tail) == names([LINES[6], *LINES[4:6]])
    append(log, LINES[7])
    assert events(tail) == names(LINES[7:8])
    assert tail.stats.rotations == 1 and tail.stats.lines == 8


def test_a_copied_and_truncated_log_loses_no_line(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    tail = following(log, "".join(LINES[:2]), 0.0)
    assert events(tail) == names(LINES[:2])
    append(log, *LINES[2:5])  # written after the last read ...
    shutil.copy(log, tmp_path / "queue_log.1")  # ... and copied away by copytruncate
    log.write_text("".join(LINES[5:12]), encoding="utf-8")  # longer than what was read
    assert events(tail) == names(LINES[2:12])
    assert (tail.stats.truncations, tail.stats.unrecovered) == (1, 0)


def test_a_truncated_log_without_its_copy_is_read_again_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    tail = following(log, "".join(LINES[:4]), 0.0)
    assert events(tail) == names(LINES[:4])
    append(log, LINES[4][:15])
    assert events(tail) == []
    log.write_text(LINES[5], encoding="utf-8")
    assert events(tail) == names(LINES[5:6])
    assert (tail.stats.truncations, tail.stats.unrecovered) == (1, 1)
    assert tail.stats.skipped == {TORN: 1}


def test_a_log_not_there_yet_is_read_from_its_start_once_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    tail = QueueLogTail(log)
    assert not tail.start(None)
    assert events(tail) == []
    log.write_text("".join(LINES[:3]), encoding="utf-8")
    assert events(tail) == names(LINES[:3])


def test_a_moment_is_found_without_reading_the_whole_file(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    # a year of a busy queue: 200,000 lines, one every 150 s
    first = 1_700_000_000
    with log.open("w", encoding="utf-8") as stream:
        for n in range(200_000):
            stream.write(f"{first + 150 * n}|{first + n}.{n}|support|Alice|CONNECT|4|1.{n}|1\n")
            if n % 1000 == 500:
                stream.write("torn|line\n")
    size = log.stat().st_size
    tail = QueueLogTail(log)
    since = first + 150 * 123_456 - 20
    assert tail.start(since)
    lines = tail.read(limit=500)
    assert lines[0].at == first + 150 * 123_456
    assert tail.stats.bytes_read < size / 50
    assert QueueLogTail(log).start(first + 150 * 300_000)  # after the end: nothing to read


def test_starting_after_the_last_line_reads_what_comes_next(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    tail = following(log, "".join(LINES[:5]), 2e9)
    append(log, LINES[5])
    assert events(tail) == names(LINES[5:6])
