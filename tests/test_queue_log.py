"""Reading queue_log files: stamps, garbage, gzip, rotated and overlapping pieces."""

from __future__ import annotations

import gzip
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from collector.queue_log import (
    DUPLICATE,
    GARBAGE,
    QueueLogReader,
    parse_line,
    parse_stamp,
)
from tests.traces import open_queue_log, read_queue_log, trace_dir

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_epoch_line_is_split_into_its_fields() -> None:
    line = parse_line("1795484832|1795484830.1|support|Agent One|CONNECT|1|1795484831.2|1\n")
    assert line is not None
    assert line.at == 1795484832.0
    assert (line.callid, line.queue, line.agent, line.event) == (
        "1795484830.1", "support", "Agent One", "CONNECT")
    assert line.data == ("1", "1795484831.2", "1")


def test_an_event_without_data_has_no_fields() -> None:
    line = parse_line("1795484842|NONE|support|Agent Two|PAUSE")
    assert line is not None and line.data == ()


def test_a_datetime_stamp_is_read_in_the_given_time_zone() -> None:
    # 01:47:08 in Berlin (UTC+1 in November) is 00:47:08 UTC
    assert parse_stamp("2026-11-24 01:47:08", BERLIN) == parse_stamp("2026-11-24 00:47:08")
    assert parse_stamp("2026-11-24 00:47:08") == 1795481228.0


def test_a_datetime_stamp_keeps_its_microseconds() -> None:
    at = parse_stamp("2026-11-24 00:47:08.250000")
    assert at == 1795481228.25


def test_a_summer_datetime_stamp_follows_daylight_saving_time() -> None:
    assert parse_stamp("2026-07-01 12:00:00", BERLIN) == parse_stamp("2026-07-01 10:00:00")


def test_a_fractional_epoch_is_kept() -> None:
    assert parse_stamp("1795484832.5") == 1795484832.5


def test_lines_that_are_not_queue_log_lines_are_none() -> None:
    for text in ("", "hello", "1795484832|a|b|c", "not-a-time|a|b|c|EVENT", "nan|a|b|c|X",
                 "1795484832|a|b|c|", "2026-13-45 99:99:99|a|b|c|X"):
        assert parse_line(text) is None, text


@given(st.text())
def test_parsing_never_raises(text: str) -> None:
    parse_line(text)


def _log(path: Path, lines: list[str], compress: bool = False) -> Path:
    data = "".join(f"{line}\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def _read(*paths: Path) -> tuple[list[str], QueueLogReader]:
    reader = QueueLogReader()
    streams = [open_queue_log(p) for p in paths]
    try:
        lines = [f"{line.at:.0f}|{line.callid}|{line.event}" for line in reader.read(streams)]
    finally:
        for stream in streams:
            stream.close()
    return lines, reader


def test_a_gzipped_file_reads_like_the_plain_one(tmp_path: Path) -> None:
    plain = trace_dir("smoke") / "queue_log"
    packed = _log(tmp_path / "queue_log.1", plain.read_text().splitlines(), compress=True)
    assert list(read_queue_log(packed)) == list(read_queue_log(plain))


def test_rotated_pieces_are_read_in_time_order_whatever_the_order_given(tmp_path: Path) -> None:
    lines = (trace_dir("smoke") / "queue_log").read_text().splitlines()
    newest = _log(tmp_path / "queue_log", lines[40:])
    older = _log(tmp_path / "queue_log.1", lines[20:40])
    oldest = _log(tmp_path / "queue_log.2.gz", lines[:20], compress=True)
    whole, _ = _read(trace_dir("smoke") / "queue_log")
    pieces, reader = _read(newest, oldest, older)
    assert pieces == whole
    assert reader.lines_read == len(lines) and not reader.skipped


def test_lines_repeated_by_overlapping_pieces_are_read_once(tmp_path: Path) -> None:
    lines = (trace_dir("mixed-a") / "queue_log").read_text().splitlines()
    first = _log(tmp_path / "queue_log.1.gz", lines[:250], compress=True)
    second = _log(tmp_path / "queue_log", lines[180:])
    whole, _ = _read(trace_dir("mixed-a") / "queue_log")
    pieces, reader = _read(second, first)
    assert pieces == whole
    assert reader.skipped == {DUPLICATE: 70}


def test_the_same_file_given_twice_is_read_once(tmp_path: Path) -> None:
    log = trace_dir("smoke") / "queue_log"
    whole, _ = _read(log)
    twice, reader = _read(log, log)
    assert twice == whole
    assert reader.skipped[DUPLICATE] == len(whole)


def test_identical_lines_within_one_piece_are_all_kept(tmp_path: Path) -> None:
    same = "1795484842|NONE|support|Agent Two|PAUSE|Lunch"
    lines, reader = _read(_log(tmp_path / "queue_log", [same, same]))
    assert len(lines) == 2 and not reader.skipped


def test_garbage_lines_are_counted_and_blank_lines_ignored(tmp_path: Path) -> None:
    log = _log(tmp_path / "queue_log", [
        "1795484831|1795484830.1|support|NONE|ENTERQUEUE||5551009|1",
        "",
        "\x00\x01 binary junk",
        "half a line|with|pipes",
        "1795484832|1795484830.1|support|Agent One|CONNECT|1|1795484831.2|1",
    ])
    lines, reader = _read(log)
    assert len(lines) == 2
    assert reader.lines_read == 4
    assert reader.skipped == {GARBAGE: 2}


def test_undecodable_bytes_do_not_stop_the_file(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1795484831|c1|support|NONE|ENTERQUEUE||\xff\xfe|1\n"
                    b"1795484832|c1|support|A|CONNECT|1|x|1\n")
    lines, reader = _read(log)
    assert len(lines) == 2 and not reader.skipped
