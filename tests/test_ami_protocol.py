"""Cutting the AMI byte stream into frames, whatever the TCP reads look like."""

from __future__ import annotations

import itertools
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.ami.protocol import FrameSplitter, PrivilegeCheck
from collector.parser import FrameParser, wanted_frame
from collector.throttle import Throttle
from collector.trace import TraceReader
from tests.traces import trace_dir

BANNER = "Asterisk Call Manager/9.0.0"


SCRIPTS = {"Hebrew": ("\u0590", "\u05ff"), "Arabic": ("\u0600", "\u06ff"),
           "Chinese": ("\u4e00", "\u9fff")}


def _in(script: str, text: str) -> bool:
    low, high = SCRIPTS[script]
    return any(low <= c <= high for c in text)


def _joins_with_names() -> list[str]:
    """One real QueueCallerJoin frame per script of caller name: Hebrew, Arabic, Chinese."""
    joins = [f.text for f in TraceReader(trace_dir("mixed-a") / "ami.jsonl")
             if f.text.startswith("Event: QueueCallerJoin")]
    return [next(text for text in joins if _in(script, text)) for script in SCRIPTS]


FRAMES = _joins_with_names()
WIRE = (BANNER + "\r\n" + "".join(f + "\r\n\r\n" for f in FRAMES)).encode()


def _split(data: bytes, cuts: list[int]) -> list[str]:
    splitter = FrameSplitter()
    out: list[str] = []
    for start, end in itertools.pairwise([0, *sorted(set(cuts)), len(data)]):
        out += splitter.feed(data[start:end])
    return out


def test_the_sample_has_caller_names_in_three_scripts() -> None:
    assert all(_in(script, frame) for script, frame in zip(SCRIPTS, FRAMES, strict=True))


def test_a_cut_at_every_byte_position_gives_the_same_frames() -> None:
    whole = _split(WIRE, [])
    assert whole == [BANNER, *FRAMES]
    for cut in range(1, len(WIRE)):
        assert _split(WIRE, [cut]) == whole, f"cut at byte {cut}"


def test_one_byte_per_read_keeps_every_multibyte_character() -> None:
    assert _split(WIRE, list(range(len(WIRE)))) == [BANNER, *FRAMES]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(WIRE) - 1), max_size=40))
def test_any_set_of_cuts_gives_the_same_frames(cuts: list[int]) -> None:
    assert _split(WIRE, cuts) == [BANNER, *FRAMES]


def test_triage_on_the_bytes_keeps_exactly_the_frames_the_parser_makes_events_of() -> None:
    frames = [f.text for f in TraceReader(trace_dir("mixed-a") / "ami.jsonl")]
    wire = (BANNER + "\r\n" + "".join(f + "\r\n\r\n" for f in frames)).encode()
    splitter = FrameSplitter()
    splitter.wanted = wanted_frame
    kept = splitter.feed(wire)
    parse = FrameParser().parse
    used = [f for f in frames if parse(f, 0.0) is not None]
    assert [f for f in kept if parse(f, 0.0) is not None] == used
    assert splitter.skipped == sum(1 for f in frames if f.startswith("Event: ")
                                   and f not in set(kept))
    assert splitter.skipped > len(frames) / 2
    assert all(not f.startswith("Event: ") or f in used for f in kept)


def test_bytes_that_are_not_utf8_are_replaced_and_counted() -> None:
    splitter = FrameSplitter()
    frames = splitter.feed(
        b"Asterisk Call Manager/9.0.0\r\n"
        b"Event: Newchannel\r\nCallerIDName: \xd7\xa9\xd7\r\nUniqueid: \xc3\x28\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: 1.2\r\n\r\n"
    )
    assert frames[1] == "Event: Newchannel\r\nCallerIDName: ש\ufffd\r\nUniqueid: \ufffd("
    assert frames[2] == "Event: Hangup\r\nUniqueid: 1.2"
    assert splitter.replaced == 2


def test_a_stray_line_end_between_frames_is_dropped() -> None:
    frames = FrameSplitter().feed(
        b"Asterisk Call Manager/9.0.0\r\n\r\nEvent: A\r\n\r\n\r\nEvent: B\r\n\r\n"
    )
    assert frames == [BANNER, "Event: A", "Event: B"]


def test_the_splitter_counts_bytes() -> None:
    splitter = FrameSplitter()
    splitter.feed(WIRE[:10])
    splitter.feed(WIRE[10:])
    assert splitter.bytes == len(WIRE)


def _event(name: str, privilege: str) -> str:
    return f"Event: {name}\r\nPrivilege: {privilege},all\r\nUniqueid: 1.1"


def test_a_missing_agent_class_is_named_once_after_the_sample() -> None:
    check = PrivilegeCheck(sample=5)
    found = [check.observe(_event("Hangup", "call")) for _ in range(5)]
    assert found == [(), (), (), (), ("agent",)]
    assert check.done


def test_no_warning_when_agent_and_call_events_both_arrive() -> None:
    check = PrivilegeCheck(sample=3)
    assert check.observe(_event("Hangup", "call")) == ()
    assert check.observe(_event("QueueCallerJoin", "agent")) == ()
    assert check.done


def test_frames_without_privilege_do_not_count() -> None:
    check = PrivilegeCheck(sample=1)
    assert check.observe("Response: Success\r\nPing: Pong") == ()
    assert check.observe("Event: QueueParams\r\nQueue: support") == ()
    assert not check.done


def test_an_unterminated_64_mb_frame_is_dropped_in_linear_time_and_the_next_frames_read(
) -> None:
    splitter = FrameSplitter()
    read = 65536
    started = time.process_time()
    first, *rest = FRAMES
    out = splitter.feed(f"{BANNER}\r\n{first}\r\n\r\nEvent: Junk\r\nValue: ".encode())
    for _ in range((64 << 20) // read):
        out += splitter.feed(b"x" * read)
    out += splitter.feed("".join(f"\r\n\r\n{frame}" for frame in rest).encode() + b"\r\n\r\n")
    cpu = time.process_time() - started
    assert out == [BANNER, *FRAMES]
    assert splitter.dropped == 1
    assert len(splitter._rest) <= 3
    assert cpu < 5.0  # every byte looked at a bounded number of times: well under a second


def test_a_frame_over_the_limit_within_one_read_is_dropped_too() -> None:
    splitter = FrameSplitter(max_frame_bytes=100)
    frames = splitter.feed(f"{BANNER}\r\nEvent: Big\r\nV: {'y' * 200}\r\n\r\n"
                           "Event: Small\r\n\r\n".encode())
    assert frames == [BANNER, "Event: Small"] and splitter.dropped == 1


def test_a_repeated_warning_is_said_once_then_once_per_interval_with_its_count() -> None:
    throttle = Throttle(every_s=60.0)
    said = [throttle.hit(now) for now in (0.0, 1.0, 2.0, 30.0, 61.0, 62.0)]
    assert said == [1, 0, 0, 0, 4, 0]
    assert throttle.flush(63.0) == 1 and throttle.flush(64.0) == 0
    assert throttle.total == 6
