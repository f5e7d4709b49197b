"""The recordings the repository carries unpack to the files the recording PBX produced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.recordings import BUNDLED, recording_dir, recording_names

RECORDED_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "traces"


def test_every_recording_unpacks_to_a_trace_with_its_queue_log() -> None:
    names = recording_names()
    assert {"smoke", "mixed-a", "hold-a", "lab-basic", "lab-reconnect"} <= set(names)
    for name in names:
        folder = recording_dir(name)
        first = json.loads((folder / "ami.jsonl").open(encoding="utf-8").readline())
        assert first["raw"].startswith("Asterisk Call Manager/"), name
        assert (folder / "queue_log").read_text(encoding="utf-8").count("|ENTERQUEUE|") > 0


def test_an_unknown_recording_names_the_ones_there_are() -> None:
    with pytest.raises(FileNotFoundError, match="smoke"):
        recording_dir("no-such-run")


@pytest.mark.skipif(not RECORDED_BESIDE.is_dir(), reason="the original recordings are not here")
def test_bundled_recordings_equal_the_originals() -> None:
    for packed in sorted(BUNDLED.glob("*/*")):
        name = packed.name.removesuffix(".xz")
        original = RECORDED_BESIDE / packed.parent.name / name
        assert (recording_dir(packed.parent.name) / name).read_bytes() == original.read_bytes()
