"""The live daemon over real TCP against the simulated PBX: the same calls as a replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.live_pbx import TracePbx, differences, run_live
from tests.traces import TRACE_NAMES, replayed_calls


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_a_live_run_stores_the_same_calls_as_a_replay_of_the_trace(
    name: str, tmp_path: Path
) -> None:
    run = asyncio.run(run_live(TracePbx(name), tmp_path / "live.sqlite"))
    expected = replayed_calls(name)
    assert set(run.calls) == set(expected)
    assert run.rows == len(expected)
    wrong = {key: differences(run.calls[key], call) for key, call in expected.items()}
    assert {key: diff for key, diff in wrong.items() if diff} == {}
